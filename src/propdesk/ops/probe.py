"""`python -m propdesk.ops.probe [URL]`: the container image's health check (its HEALTHCHECK).

It asks the site, from inside the container, the way the firm's reverse proxy does: with one of
`PROPDESK_ALLOWED_HOSTS` as the Host (an address such as 127.0.0.1 is refused with 400 when the
firm names its host) and with the proxy's HTTPS header when `PROPDESK_PROXY_SSL_HEADER` names one
(otherwise `PROPDESK_HTTPS` would redirect the probe to an https:// no one serves inside the
container). The standard library only: no Django to load every 30 seconds, no curl in the image.
Exit 0 when the answer is 200, 1 otherwise (with the reason on standard error)."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


def request_for(url: str, environ: Mapping[str, str]) -> urllib.request.Request:
    """The probe's request, with the headers the proxy would add."""
    headers: dict[str, str] = {}
    hosts = [
        host.strip().lstrip(".")  # ".firm.example" allows firm.example and its subdomains
        for host in environ.get("PROPDESK_ALLOWED_HOSTS", "").split(",")
        if host.strip() and host.strip() != "*"
    ]
    if hosts:
        headers["Host"] = hosts[0]
    proxy = environ.get("PROPDESK_PROXY_SSL_HEADER", "").strip()
    if proxy:
        name, equals, value = proxy.partition("=")
        headers[name.strip()] = value.strip() if equals else "https"
    return urllib.request.Request(url, headers=headers)  # noqa: S310 (an http:// URL we give)


def main(argv: Sequence[str]) -> int:
    url = argv[0] if argv else DEFAULT_URL
    try:
        with urllib.request.urlopen(request_for(url, os.environ), timeout=5) as answer:  # noqa: S310
            status = answer.status
    except (OSError, ValueError) as exc:  # refused, timed out, 4xx/5xx (HTTPError), bad URL
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
