"""Rows that people's own traffic adds without end, pruned by the job worker's housekeeping:
dead API tokens and expired sessions. (Old login failures are the throttle's to prune.)"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils import timezone

from propdesk.accounts.models import ApiToken

# A revoked token is kept a day: a script's "401" is explained in the logs meanwhile.
REVOKED_TOKENS_KEEP_DAYS = 1


def prune_tokens() -> int:
    now = timezone.now()
    dead = ApiToken.objects.filter(
        Q(created_at__lt=now - timedelta(days=settings.API_TOKEN_DAYS))
        | Q(revoked_at__lt=now - timedelta(days=REVOKED_TOKENS_KEEP_DAYS))
    )
    deleted, _ = dead.delete()
    return deleted


def clear_sessions() -> int:
    """What Django's `clearsessions` does, without anyone having to schedule it."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def register() -> None:
    from propdesk.jobs import housekeeping

    hourly = housekeeping.HOUR
    housekeeping.register("accounts.prune_tokens", every=hourly)(prune_tokens)
    housekeeping.register("accounts.clear_sessions", every=hourly)(clear_sessions)
