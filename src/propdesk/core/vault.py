"""Secrets propdesk must show again later (a trading account's password, to its owner), kept
encrypted (Fernet: AES and an HMAC) under a key derived from the site's secret key."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _box() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"propdesk vault v1").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _box().encrypt(secret.encode()).decode()


def open_sealed(token: str) -> str | None:
    """The secret, or None when it cannot be read (the site's secret key changed)."""
    try:
        return _box().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
