from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the peer, or the header a trusted reverse proxy sets (settings)."""
    header = settings.CLIENT_IP_HEADER
    if header:
        key = "HTTP_" + header.upper().replace("-", "_")
        forwarded = request.META.get(key, "").split(",")[0].strip()
        if _is_address(forwarded):
            return forwarded
    peer = request.META.get("REMOTE_ADDR") or None
    return peer if _is_address(peer) else None


def _is_address(text: str | None) -> bool:
    """An IP address the database's address columns take (PostgreSQL refuses anything else)."""
    if not text or "%" in text:  # an IPv6 zone ("fe80::1%eth0") is not an inet value
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
