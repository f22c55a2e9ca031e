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
from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.accounts.services import require_permission
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges import monitor
from propdesk.challenges import participation as participations
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.permissions import PARTICIPANTS_MANAGE
from propdesk.challenges.progress import evaluator_for
from propdesk.core import audit
from propdesk.core.errors import Conflict, NotFound
from propdesk.core.validation import FieldErrors, clean_text, parse_id
from propdesk.platforms import adapters
from propdesk.wallet import ledger

REASON_LONGEST = 500
STEP_TYPES = (participations.PARTICIPATION, monitor.STAGE_PROGRESSION, monitor.LIVE_STEP)


def advance(attempt_id: Any, *, actor: User, reason: Any) -> StageAttempt:
    """Pass a stage in progress by hand: its account is disabled and the challenge goes on as
    after a pass (the next demo stage opens at once; a live stage still takes the live step)."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    with transaction.atomic():
        attempt = _locked_attempt(attempt_id)
        if attempt.status != StageAttempt.Status.IN_PROGRESS:
            raise Conflict(
                f"Only a stage in progress can be advanced; this one is {_said(attempt)}."
            )
        participation = _locked_participation(attempt)
        platform = adapters.platform(attempt.server)
        positions = platform.account_state(attempt.login).positions
        if positions:
            raise Conflict(
                f"Account {attempt.login} has {len(positions)} open position(s): they must be "
                "closed before the stage can be advanced."
            )
        platform.set_trading_enabled(attempt.login, False, reason="advanced by staff")
        attempt.status = StageAttempt.Status.PASSED
        attempt.ended_at = timezone.now()
        attempt.explanation = f"Advanced by {actor.email}: {why}"
        attempt.save()
        following = monitor.proceed(participation, attempt.stage, approved=True)
        if following is not None:
            participations.open_stage(participation, following)
        _audit(actor, "participant.advance", attempt, why, {"stage": attempt.stage + 1})
    return attempt


def reinstate(attempt_id: Any, *, actor: User, reason: Any) -> StageAttempt:
    """Take back a stage's failure found to be in error: the stage is in progress again where it
    stood, its participation active and its account enabled. A snapshot still below a floor
    fails it again, so put the account right first."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    with transaction.atomic():
        attempt = _locked_attempt(attempt_id)
        participation = _locked_participation(attempt)
        latest = participation.attempts.order_by("-stage", "-id").first()
        if attempt.status != StageAttempt.Status.FAILED or latest != attempt:
            raise Conflict("Only the last stage of a challenge, failed, can be reinstated.")
        if participation.status != Participation.Status.FAILED:
            raise Conflict(f"The participation is {participation.get_status_display().lower()}.")
        before = {"explanation": attempt.explanation, "verdict": attempt.verdict}
        evaluator = evaluator_for(attempt)
        if attempt.evaluator_state is not None and evaluator.status == "failed":
            evaluator.reinstate()
            attempt.evaluator_state = evaluator.state()
        attempt.status = StageAttempt.Status.IN_PROGRESS
        attempt.ended_at = None
        attempt.verdict = None
        attempt.explanation = ""
        attempt.monitor_error = ""
        attempt.paused = False
        attempt.save()
        participations.settle(participation, Participation.Status.ACTIVE)
        adapters.platform(attempt.server).set_trading_enabled(attempt.login, True)
        _audit(actor, "participant.reinstate", attempt, why, before)
    return attempt


def retry(attempt_id: Any, *, actor: User, reason: Any) -> int:
    """Watch a stage the monitor set aside again, once what made it fail is put right: the
    events it missed are applied first. If it still fails, nothing changes and the reason is
    given."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    try:
        with transaction.atomic():
            attempt = _locked_attempt(attempt_id)
            if not attempt.monitor_error:
                raise Conflict("The monitor has not set this stage aside.")
            before = {"monitor_error": attempt.monitor_error}
            applied = monitor.retry(attempt)
            _audit(
                actor, "participant.retry", attempt, f"{why} ({applied} event(s) applied)", before
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
    disabled, its pending requests withdrawn, and its fee refunded if asked."""
    require_permission(actor, PARTICIPANTS_MANAGE)
    why = _reason(reason)
    wanted = parse_id(participation_id)
    if wanted is None:
        raise NotFound("No such participation.")
    with transaction.atomic():
        running = StageAttempt.objects.select_for_update().filter(
            participation_id=wanted, status=StageAttempt.Status.IN_PROGRESS
        )
        attempts = list(running.select_related("server"))
        participation = (
            Participation.objects.select_for_update()
            .select_related("version", "client")
            .filter(pk=wanted)
            .first()
        )
        if participation is None:
            raise NotFound("No such participation.")
        before = {"status": participation.status}
        participations.settle(participation, Participation.Status.CANCELLED)
        for attempt in attempts:
            adapters.platform(attempt.server).set_trading_enabled(
                attempt.login, False, reason="challenge cancelled"
            )
            attempt.status = StageAttempt.Status.CANCELLED
            attempt.ended_at = timezone.now()
            attempt.explanation = f"Cancelled by {actor.email}: {why}"
            attempt.save()
        approvals.cancel_pending(
            ApprovalRequest.objects.filter(
                Q(type_key__in=STEP_TYPES), payload__participation_id=participation.pk
            ),
            actor=actor,
            text=f"The participation was cancelled: {why}",
        )
        if refund and participation.fee_entry and participation.refund_entry_id is None:
            participation.refund_entry = ledger.reverse(
                participation.fee_entry,
                actor=actor,
                memo=f"Refund of the fee for participation #{participation.pk}",
            )
            participation.save(update_fields=["refund_entry"])
        audit.record(
            actor=actor,
            action="participant.cancel",
            object_type="participation",
            object_id=participation.pk,
            summary=f"Participation #{participation.pk} cancelled"
            + (" and its fee refunded" if participation.refund_entry_id else "")
            + f": {why}",
            before=before,
            after={"status": participation.status, "refund_entry": participation.refund_entry_id},
        )
    return participation


def _reason(reason: Any) -> str:
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, label="The reason", max_length=REASON_LONGEST)
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
    participation = (
        Participation.objects.select_for_update(of=("self",))
        .select_related("version", "client")
        .get(pk=attempt.participation_id)
    )
    attempt.participation = participation
    return participation


def _said(attempt: StageAttempt) -> str:
    return attempt.get_status_display().lower()


def _audit(
    actor: User, action: str, attempt: StageAttempt, why: str, before: dict[str, Any]
) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="stage_attempt",
        object_id=attempt.pk,
        summary=f"Participation #{attempt.participation_id}, stage {attempt.stage + 1} "
        f"({attempt.login}): {action.split('.')[1]}: {why}",
        before=before,
        after={"status": attempt.status},
    )
