"""Known devices (OWASP's "device cookies"): a browser that logged into an account before
carries a signed, HttpOnly cookie naming it a device of that account, so the login throttle
holds it only to its own failures, not to those of guessers elsewhere or behind the same proxy.

The cookie is signed with Django's signing (the secret key; a forged or altered one is no
cookie), holds at most a few accounts per browser, and names each by a keyed digest (not the
email in clear) next to a random device id. A successful login gives the account a fresh id:
the typos this browser made before no longer count against it.
"""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

COOKIE = "propdesk_device"
_SALT = "propdesk.accounts.devices"
_MOST_ACCOUNTS = 5


def _account_digest(realm: str, account: str) -> str:
    return salted_hmac(_SALT, f"{realm}:{account}", algorithm="sha256").hexdigest()[:24]


def _entries(request: HttpRequest) -> list[tuple[str, str]]:
    raw = request.get_signed_cookie(
        COOKIE, default=None, salt=_SALT, max_age=settings.LOGIN_DEVICE_DAYS * 86400
    )
    if raw is None:
        return []
    try:
        held = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(held, list):
        return []
    return [
        (e[0], e[1])
        for e in held
        if isinstance(e, list) and len(e) == 2 and all(isinstance(p, str) for p in e)
    ][:_MOST_ACCOUNTS]


def known_device(request: HttpRequest, realm: str, account: str) -> str:
    """The id of this browser as a known device of `account`, or "" when it is none."""
    digest = _account_digest(realm, account)
    return next((device for who, device in _entries(request) if who == digest), "")


def remember_device(request: HttpRequest, response: HttpResponse, realm: str, account: str) -> None:
    """After a successful login: this browser is a known device of `account` from now on."""
    digest = _account_digest(realm, account)
    others = [e for e in _entries(request) if e[0] != digest]
    entries = [(digest, secrets.token_hex(16)), *others][:_MOST_ACCOUNTS]
    response.set_signed_cookie(
        COOKIE,
        json.dumps(entries, separators=(",", ":")),
        salt=_SALT,
        max_age=settings.LOGIN_DEVICE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
