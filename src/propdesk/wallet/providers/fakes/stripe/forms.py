"""Stripe's request bodies: `application/x-www-form-urlencoded`, nested objects and lists in
bracket notation (`metadata[reference]=X`, `line_items[0][price_data][unit_amount]=1000`).

  https://docs.stripe.com/api/request  ("Stripe's API ... accepts form-encoded request bodies")
  https://docs.stripe.com/api/metadata  (the `metadata[key]=value` form)

The documentation shows the notation in its examples without a grammar; the fake reads
`a[b][0][c]` as nested objects, and an object whose keys are all the integers 0..n-1 as a
list (`line_items[0]`, `line_items[1]`, ...; `enabled_events[]=x` appends).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from propdesk.wallet.providers.fakes.stripe.errors import invalid

_PART = re.compile(r"\[([^\[\]]*)\]")


def _path(name: str) -> list[str]:
    head, _, rest = name.partition("[")
    if not head:
        raise invalid(f"Invalid parameter name: {name}", param=name, code="parameter_unknown")
    parts = [head]
    if rest:
        tail = "[" + rest
        found = _PART.findall(tail)
        if "".join(f"[{p}]" for p in found) != tail:
            raise invalid(f"Invalid parameter name: {name}", param=name, code="parameter_unknown")
        parts += found
    return parts


def parse(body: bytes) -> dict[str, Any]:
    """The form body as nested dicts and lists (raises a 400 in Stripe's shape when it cannot
    be read)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("The request body is not valid UTF-8.") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise invalid("The request body is not form-encoded.") from None
    root: dict[str, Any] = {}
    for name, value in pairs:
        parts = _path(name)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":  # `x[]=v`: the next index
                part = str(sum(1 for _ in node))
            if last:
                if isinstance(node.get(part), dict):
                    raise invalid(f"Invalid value for {name}: an object.", param=name)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise invalid(f"Invalid object: {'['.join(parts[: index + 1])}", param=name)
                node = child
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        keys = sorted(converted, key=int)
        if [int(k) for k in keys] == list(range(len(keys))):
            return [converted[k] for k in keys]
    return converted


def canonical(params: dict[str, Any]) -> str:
    """One text for equal parameters (to compare a retried idempotent request's)."""
    import json

    return json.dumps(params, sort_keys=True, separators=(",", ":"))
