"""One way to page a list over the API: `?after=<cursor>&limit=N` answers
`{"items": [...], "next": "<cursor>" | null}`. The cursor is opaque (its contents are ours to
change): a client sends back the `next` it was given, never builds one. A page is found by key
(the last row's place in the order), not by an offset, so a page far down costs what the first
does and rows added meanwhile neither repeat nor go missing."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet
from ninja import Field, Schema
from pydantic import StringConstraints

from propdesk.core.errors import ValidationFailed
from propdesk.core.schema import Blank

T = TypeVar("T")
M = TypeVar("M", bound=Model)

NOT_OURS = "The cursor is the `next` value of the previous page."

# The `after` query parameter: a cursor as we gave it, or nothing for the first page.
After = Annotated[
    Annotated[
        str,
        StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9_-]+$"),
        Field(description="The `next` of the previous page; omitted: the first page."),
    ]
    | None,
    Blank,
]


class Page(Schema, Generic[T]):
    """A page of a list: its `items`, and `next`, the cursor of the page after it (null: this
    is the last page)."""

    items: list[T]
    next: str | None = Field(
        description="Send it back as `after` for the next page; null at the end of the list."
    )


def encode(key: Sequence[Any]) -> str:
    """The cursor of a place in a list: its key, written so that nobody relies on its form."""
    shown = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps(shown, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *, shape: Sequence[type]) -> list[Any] | None:
    """The key a cursor of ours holds (None: no cursor); anything else is a 422 on `after`."""
    if cursor in (None, ""):
        return None
    assert cursor is not None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        if not isinstance(key, list) or len(key) != len(shape):
            raise ValueError
        return [_typed(v, t) for v, t in zip(key, shape, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("The page is not valid.", fields={"after": NOT_OURS}) from None


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise ValueError
        found = datetime.fromisoformat(value)
        if found.tzinfo is None:
            raise ValueError
        return found
    if kind is int:
        if type(value) is not int or not 0 <= value < 2**63:
            raise ValueError
        return value
    raise TypeError(kind)  # pragma: no cover


def encode_id(key: int | None) -> str | None:
    """For lists paged by a whole number (an id) their own module reads."""
    return None if key is None else encode([key])


def decode_id(cursor: str | None) -> int | None:
    found = decode(cursor, shape=[int])
    return None if found is None else int(found[0])


def by_key(
    rows: QuerySet[M], *, after: str | None, limit: int, newest_first: bool = True
) -> tuple[list[M], str | None]:
    """One page of `rows` in the order (created_at, id), newest first unless said otherwise,
    and the cursor of the next page (None at the end)."""
    key = decode(after, shape=[datetime, int])
    if key is not None:
        at, pk = key
        if newest_first:
            rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
        else:
            rows = rows.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk))
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    chunk = list(rows.order_by(*order)[: limit + 1])
    if len(chunk) <= limit:
        return chunk, None
    last = chunk[limit - 1]
    return chunk[:limit], encode([last.created_at, last.pk])  # type: ignore[attr-defined]
