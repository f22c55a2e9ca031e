"""Trading > Platform commands: the outbox's commands (platforms.outbox) as staff see them, and
what a person can do about one, each audited: retry it now, or cancel it.

A command the platform refused is `failed`, and the later commands of its account (its
`subject`) wait behind it: retrying sends it again once its cause is put right; cancelling
gives it up (the platform is never asked again) and lets the later ones run."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, InvalidTransition, NotFound
from propdesk.core.permissions import require_permission
from propdesk.core.status import move_status
from propdesk.core.validation import parse_id
from propdesk.platforms import outbox
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.permissions import PLATFORMS_MANAGE

Status = PlatformCommand.Status
ATTENTION = "attention"  # the list's default: what may need a person (pending and failed)
ALL = "all"
NEEDS_ATTENTION = (Status.PENDING, Status.FAILED)
SHOWN = ("status", "next_try_at", "attempts", "error")


def status_filters() -> list[tuple[str, str]]:
    return [(ATTENTION, "Pending and failed"), *Status.choices, (ALL, "All")]


def find_commands(*, status: Any = ATTENTION, server: Any = None) -> QuerySet[PlatformCommand]:
    """Commands newest first: by default those pending or failed; `status` one of the
    statuses or "all"; `server` a server's id (anything else: every server)."""
    rows = PlatformCommand.objects.select_related("server").order_by("-id")
    if status in Status.values:
        rows = rows.filter(status=status)
    elif status != ALL:
        rows = rows.filter(status__in=NEEDS_ATTENTION)
    server_id = parse_id(server)
    if server_id is not None:
        rows = rows.filter(server_id=server_id)
    return rows


def failed_count() -> int:
    return PlatformCommand.objects.filter(status=Status.FAILED).count()


def find_command(command_id: Any) -> PlatformCommand:
    key = parse_id(command_id)
    found = (
        PlatformCommand.objects.select_related("server").filter(pk=key).first()
        if key is not None
        else None
    )
    if found is None:
        raise NotFound("No such platform command.")
    return found


def of_subject(command: PlatformCommand) -> QuerySet[PlatformCommand]:
    """The commands of the same account on the same server, in the order they run."""
    return PlatformCommand.objects.filter(
        server_id=command.server_id, subject=command.subject
    ).order_by("id")


def waiting_behind(command: PlatformCommand) -> int:
    """How many later commands of its account wait for this one (outbox.holds_up)."""
    later = of_subject(command).filter(id__gt=command.pk, status=PlatformCommand.Status.PENDING)
    return sum(1 for other in later if outbox.holds_up(command, other))


def blocking(command: PlatformCommand) -> PlatformCommand | None:
    """The earliest command of its account that keeps this one from running, if any (the
    outbox runs an account's commands one after another; see outbox.holds_up)."""
    earlier = of_subject(command).filter(id__lt=command.pk, status__in=NEEDS_ATTENTION)
    return next((other for other in earlier if outbox.holds_up(other, command)), None)


def _locked(command_id: Any) -> PlatformCommand:
    key = parse_id(command_id)
    found = (
        PlatformCommand.objects.select_for_update().filter(pk=key).first()
        if key is not None
        else None
    )
    if found is None:
        raise NotFound("No such platform command.")
    return found


def _named(command: PlatformCommand) -> str:
    return f"command #{command.pk} ({command.get_kind_display().lower()} on {command.subject})"


def retry_now(command_id: Any, *, actor: User) -> PlatformCommand:
    """Send a command again at the runners' next turn: a failed one goes back to pending, a
    pending one waiting for its back-off is due at once. Its attempts so far are kept."""
    require_permission(actor, PLATFORMS_MANAGE)
    with transaction.atomic():
        command = _locked(command_id)
        now = timezone.now()
        before = audit.snapshot(command, SHOWN)
        if command.status == Status.FAILED:
            move_status(command, Status.PENDING, PlatformCommand.TRANSITIONS, what="command")
        elif command.status != Status.PENDING:
            raise InvalidTransition(
                f"Command #{command.pk} is {command.get_status_display().lower()}: "
                "there is nothing to retry."
            )
        elif command.claimed_until is not None and command.claimed_until > now:
            raise Conflict(
                f"Command #{command.pk} is being carried out right now; "
                "its outcome shows here in a moment."
            )
        elif command.next_try_at is None or command.next_try_at <= now:
            earlier = blocking(command)
            raise Conflict(
                f"Command #{command.pk} is already due"
                + (
                    f"; it waits for command #{earlier.pk} of the same account "
                    f"({earlier.get_status_display().lower()}): retry or cancel that one."
                    if earlier is not None
                    else ": it is carried out at the next turn."
                )
            )
        command.next_try_at, command.claimed_until = now, None
        command.save(update_fields=["status", "next_try_at", "claimed_until"])
        audit.record(
            actor=actor,
            action=AuditAction.PLATFORM_COMMAND_RETRY,
            object_type="platform_command",
            object_id=command.pk,
            summary=f"Platform {_named(command)} retried now, after {command.attempts} attempt(s)",
            before=before,
            after=audit.snapshot(command, SHOWN),
        )
    return command


def cancel(command_id: Any, *, actor: User) -> tuple[PlatformCommand, int]:
    """Give up a failed command: the platform is not asked again, and the later commands of
    its account may run (what waited for its result is told: `outbox.on_cancelled`). One the
    platform did, whose outcome could not be recorded, is retried instead when its caller
    would be told it never happened. Returns it and how many later commands of its account
    were waiting."""
    require_permission(actor, PLATFORMS_MANAGE)
    with transaction.atomic():
        command = _locked(command_id)
        if command.status != Status.FAILED:
            raise InvalidTransition(
                f"Command #{command.pk} is {command.get_status_display().lower()}: only a "
                "failed command can be cancelled"
                + (" (a pending one is still being tried)." if command.status == "pending" else ".")
            )
        if outbox.told_when_given_up(command) and command.error.startswith(
            outbox.RECORDING_FAILED
        ):  # its caller would take it for never done (a payout: cancelled, profit unpaid)
            raise Conflict(
                f"Command #{command.pk} was done on the platform; only recording its outcome "
                "failed: retry it (the platform gives back what it did), do not cancel it."
            )
        before = audit.snapshot(command, SHOWN)
        later = waiting_behind(command)  # (while it is still failed: what it held up)
        move_status(command, Status.CANCELLED, PlatformCommand.TRANSITIONS, what="command")
        command.save(update_fields=["status"])
        outbox.given_up(command)  # what waited for its result learns it will not come
        audit.record(
            actor=actor,
            action=AuditAction.PLATFORM_COMMAND_CANCEL,
            object_type="platform_command",
            object_id=command.pk,
            summary=f"Platform {_named(command)} cancelled; {later} later command(s) of "
            f"{command.subject} may run",
            before=before,
            after=audit.snapshot(command, SHOWN, later_may_run=later),
        )
    return command, later
