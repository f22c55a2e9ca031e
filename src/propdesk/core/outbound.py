"""Outbound HTTP to a vendor, the parts every adapter shares (stdlib only).

- `OPENER` bypasses any proxy the environment names and never follows a redirect: a 3xx is
  answered as the error it is (`urllib.error.HTTPError`), so a key in a request's headers never
  goes on to another address.
- `LOOPBACK`, `plain_http_allowed` and `in_clear_elsewhere`: plain http only to this machine
  (a vendor's fake); a key never crosses the network in the clear.
- `read_bounded`: an answer read at most up to a limit.

Each adapter keeps its own errors and messages; none of these repeats a URL's or header's value.
"""

from __future__ import annotations

import urllib.request
from typing import Any, Protocol
from urllib.parse import urlsplit

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A vendor's API does not redirect: a 3xx is answered as it is (a refusal), never
    followed, so a key in the headers never goes to another address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def plain_http_allowed(url: str) -> bool:
    """https always (with a host); plain http only to this machine (a fake), never a key in
    the clear over a network. An address that cannot be parsed is not allowed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK


def in_clear_elsewhere(url: str) -> bool:
    """The address is plain http:// to another machine than this one (a key sent to it would
    cross the network in the clear)."""
    return url.lower().startswith("http://") and urlsplit(url).hostname not in LOOPBACK


class _Readable(Protocol):
    def read(self, amt: int, /) -> bytes: ...


def read_bounded(response: _Readable, limit: int) -> bytes | None:
    """At most `limit` bytes of an answer; None when it is longer than that."""
    raw = response.read(limit + 1)
    return None if len(raw) > limit else raw
