"""What staff may do to a participant by hand, each with a reason, a permission and an audit
record: advance a stage (only one in progress with no open positions), reinstate a stage
failed in error, and cancel a participation (optionally refunding its fee).

Locks are taken in the monitor's order (the attempt, then its participation), so a staff
action and a verdict on the same stage queue instead of deadlocking, and whichever comes
second sees what the first did.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy

from propdesk.accounts.models import User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.certificates import services as certificates
from propdesk.challenges.growth import commission, coupons
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import checkpoints, monitor
from propdesk.challenges.monitoring.progress import evaluator_for
from propdesk.challenges.participation import lifecycle, notices, stage_accounts
from propdesk.challenges.participation import services as participations
from propdesk.challenges.permissions import PARTICIPANTS_MANAGE
from propdesk.core import audit, references
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text, parse_id
from propdesk.platforms import adapters
from propdesk.platforms.protocol import PlatformError
from propdesk.rules.model import (
    MAX_DAILY_LOSS,
    MAX_LOSS,
    MAX_LOSS_PER_TRADE,
    MAX_OPEN_POSITIONS,
    MAX_OPEN_VOLUME,
    WEEKEND_HOLDING,
)
from propdesk.wallet import ledger, payments
from propdesk.wallet.models import Payment

REASON_LONGEST = 500
# What the trader reads of a staff decision: the staff member and their reason stay internal.
ADVANCED = "The firm passed this stage by hand."
CANCELLED = "The firm cancelled this challenge."
REINSTATED = gettext_lazy("The firm found the stage's failure to be in error and reinstated it.")
STEP_TYPES = (participations.PARTICIPATION, lifecycle.STAGE_PROGRESSION, lifecycle.LIVE_STEP)


def advance(attempt_id: Any, *, actor: User, reason: Any) -> StageAttempt:
    """Pass a demo stage in progress by hand: its account is disabled and the challenge goes on
    as after a pass (the next demo stage opens at once; a live stage still takes the live
    step). A live (funded) stage never passes."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    _refuse_open_positions(attempt_id)  # a look at the platform, before our transaction
    with transaction.atomic():
        attempt = _locked_attempt(attempt_id)
        if attempt.status != StageAttempt.Status.IN_PROGRESS:
            raise Conflict(
                f"Only a stage in progress can be advanced; this one is {_said(attempt)}."
            )
        if attempt.kind == StageKind.LIVE:
            raise Conflict("A live (funded) stage is never passed; cancel it to end it.")
        participation = _locked_participation(attempt)
        lifecycle.move_stage(attempt, StageAttempt.Status.PASSED)
        # A position opened since the look stays the trader's to close: the account opens none.
        stage_accounts.end(
            attempt, participation.version.spec.on_breach, reason="advanced by staff"
        )
        attempt.explanation = ADVANCED
        attempt.staff_note = f"Advanced by {actor.email}: {why}"
        attempt.monitor_error, attempt.set_aside_after = "", None
        attempt.save()
        certificates.issue_for_stage(attempt)  # passed is passed: the figures it stood at
        notices.tell(attempt, notices.PASSED)
        following = lifecycle.proceed(participation, attempt.stage, approved=True)
        if following is not None:
            lifecycle.open_stage(participation, following)
        _audit(actor, AuditAction.STAGE_ADVANCE, attempt, why, {"stage": attempt.stage + 1})
    return attempt


# Failures a reinstatement can take back: breaches the account's events caused (a bad price, a
# position the platform reported open in error). A day's close that failed the stage
# (inactivity, the trading period) is the calendar's, not an error.
REINSTATABLE = frozenset(
    {
        MAX_LOSS,
        MAX_DAILY_LOSS,
        MAX_LOSS_PER_TRADE,
        MAX_OPEN_POSITIONS,
        MAX_OPEN_VOLUME,
        WEEKEND_HOLDING,
    }
)


