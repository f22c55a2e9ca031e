"""Retried requests: an `Idempotency-Key` names a request, and a retry gets the first result."""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from django.db import models

from propdesk.core.errors import Conflict, ValidationFailed


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used for a different request."


def fingerprint(*parts: object) -> str:
    """What a request asked for, so that a key reused for something else is caught."""
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


def owned_key(owner: str, key: Any) -> str | None:
    """The caller's key, scoped to the caller: two callers may pick the same key."""
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) > 100 or not key.isprintable():
        raise ValidationFailed(fields={"Idempotency-Key": "At most 100 printable characters."})
    return f"{owner}:{key}"


Keyed = TypeVar("Keyed", bound=models.Model)


def replay(
    idempotency_key: str | None, request_fingerprint: str, model: type[Keyed]
) -> Keyed | None:
    """What was already made under this key, if anything; a different request under the same
    key is refused. Call it under the lock that serialises the caller's requests."""
    if not idempotency_key:
        return None
    earlier = model._default_manager.filter(idempotency_key=idempotency_key).first()
    if earlier is not None and getattr(earlier, "fingerprint", None) != request_fingerprint:
        raise IdempotencyConflict()
    return earlier
