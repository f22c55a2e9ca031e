"""What the vendors' fakes share (stdlib only: a fake imports no Django, directly or not, and
this module sits outside every app's package so that importing it imports no app).

`FaultQueue`: what the next requests to a fake suffer, as ordered through its controls. Each
fault ("fail", "delay", ...) hits the next request that matches its method (any, when not
given) and its path pattern (a regular expression searched in the path; any, when not given),
once; `count` faults are queued for `count` requests.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any


class FaultQueue:
    """`bad_path(path)` makes the error (in the vendor's own shape) that a path pattern which
    is not a regular expression raises; without it, `re.error` is raised as it is."""

    def __init__(self, bad_path: Callable[[str], Exception] | None = None) -> None:
        self.bad_path = bad_path
        self.lock = threading.Lock()
        self.pending: list[dict[str, Any]] = []

    def add(
        self,
        kind: str,
        count: int,
        *,
        status: int = 500,
        seconds: float = 0.0,
        method: str | None = "",
        path: str | None = "",
    ) -> None:
        path = path or ""
        try:
            pattern = re.compile(path) if path else None
        except re.error:
            if self.bad_path is None:
                raise
            raise self.bad_path(path) from None
        fault = {
            "kind": kind,
            "status": status,
            "seconds": seconds,
            "method": str(method or "").upper(),
            "pattern": pattern,
        }
        with self.lock:
            self.pending += [dict(fault) for _ in range(count)]

    def take(self, kind: str, method: str, path: str) -> dict[str, Any] | None:
        """The first fault of this kind that matches the request (taken off the queue)."""
        with self.lock:
            for index, fault in enumerate(self.pending):
                if (
                    fault["kind"] == kind
                    and fault["method"] in ("", method)
                    and (fault["pattern"] is None or fault["pattern"].search(path))
                ):
                    return self.pending.pop(index)
        return None

    def clear(self) -> None:
        with self.lock:
            self.pending.clear()
