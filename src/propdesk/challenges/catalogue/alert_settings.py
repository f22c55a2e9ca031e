"""A challenge's alerts (`ChallengeAlerts`): which the firm switches on, at what threshold
(docs/notifications.md). Not part of a published version: they apply to every running
stage of the challenge from the monitor's next look (within seconds)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from propdesk.accounts.models import User
from propdesk.challenges.models import Challenge, ChallengeAlerts
from propdesk.challenges.permissions import CHALLENGES_MANAGE
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import NotFound, ValidationFailed
from propdesk.core.permissions import require_permission

# field: (least, most, what it is)
FIELDS: dict[str, tuple[int, int, str]] = {
    "daily_loss_percent": (1, 100, "a percentage of the daily loss limit"),
    "max_loss_percent": (1, 100, "a percentage of the maximum loss"),
    "period_end_days": (1, 365, "a number of days"),
    "inactivity_days": (1, 365, "a number of days"),
}


def current(challenge: Challenge) -> dict[str, int | None]:
    """The challenge's alert settings (all None: every alert off)."""
    row = ChallengeAlerts.objects.filter(challenge=challenge).first()
    return {name: None if row is None else getattr(row, name) for name in FIELDS}


def clean(values: Mapping[str, Any]) -> dict[str, int | None]:
    """The settings from a form's values: empty is off; otherwise a whole number in range.
    Raises ValidationFailed with every wrong field."""
    cleaned: dict[str, int | None] = {}
    faults: dict[str, str] = {}
    for name, (least, most, what) in FIELDS.items():
        raw = values.get(name)
        text = "" if raw is None else str(raw).strip()
        if not text:
            cleaned[name] = None
            continue
        if len(text) > 6 or not text.isascii() or not text.lstrip("-").isdigit():
            faults[name] = (
                f"Enter {what}: a whole number from {least} to {most}, or leave it empty."
            )
            continue
        number = int(text)
        if not least <= number <= most:
            faults[name] = f"Must be from {least} to {most} (empty: off)."
            continue
        cleaned[name] = number
    if faults:
        raise ValidationFailed(
            "The alerts were not saved: check the fields shown under Alerts.", fields=faults
        )
    return cleaned


def set_alerts(challenge_id: int, values: Mapping[str, Any], *, actor: User) -> dict[str, Any]:
    """Save the challenge's alert settings (audited); returns them."""
    require_permission(actor, CHALLENGES_MANAGE)
    cleaned = clean(values)
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update().filter(pk=challenge_id).first()
        if challenge is None:
            raise NotFound("No such challenge.")
        before = current(challenge)
        if before == cleaned:
            return cleaned
        ChallengeAlerts.objects.update_or_create(challenge=challenge, defaults=cleaned)
        on = [name for name, value in cleaned.items() if value is not None]
        audit.record(
            actor=actor,
            action=AuditAction.CHALLENGE_ALERTS,
            object_type="challenge",
            object_id=challenge.pk,
            summary=f"Alerts of {challenge.name}: " + (", ".join(on) if on else "all off"),
            before=before,
            after=cleaned,
        )
    return cleaned