def reinstate(attempt_id: Any, *, actor: User, reason: Any) -> StageAttempt:
    """Take back a stage's breach found to be in error: the stage is in progress again where it
    stood, the events of its account since the breach are applied (a position closed meanwhile
    is closed for the rules too), its participation is active and its account enabled unless
    the rules still pause it. A snapshot still below a floor fails it again, so put the account
    right first."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    with transaction.atomic():
        monitor.lock_cursor(_stage_of(attempt_id))  # the monitor's order: checkpoint, stage
        attempt = _locked_attempt(attempt_id)
        participation = _locked_participation(attempt)
        latest = participation.attempts.order_by("-stage", "-id").first()
        if attempt.status != StageAttempt.Status.FAILED or latest != attempt:
            raise Conflict("Only the last stage of a challenge, failed, can be reinstated.")
        if participation.status != Participation.Status.FAILED:
            raise Conflict(f"The participation is {participation.get_status_display().lower()}.")
        retried = Participation.objects.filter(retry_of=participation).first()
        if retried is not None:  # the client paid to start again: one run goes on, not two
            raise Conflict(
                f"The client retried this challenge as {retried.reference}: it is not reinstated."
            )
        evaluator = evaluator_for(attempt)
        if attempt.evaluator_state is None or evaluator.status != "failed":
            raise Conflict("This stage was not failed by its rules: there is nothing to undo.")
        if evaluator.outcomes[-1].rule not in REINSTATABLE:
            raise Conflict(
                "Only a breach can be reinstated; a failure at a day's close (inactivity, the "
                "trading period) is the calendar's."
            )
        before = audit.snapshot(attempt, ["explanation", "verdict"])
        evaluator.reinstate()
        attempt.evaluator_state = evaluator.state()
        monitor.keep_due(attempt, evaluator)
        lifecycle.move_stage(attempt, StageAttempt.Status.IN_PROGRESS)
        attempt.verdict = None
        attempt.explanation = attempt.staff_note = ""
        attempt.monitor_error, attempt.set_aside_after = "", None
        attempt.paused = evaluator.figures().paused  # a pause the breach cut short still holds
        lifecycle.settle(participation, Participation.Status.ACTIVE)
        since, attempt.concluded_after = attempt.concluded_after, None
        attempt.save()
        stage_accounts.set_access(
            attempt, stage_accounts.access_for(attempt), reason="reinstated by staff"
        )
        # Told before the events since the breach are applied: one still below a floor fails
        # the stage again, and that is told after.
        notices.tell(attempt, notices.STAGE_RESUMED, why=REINSTATED)
        if since is not None:
            monitor.catch_up(attempt, since)
        else:
            checkpoints.changed(attempt)  # the monitor takes it up again
        _audit(actor, AuditAction.STAGE_REINSTATE, attempt, why, before)
    return attempt


def retry(attempt_id: Any, *, actor: User, reason: Any) -> int:
    """Watch a stage the monitor set aside again, once what made it fail is put right: the
    events it missed are applied first (a stage that has ended since takes none; a passed one
    whose next stage could not be opened has it opened). If it still fails, nothing changes and
    the reason is given."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    try:
        with transaction.atomic():
            monitor.lock_cursor(_stage_of(attempt_id))
            attempt = _locked_attempt(attempt_id)
            if not attempt.monitor_error:
                raise Conflict("The monitor has not set this stage aside.")
            participation = _locked_participation(attempt)
            before = audit.snapshot(attempt, ["monitor_error"])
            since = attempt.set_aside_after
            attempt.monitor_error, attempt.set_aside_after = "", None
            attempt.save(update_fields=["monitor_error", "set_aside_after"])
            checkpoints.changed(attempt)
            applied = 0
            active = participation.status == Participation.Status.ACTIVE
            if active and attempt.status == StageAttempt.Status.IN_PROGRESS:
                applied = monitor.catch_up(attempt, since)
            elif active and attempt.status == StageAttempt.Status.PASSED:
                following = attempt.stage + 1
                opened = participation.attempts.filter(stage__gte=following).exists()
                if not opened and following < len(participation.version.spec.stages):
                    lifecycle.open_stage(participation, following)
            _audit(
                actor,
                AuditAction.STAGE_RETRY,
                attempt,
                f"{why} ({applied} event(s) applied)",
                before,
            )
    except (Conflict, NotFound):
        raise
    except Exception as exc:
        raise Conflict(f"The stage still cannot be evaluated: {type(exc).__name__}: {exc}") from exc
    return applied


