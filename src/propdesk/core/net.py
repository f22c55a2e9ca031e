from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the peer, or the header a trusted reverse proxy sets (settings)."""
    header = settings.CLIENT_IP_HEADER
    if header:
        key = "HTTP_" + header.upper().replace("-", "_")
        forwarded = request.META.get(key, "").split(",")[0].strip()
        if forwarded:
            return forwarded[:45]
    return request.META.get("REMOTE_ADDR") or None
