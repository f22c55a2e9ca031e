"""A participation's stage lifecycle: a stage opens on its own trading account, is paused and
resumed by its rules, passes or fails, and after a pass the next stage opens (at once, or on an
approved `prop_stage_progression` request), the live step is asked for (`prop_live_step`), or
the participation completes.

The monitor decides *that* a stage's rules acted (`act`); this module decides what that means
for the participation, and tells the trader (participation.notices). Staff interventions
(participation.interventions) and the approval handlers (participation.request_types) move
stages through the same functions, and a stage's status moves only through `move_stage`, along
`StageAttempt.TRANSITIONS`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue.definition import Progression, StageKind
from propdesk.challenges.certificates import services as certificates
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.participation import notices, stage_accounts
from propdesk.core.errors import Conflict
from propdesk.core.status import move_status
from propdesk.core.templatetags.money import money
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import Access
from propdesk.rules.evaluator import Evaluator
from propdesk.rules.explain import explain
from propdesk.rules.model import FAILED, PASSED, PAUSED, RESUMED, Outcome
from propdesk.wallet.models import JournalEntry

STAGE_PROGRESSION = "prop_stage_progression"
LIVE_STEP = "prop_live_step"

Opening = tuple[Participation, int]  # a next stage to open once the batch's disables are done


def move_stage(attempt: StageAttempt, status: str) -> str:
    """Move a stage's status along the table (an illegal move is refused); the caller saves.
    Returns the old status."""
    old = move_status(attempt, status, StageAttempt.TRANSITIONS, what="stage")
    attempt.ended_at = None if status == StageAttempt.Status.IN_PROGRESS else timezone.now()
    if attempt.kind == StageKind.LIVE and old == StageAttempt.Status.IN_PROGRESS:
        # Its payout requests still waiting for a decision go, once the ending commits.
        from propdesk.challenges.payouts import services as payouts  # (it builds on this one)

        ended = attempt.pk
        transaction.on_commit(lambda: payouts.withdraw_for_ended(ended))
    return old


def settle(participation: Participation, status: str) -> None:
    """Move a participation's status (refusing an illegal move) and keep it."""
    move_status(participation, status, Participation.TRANSITIONS, what="participation")
    participation.save(update_fields=["status"])


def open_stage(
    participation: Participation,
    index: int,
    *,
    reset_of: StageAttempt | None = None,
    reset_fee_entry: JournalEntry | None = None,
) -> StageAttempt:
    """The stage, and the command that opens its account on the challenge's platform with its
    balance and leverage (carried out after the commit: until then the account is being
    prepared); only for a participation still active (under its lock: a cancel may have come
    first). A paid reset (participation.retries) opens the stage again on a fresh account,
    naming the attempt it starts over and the fee paid."""
    still = Participation.objects.select_for_update().filter(pk=participation.pk)
    if not still.filter(status=Participation.Status.ACTIVE).exists():
        raise Conflict("The participation is no longer active: no stage opens.")
    definition = participation.version.spec
    stage = definition.stages[index]
    server = TradingServer.objects.get(name=definition.platform)
    attempt = StageAttempt.objects.create(
        participation=participation,
        stage=index,
        kind=stage.kind,
        server=server,
        reset_of=reset_of,
        reset_fee_entry=reset_fee_entry,
    )
    stage_accounts.open_account(attempt, participation)
    from propdesk.challenges.participation import suspension  # it builds on this module

    suspension.hold_if_suspended(attempt)
    return attempt


# --- what the rules' outcomes do ------------------------------------------------------------


def act(
    attempt: StageAttempt, evaluator: Evaluator, outcomes: Any, openings: list[Opening]
) -> None:
    """A stage's rules acted: a pause lets the account only close positions until a resume; a
    breach or a pass ends the stage (`conclude`). A next stage to open is added to `openings`
    (opened by the caller once the batch's stages are decided). The accounts' access changes
    are platform commands, carried out once the batch commits."""
    for outcome in outcomes:
        if outcome.kind == PAUSED:
            attempt.paused = True
            stage_accounts.set_access(attempt, Access.CLOSE_ONLY, reason=_why(outcome))
            notices.outcome(attempt, outcome)
        elif outcome.kind == RESUMED:
            attempt.paused = False
            stage_accounts.set_access(attempt, Access.FULL, reason=_why(outcome))
            notices.outcome(attempt, outcome)
        elif outcome.kind in (FAILED, PASSED):
            conclude(attempt, evaluator, outcome, openings)


