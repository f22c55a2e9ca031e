"""A suspended client's challenges are on hold until the client is reactivated.

On suspension every trading account of the client's challenges is blocked: it can no longer
log in (the terminal, the trading API), so its owner can neither trade nor look. On
reactivation each account gets back the access its stage calls for (stage_accounts.access_for:
full while it runs, close-only while paused or after its end). Both are platform commands,
carried out after the commit. Every running stage is also held: the monitor leaves it
alone (no verdict, no next stage, no day closes). On reactivation the accounts log in again and
the events a held stage's account had meanwhile are applied in order, so a floor crossed or a
target met while the client was suspended is decided then, at the moment it happened.

Locks, in the order every other path takes them: the trading servers' monitor cursors, then the
client's stages, then their participations. A monitor batch or a staff action on one of them
therefore runs wholly before or after a suspension; a stage an approval opens meanwhile (under
its participation's lock) is found once that lock is had, and a stage opened after it reads
the client as suspended (`hold_if_suspended`) and starts held.
"""

from __future__ import annotations

import logging

from django.db.models import QuerySet

from propdesk.accounts.models import Client
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import checkpoints, monitor
from propdesk.challenges.participation import stage_accounts
from propdesk.platforms.protocol import Access

logger = logging.getLogger(__name__)


def _attempts(client: Client) -> QuerySet[StageAttempt]:
    return StageAttempt.objects.filter(participation__client=client)


def _lock_all(client: Client) -> list[StageAttempt]:
    """The client's stages, locked in the shared order (the monitor's checkpoints, stages,
    participations), then read again: a stage an approval was opening under its
    participation's lock is in it."""
    keys = {checkpoints.feed_key(a) for a in _attempts(client).only("server_id", "login")}
    for key in sorted(keys):
        checkpoints.lock(key)
    list(_attempts(client).select_for_update(of=("self",)).order_by("pk"))
    list(
        Participation.objects.select_for_update()
        .filter(client=client)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(
        _attempts(client)
        .select_for_update(of=("self",))
        .select_related("server", "participation__version")
    )


def hold(attempt: StageAttempt) -> None:
    """Block the stage's account and, while it runs, take it out of the monitor's hands: the
    events after the monitor's position wait for the reactivation. Call it with the stage
    locked."""
    stage_accounts.set_access(attempt, Access.NO_LOGIN, reason="client suspended")
    if attempt.status == StageAttempt.Status.IN_PROGRESS and attempt.held_after is None:
        if not attempt.login:
            # Its account is still being opened (a stage opening, under its participation's
            # lock): no monitor holds it and no event of it is in a feed yet, so no checkpoint
            # is locked (after the participation's, against the shared order: a reactivation
            # waiting for the participation would deadlock with it).
            attempt.held_after = checkpoints.applied_through(attempt)
            attempt.save(update_fields=["held_after"])
            return
        # Read with the feed's checkpoint locked: what the monitor wrote for the stage has
        # committed, and it writes no more (`changed` has it drop the stage).
        attempt.held_after = checkpoints.applied_through(attempt)
        attempt.save(update_fields=["held_after"])
        checkpoints.changed(attempt)


def hold_all(client: Client) -> int:
    """Block every account of the client's challenges and hold the running stages; returns how
    many stages were running. Call it in the suspending transaction."""
    attempts = _lock_all(client)
    for attempt in attempts:
        hold(attempt)
    return sum(1 for a in attempts if a.held_after is not None)


def hold_if_suspended(attempt: StageAttempt) -> None:
    """A stage just opened (under its participation's lock) for a client who is suspended
    starts held. The client's status is read afresh: a suspension that committed while this
    waited for the lock is seen."""
    client_id = attempt.participation.client_id
    if stage_accounts.client_suspended(client_id):
        hold(attempt)


def release_all(client: Client) -> int:
    """Let every account of the client's challenges log in again and apply what the held
    stages' accounts did meanwhile; returns how many stages were held. Call it in the
    reactivating transaction. A stage whose events cannot be applied is set aside for staff
    (with the reason), as the monitor does, instead of stopping the reactivation."""
    attempts = _lock_all(client)
    held = 0
    for attempt in attempts:
        on_breach = attempt.participation.version.spec.on_breach
        stage_accounts.set_access(
            attempt, stage_accounts.access_for(attempt, on_breach), reason="client reactivated"
        )
        if attempt.held_after is None:
            continue
        held += 1
        since, attempt.held_after = attempt.held_after, None
        attempt.save(update_fields=["held_after"])
        if attempt.status == StageAttempt.Status.IN_PROGRESS and not attempt.monitor_error:
            # A stage set aside before stays so: staff's retry applies its events from there.
            monitor.guarded(attempt, lambda a=attempt, s=since: monitor.catch_up(a, s), after=since)
    return held


def on_client_status(client: Client, suspended: bool) -> str:
    """The accounts' hook: what suspending or reactivating did to the client's challenges, in
    words for the audit log (empty when the client has no challenge account)."""
    if suspended:
        count = hold_all(client)
        return f"{count} running challenge stage(s) on hold" if count else ""
    count = release_all(client)
    return f"{count} challenge stage(s) resumed" if count else ""
