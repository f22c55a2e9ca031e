"""`python -m propdesk.ops.probe [URL]`: the container image's health check (its HEALTHCHECK).

A plain GET of /healthz from inside the container. propdesk answers /healthz before the allowed
hosts and the redirect to HTTPS are considered (ops.middleware.ServiceMiddleware comes before
them), so the probe needs no Host or proxy header. Redirects are not followed: any answer but 200,
a 3xx included, is unhealthy. The standard library only: no Django to load every 30 seconds, no
curl in the image. Exit 0 on 200, 1 otherwise (with the reason on standard error)."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Sequence
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer of its own (HTTPError), never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def main(argv: Sequence[str]) -> int:
    url = argv[0] if argv else DEFAULT_URL
    try:
        with _OPENER.open(url, timeout=5) as answer:
            status = answer.status
    except (OSError, ValueError) as exc:  # refused, timed out, 3xx/4xx/5xx (HTTPError), bad URL
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
