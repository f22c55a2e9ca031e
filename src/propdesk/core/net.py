from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the peer, or the header a trusted reverse proxy sets (settings).

    In a list (X-Forwarded-For) the last address is the one our proxy appended; those before
    it are whatever the client wrote. A value that is no address is ignored (it must neither
    choose whom the login throttle counts nor reach an address column)."""
    header = settings.CLIENT_IP_HEADER
    if header:
        key = "HTTP_" + header.upper().replace("-", "_")
        forwarded = _address(request.META.get(key, "").rsplit(",", 1)[-1])
        if forwarded:
            return forwarded
    return _address(request.META.get("REMOTE_ADDR", ""))


def _address(text: str) -> str | None:
    text = text.strip()
    if not text or len(text) > 45:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return None  # a link-local zone ("%eth0") is no client address, nor valid for inet
    return str(address)