def cancel(
    participation_id: Any, *, actor: User, reason: Any, refund: bool = False
) -> Participation:
    """End a participation that is waiting or active: its running stage's account is
    disabled, its pending requests withdrawn, and its fee refunded if asked.

    Locks in the order an approval and the monitor take them (the requests, the running stages,
    then the participation), and the running stages are read again after: a stage an approval
    or the monitor opened meanwhile is cancelled too."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    return end(participation_id, actor=actor, why=why, refund=refund)


def end(
    participation_id: Any, *, actor: User | None, why: str, refund: bool = False
) -> Participation:
    """`cancel`'s work, for a caller that has already decided (a refunded payment: `actor`
    None when the provider made it): the running stage's account disabled (after the commit,
    by the platform outbox), pending requests withdrawn, the fee's entry reversed if asked."""
    wanted = parse_id(participation_id)
    if wanted is None:
        raise NotFound("No such participation.")
    by = actor.email if actor is not None else "the payment provider"
    with transaction.atomic():
        # An unpaid purchase's payment first (the order applying its answer takes).
        token = Participation.objects.filter(pk=wanted).values_list("checkout_token", flat=True)
        payment = payments.lock_unpaid(token.first())
        steps = ApprovalRequest.objects.filter(
            Q(type_key__in=STEP_TYPES), payload__participation_id=wanted
        )
        list(steps.select_for_update().filter(status=ApprovalRequest.Status.PENDING))
        running = StageAttempt.objects.select_for_update(of=("self",)).filter(
            participation_id=wanted, status=StageAttempt.Status.IN_PROGRESS
        )
        list(running)  # the monitor's order: a stage, then its participation
        participation = (
            Participation.objects.select_for_update(of=("self",))
            .select_related("version", "client")
            .filter(pk=wanted)
            .first()
        )
        if participation is None:
            raise NotFound("No such participation.")
        before = audit.snapshot(participation, ["status"])
        unpaid = participation.status == Participation.Status.PENDING_PAYMENT
        lifecycle.settle(participation, Participation.Status.CANCELLED)
        for attempt in running.select_related("server"):  # read again: one opened meanwhile
            lifecycle.move_stage(attempt, StageAttempt.Status.CANCELLED)
            stage_accounts.end(
                attempt, participation.version.spec.on_breach, reason="challenge cancelled"
            )
            attempt.explanation = CANCELLED
            attempt.staff_note = f"Cancelled by {by}: {why}"
            attempt.monitor_error, attempt.set_aside_after = "", None
            attempt.save()
        approvals.cancel_pending(steps, actor=actor, text=f"The participation was cancelled: {why}")
        if refund and participation.fee_entry and participation.refund_entry_id is None:
            commission.hold_for_refund(participation)  # client rows before the shared accounts
            participation.refund_entry = ledger.reverse(
                participation.fee_entry,
                actor=actor,
                memo=f"Refund of the fee for participation {participation.reference}",
            )
            participation.save(update_fields=["refund_entry"])
            commission.reverse_for(participation, actor)  # the IBs' share goes back with it
        if unpaid:  # never paid: the coupons' uses are given back (a refund keeps them)
            coupons.release(participation)
            payments.lapsed(payment, status=Payment.Status.CANCELLED)
        audit.record(
            actor=actor,
            action=AuditAction.PARTICIPATION_CANCEL,
            object_type="participation",
            object_id=participation.pk,
            summary=f"Participation {participation.reference} cancelled"
            + (" and its fee refunded" if participation.refund_entry_id else "")
            + f": {why}",
            before=before,
            after=audit.snapshot(participation, ["status", "refund_entry"]),
        )
    return participation


def _refuse_open_positions(attempt_id: Any) -> None:
    """A stage is advanced only with nothing open on its account: asked of the platform
    outside any transaction of ours (a slow platform holds no lock). An account still being
    prepared has nothing open."""
    wanted = parse_id(attempt_id)
    attempt = (
        None
        if wanted is None
        else StageAttempt.objects.select_related("server").filter(pk=wanted).first()
    )
    if attempt is None or not attempt.login or attempt.status != StageAttempt.Status.IN_PROGRESS:
        return  # (a stage not in progress is refused for that, in the transaction)
    try:
        positions = adapters.platform(attempt.server).account_state(attempt.login).positions
    except PlatformError as exc:
        raise Conflict(
            f"The trading platform cannot say whether account {attempt.login} has open "
            f"positions ({exc}); try again."
        ) from exc
    if positions:
        raise Conflict(
            f"Account {attempt.login} has {len(positions)} open position(s): they must be "
            "closed before the stage can be advanced."
        )


def _stage_of(attempt_id: Any) -> StageAttempt:
    wanted = parse_id(attempt_id)
    found = None if wanted is None else StageAttempt.objects.filter(pk=wanted).first()
    if found is None:
        raise NotFound("No such stage.")
    return found


def _reason(reason: Any) -> str:
    errors = FieldErrors()
    text = clean_text(
        errors, "reason", reason, label="The reason", max_length=REASON_LONGEST, multiline=True
    )
    errors.raise_if_any()
    return text


def _locked_attempt(attempt_id: Any) -> StageAttempt:
    wanted = parse_id(attempt_id)
    found = (
        None
        if wanted is None
        else StageAttempt.objects.select_for_update(of=("self",))
        .select_related("participation__version", "server")
        .filter(pk=wanted)
        .first()
    )
    if found is None:
        raise NotFound("No such stage.")
    return found


def _locked_participation(attempt: StageAttempt) -> Participation:
    """The stage's participation, locked; a suspended client's challenges are on hold, and
    only cancelling touches them until the client is reactivated."""
    participation = (
        Participation.objects.select_for_update(of=("self",))
        .select_related("version", "client")
        .get(pk=attempt.participation_id)
    )
    # Read afresh, under the participation's lock: a suspension that committed meanwhile counts.
    if stage_accounts.client_suspended(participation.client_id):
        raise Conflict(
            "The client is suspended: their challenges are on hold until they are reactivated."
        )
    attempt.participation = participation
    return participation


def _said(attempt: StageAttempt) -> str:
    return attempt.get_status_display().lower()


def _audit(
    actor: User, action: AuditAction, attempt: StageAttempt, why: str, before: dict[str, Any]
) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="stage_attempt",
        object_id=attempt.pk,
        summary=f"Participation {references.of(references.PARTICIPATION, attempt.participation_id)}"
        f", stage {attempt.stage + 1} "
        f"({attempt.login}): {action.verb}: {why}",
        before=before,
        after=audit.snapshot(attempt, ["status"]),
    )
