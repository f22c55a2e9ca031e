"""A suspended client's challenges are on hold until the client is reactivated.

On suspension every running stage of the client is held: its account can neither trade nor log
in (the terminal, the trading API), and the monitor leaves the stage alone (no verdict, no next
stage, no day closes). On reactivation the account opens again (trading stays off while the
rules still pause it), and the events the account had meanwhile are applied in order, so a
floor crossed or a target met while the client was suspended is decided then, at the moment it
happened. A stage opened for a suspended client (an approval decided meanwhile, say) opens held.

Locks are taken in the monitor's order (the server's cursor, then the stage), so a hold and a
batch of the monitor queue instead of racing: whatever the batch applied stays applied, and
what comes after the cursor waits for the reactivation.
"""

from __future__ import annotations

from django.db.models import QuerySet

from propdesk.accounts.models import Client
from propdesk.challenges import monitor
from propdesk.challenges.models import MonitorCursor, Participation, StageAttempt
from propdesk.platforms import adapters

HELD = "client suspended"


def _running(client: Client) -> QuerySet[StageAttempt]:
    return StageAttempt.objects.filter(
        participation__client=client,
        participation__status=Participation.Status.ACTIVE,
        status=StageAttempt.Status.IN_PROGRESS,
    )


def _locked(attempt_id: int, *, held: bool) -> StageAttempt | None:
    """The stage, locked, if it is still running and (not) held."""
    return (
        StageAttempt.objects.select_for_update(of=("self",))
        .select_related("server")
        .filter(pk=attempt_id, status=StageAttempt.Status.IN_PROGRESS, held_after__isnull=not held)
        .first()
    )


def hold_all(client: Client) -> int:
    """Hold the client's running stages; returns how many. Call it in the suspending
    transaction."""
    held = 0
    for attempt_id, server_id in (
        _running(client).filter(held_after=None).values_list("id", "server_id")
    ):
        cursor = monitor.lock_cursor(server_id)
        attempt = _locked(attempt_id, held=False)
        if attempt is None:
            continue  # the monitor ended it meanwhile
        hold(attempt, after=cursor.position)
        held += 1
    return held


def hold(attempt: StageAttempt, *, after: int) -> None:
    """Block the stage's account and take the stage out of the monitor's hands; the events
    after stream position `after` wait for the reactivation."""
    platform = adapters.platform(attempt.server)
    platform.set_trading_enabled(attempt.login, False, reason=HELD)
    platform.set_login_enabled(attempt.login, False)
    attempt.held_after = after
    attempt.save(update_fields=["held_after"])


def hold_if_suspended(attempt: StageAttempt) -> None:
    """A stage just opened for a client who is suspended (an approval decided meanwhile) starts
    held. Its account is new: every event it has comes after the monitor's cursor as read here
    (without its lock, which a stage opens under other locks), so none is missed."""
    if attempt.participation.client.status != Client.Status.SUSPENDED:
        return
    seen = MonitorCursor.objects.filter(server=attempt.server_id).values_list("position", flat=True)
    hold(attempt, after=seen.first() or 0)


def release_all(client: Client) -> int:
    """Open the client's held stages again and apply what their accounts did meanwhile;
    returns how many. Call it in the reactivating transaction."""
    released = 0
    for attempt_id, server_id in (
        _running(client).exclude(held_after=None).values_list("id", "server_id")
    ):
        monitor.lock_cursor(server_id)
        attempt = _locked(attempt_id, held=True)
        if attempt is None:
            continue
        since, attempt.held_after = attempt.held_after, None
        attempt.save(update_fields=["held_after"])
        platform = adapters.platform(attempt.server)
        platform.set_login_enabled(attempt.login, True)
        if not attempt.paused:
            platform.set_trading_enabled(attempt.login, True)
        if not attempt.monitor_error:  # a stage set aside waits for staff's retry as it was
            monitor.catch_up(attempt, since)
        released += 1
    return released


def on_client_status(client: Client, suspended: bool) -> str:
    """The accounts' hook: what suspending or reactivating did to the client's challenges, in
    words for the audit log (empty when the client has no running stage)."""
    if suspended:
        count = hold_all(client)
        return f"{count} running challenge stage(s) on hold" if count else ""
    count = release_all(client)
    return f"{count} challenge stage(s) resumed" if count else ""
