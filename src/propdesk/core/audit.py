"""The audit trail: every staff decision and settings change, in the same transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from propdesk.core.models import AuditRecord

if TYPE_CHECKING:  # the site's user model (AUTH_USER_MODEL) as type checkers see it
    from django.contrib.auth.models import _User as User

SYSTEM = "system"


def record(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit records are written inside the acting transaction")
    return AuditRecord.objects.create(
        actor=actor,
        actor_label=actor.email if actor is not None else SYSTEM,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:500],
        before=before,
        after=after,
    )
