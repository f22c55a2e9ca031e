from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The peer address. Behind a proxy, set it in REMOTE_ADDR there (we do not trust headers)."""
    return request.META.get("REMOTE_ADDR") or None
