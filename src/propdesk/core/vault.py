"""Secrets propdesk must show again later (a trading account's password, to its owner), kept
encrypted with Fernet (AES and an HMAC) under the vault's own keys, never the site's secret key:
rotating the secret key leaves them readable.

The keys (settings.VAULT_KEYS, newest first) are Fernet keys: the newest seals, every one of them
opens, so a new key is added in front, `propdesk vault reseal` seals everything again under it,
and only then is the old key removed. Values sealed before the vault had keys of its own were
sealed under a key derived from the site's secret key: they still open (with the secret key, or
one of settings.SECRET_KEY_FALLBACKS) until they are resealed.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.db import models, transaction


def new_key() -> str:
    return Fernet.generate_key().decode()


def _derived(secret_key: str) -> Fernet:
    """The key values were sealed under before the vault had keys of its own."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"propdesk vault v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


@functools.lru_cache(maxsize=4)
def _box(keys: tuple[str, ...], secret_keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([*(Fernet(k) for k in keys), *(_derived(s) for s in secret_keys)])


def box() -> MultiFernet:
    """Seals with the newest key; opens with any key, then the secret keys' derived ones.
    Without vault keys of its own (an install from before them that has not set them yet) it
    seals under the key derived from the secret key, as it always did."""
    keys = tuple(settings.VAULT_KEYS)
    secret_keys = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return _box(keys, tuple(secret_keys))


def key_problems(keys: Sequence[str]) -> list[str]:
    """What is wrong with the configured keys, for `manage check` and `vault reseal`."""
    problems = []
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                f"Vault key {number} is not a Fernet key (32 url-safe base64-encoded bytes)."
            )
    return problems


def seal(secret: str) -> str:
    return box().encrypt(secret.encode()).decode()


def open_sealed(token: str) -> str | None:
    """The secret, or None when no key opens it (a key was removed before resealing)."""
    try:
        return box().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


# --- resealing every stored secret under the newest key ------------------------------------------

_SEALED: list[tuple[str, str]] = []  # ("app_label.Model", "field"), registered by their apps


def register(model: str, field: str) -> None:
    """Tell the vault where an app keeps sealed values, so that `reseal` finds them."""
    if (model, field) not in _SEALED:
        _SEALED.append((model, field))


@dataclass
class Resealed:
    resealed: int = 0
    current: int = 0  # already under the newest key
    unreadable: int = 0  # no key opens them: their secrets are lost (reset them at the platform)


def _values() -> Iterator[tuple[type[models.Model], str]]:
    for model, field in _SEALED:
        yield apps.get_model(model), field


def reseal(*, dry_run: bool = False, batch: int = 500) -> Resealed:
    """Seal every stored secret again under the newest key (one transaction per batch)."""
    if not settings.VAULT_KEYS:
        raise RuntimeError("the vault has no keys of its own: set PROPDESK_VAULT_KEYS first")
    vault = box()
    newest = Fernet(settings.VAULT_KEYS[0])
    done = Resealed()
    for model, field in _values():
        last = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model._default_manager.select_for_update()
                    .filter(pk__gt=last)
                    .exclude(**{field: ""})
                    .order_by("pk")
                    .values_list("pk", field)[:batch]
                )
                for pk, token in rows:
                    last = pk
                    try:
                        newest.decrypt(token.encode())
                        done.current += 1
                        continue
                    except InvalidToken:
                        pass
                    try:
                        fresh = vault.rotate(token.encode()).decode()
                    except InvalidToken:
                        done.unreadable += 1
                        continue
                    done.resealed += 1
                    if not dry_run:
                        model._default_manager.filter(pk=pk).update(**{field: fresh})
            if len(rows) < batch:
                break
    return done