def _why(outcome: Outcome) -> str:
    return f"{outcome.kind} ({outcome.rule}) at {outcome.at.isoformat()}"


def conclude(
    attempt: StageAttempt, evaluator: Evaluator, outcome: Outcome, openings: list[Opening]
) -> None:
    """The stage's verdict: its account opens no more positions (and its open ones are closed
    when the challenge says so), the verdict and its explanation kept; a failure fails the
    participation, a pass earns its certificate (with the figures it passed on) and goes on
    (`proceed`)."""
    attempt.verdict = evaluator.verdict()
    attempt.explanation = explain(evaluator)
    participation = (
        Participation.objects.select_for_update(of=("self",))
        .select_related("version", "client")
        .get(pk=attempt.participation_id)
    )
    ended = StageAttempt.Status.FAILED if outcome.kind == FAILED else StageAttempt.Status.PASSED
    move_stage(attempt, ended)
    stage_accounts.end(attempt, participation.version.spec.on_breach, reason=_why(outcome))
    notices.outcome(attempt, outcome)
    if outcome.kind == FAILED:
        settle(participation, Participation.Status.FAILED)
        return
    certificates.issue_for_stage(attempt, reached=evaluator.figures(), passed_at=outcome.at)
    following = proceed(participation, attempt.stage)
    if following is not None:
        openings.append((participation, following))


def proceed(participation: Participation, passed: int, *, approved: bool = False) -> int | None:
    """After stage `passed` passed: the last one completes the participation; a live stage is
    requested (`prop_live_step`); a demo stage is requested under approved progression unless
    already `approved` (a staff member's advancement). Returns the demo stage to open now."""
    definition = participation.version.spec
    following = passed + 1
    if following >= len(definition.stages):
        settle(participation, Participation.Status.PASSED)
        return None
    live = definition.stages[following].is_live
    automatic = definition.progression == Progression.AUTOMATIC
    if not live and (automatic or approved):
        return following
    approvals.submit(
        LIVE_STEP if live else STAGE_PROGRESSION,
        client=participation.client,
        payload={"participation_id": participation.pk, "stage": following},
        manual_only=live,
    )
    return None


# --- the next-stage requests (prop_stage_progression, prop_live_step) -----------------------


def open_requested_stage(request: ApprovalRequest, actor: Any) -> None:
    """The `prop_stage_progression` / `prop_live_step` approval: open the next stage."""
    participation = Participation.objects.select_for_update().get(
        pk=request.payload["participation_id"]
    )
    wanted = int(request.payload["stage"])
    attempts = participation.attempts.all()
    passed = [a.stage for a in attempts if a.status == StageAttempt.Status.PASSED]
    running = [a for a in attempts if a.status == StageAttempt.Status.IN_PROGRESS]
    expected = max(passed) + 1 if passed else 0
    if participation.status != Participation.Status.ACTIVE or running or wanted != expected:
        raise Conflict("This stage is not the next one to open (the challenge moved on).")
    open_stage(participation, wanted)


def refuse_requested_stage(request: ApprovalRequest, actor: Any) -> None:
    """Rejecting the next stage (the live step, say) ends the challenge as failed."""
    participation = Participation.objects.select_for_update().get(
        pk=request.payload["participation_id"]
    )
    if participation.status == Participation.Status.ACTIVE:
        settle(participation, Participation.Status.FAILED)


def requested_stage_data(request: ApprovalRequest) -> dict[str, object]:
    """A decided next stage's (or live step's) event names the challenge and the stage."""
    participation = Participation.objects.select_related("version").get(
        pk=request.payload["participation_id"]
    )
    definition = participation.version.spec
    stage = definition.stages[int(request.payload["stage"])]
    return {"challenge": definition.name, "stage": stage.name}


def requested_stage_details(request: ApprovalRequest) -> list[tuple[str, str]]:
    participation = Participation.objects.select_related("client__user", "version").get(
        pk=request.payload["participation_id"]
    )
    stage = participation.version.spec.stages[int(request.payload["stage"])]
    balance = f"{money(stage.balance, participation.currency)} {participation.currency}"
    passed = participation.attempts.filter(status=StageAttempt.Status.PASSED).count()
    return [
        ("Challenge", participation.version.spec.name),
        ("Stages passed", str(passed)),
        ("Next stage", f"{stage.name} ({stage.kind.value}, {balance})"),
    ]
