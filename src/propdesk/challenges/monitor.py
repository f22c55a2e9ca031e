"""The real-time monitor: reads each trading server's account events from a persisted cursor,
feeds every running stage's evaluator, and acts on a verdict at once.

One batch is one transaction: the events' effects (accounts disabled, stages failed or passed,
the next stage opened or requested), every evaluator's state and the cursor move together, so a
restart resumes exactly where the last commit left off and neither misses nor repeats a verdict.
Days end on the clock (`close_days`), so day-end rules need no events.

- a breach: the account is disabled, the stage and the participation fail;
- a pause: trading is disabled until the evaluator resumes it at a day's close;
- a pass: the account is disabled; the next demo stage's account is opened (automatic
  progression) or requested (approved progression); a live stage is always requested
  (`prop_live_step`); passing the last stage completes the participation.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges import participation as participations
from propdesk.challenges.models import MonitorCursor, Participation, StageAttempt
from propdesk.challenges.rules.errors import InputError
from propdesk.challenges.rules.evaluator import Evaluator
from propdesk.challenges.rules.explain import explain
from propdesk.challenges.rules.model import FAILED, PASSED, PAUSED, RESUMED, Outcome, Rules
from propdesk.challenges.rules.parse import parse_event
from propdesk.core.status import move_status
from propdesk.platforms import adapters
from propdesk.platforms.models import TradingServer

logger = logging.getLogger(__name__)

STAGE_PROGRESSION = "prop_stage_progression"
LIVE_STEP = "prop_live_step"
BATCH = 2000


def process(server: TradingServer, *, limit: int = BATCH) -> int:
    """Read one batch of the server's events and act on them; returns how many were read."""
    platform = adapters.platform(server)
    seen = MonitorCursor.objects.filter(server=server).values_list("position", flat=True).first()
    if not platform.events(after=seen or 0, limit=1):
        return 0  # nothing new: no write transaction (on SQLite that would take the lock)
    with transaction.atomic():
        cursor, _ = MonitorCursor.objects.select_for_update().get_or_create(server=server)
        events = platform.events(after=cursor.position, limit=limit)
        if not events:
            return 0
        by_login: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            by_login[event.login].append(event.payload)
        attempts = StageAttempt.objects.select_for_update().filter(
            server=server, login__in=list(by_login), status=StageAttempt.Status.IN_PROGRESS
        )
        for attempt in attempts.select_related("participation__version"):
            evaluator = _evaluator(attempt)
            for payload in by_login[attempt.login]:
                try:
                    outcomes = evaluator.feed(parse_event(payload))
                except InputError as exc:  # the platform sent what the rules cannot read
                    logger.warning("attempt %s: event skipped: %s", attempt.pk, exc)
                    continue
                _act(attempt, evaluator, outcomes, platform)
                if attempt.status != StageAttempt.Status.IN_PROGRESS:
                    break
            _keep(attempt, evaluator)
        cursor.position = events[-1].cursor
        cursor.save(update_fields=["position"])
    return len(events)


def close_days(now: datetime | None = None) -> int:
    """Close the days that ended on the clock for every running stage; returns the verdicts
    and pauses this caused."""
    moment = now or timezone.now()
    acted = 0
    running = StageAttempt.objects.filter(
        status=StageAttempt.Status.IN_PROGRESS, evaluator_state__isnull=False
    )
    for attempt_id in running.values_list("id", flat=True):
        with transaction.atomic():
            attempt = (
                StageAttempt.objects.select_for_update()
                .select_related("participation__version", "server")
                .filter(pk=attempt_id, status=StageAttempt.Status.IN_PROGRESS)
                .first()
            )
            if attempt is None:
                continue
            evaluator = _evaluator(attempt)
            try:
                outcomes = evaluator.close_until(moment)
            except InputError:
                continue  # the clock is behind the account's last event: nothing to close
            if outcomes:
                acted += len(outcomes)
                _act(attempt, evaluator, outcomes, adapters.platform(attempt.server))
                _keep(attempt, evaluator)
    return acted


def run(*, every: float = 0.05, days_every: float = 5.0, stop: Any = None) -> None:
    """`propdesk monitor`: read every enabled server's stream, close days on the clock."""
    last_days = 0.0
    while stop is None or not stop.is_set():
        read = 0
        for server in TradingServer.objects.filter(enabled=True):
            read += process(server)
        if time.monotonic() - last_days >= days_every:
            close_days()
            last_days = time.monotonic()
        if not read:
            time.sleep(every)


# --- what a verdict does -------------------------------------------------------------------------


def _evaluator(attempt: StageAttempt) -> Evaluator:
    rules = Rules.parse(attempt.participation.version.stages[attempt.stage]["rules"])
    if attempt.evaluator_state is None:
        return Evaluator(rules)
    return Evaluator.from_state(rules, attempt.evaluator_state)


def _keep(attempt: StageAttempt, evaluator: Evaluator) -> None:
    attempt.evaluator_state = evaluator.state()
    attempt.save()


def _act(attempt: StageAttempt, evaluator: Evaluator, outcomes: Any, platform: Any) -> None:
    for outcome in outcomes:
        if outcome.kind == PAUSED:
            attempt.paused = True
            platform.set_trading_enabled(attempt.login, False, reason=_why(outcome))
        elif outcome.kind == RESUMED:
            attempt.paused = False
            platform.set_trading_enabled(attempt.login, True)
        elif outcome.kind in (FAILED, PASSED):
            _conclude(attempt, evaluator, outcome, platform)


def _why(outcome: Outcome) -> str:
    return f"{outcome.kind} ({outcome.rule}) at {outcome.at.isoformat()}"


def _conclude(attempt: StageAttempt, evaluator: Evaluator, outcome: Outcome, platform: Any) -> None:
    platform.set_trading_enabled(attempt.login, False, reason=_why(outcome))
    attempt.verdict = evaluator.verdict()
    attempt.explanation = explain(evaluator)
    attempt.ended_at = timezone.now()
    participation = Participation.objects.select_for_update().get(pk=attempt.participation_id)
    if outcome.kind == FAILED:
        attempt.status = StageAttempt.Status.FAILED
        move_status(
            participation,
            Participation.Status.FAILED,
            Participation.TRANSITIONS,
            what="participation",
        )
        participation.save(update_fields=["status"])
        return
    attempt.status = StageAttempt.Status.PASSED
    stages = participation.version.stages
    following = attempt.stage + 1
    if following >= len(stages):
        move_status(
            participation,
            Participation.Status.PASSED,
            Participation.TRANSITIONS,
            what="participation",
        )
        participation.save(update_fields=["status"])
        return
    attempt.save()  # the next stage's account is opened after this one is closed
    live = stages[following]["kind"] == "live"
    automatic = participation.version.definition["progression"] == "automatic"
    if not live and automatic:
        participations.open_stage(participation, following)
        return
    approvals.submit(
        LIVE_STEP if live else STAGE_PROGRESSION,
        client=participation.client,
        payload={"participation_id": participation.pk, "stage": following},
        manual_only=live,
    )


def advance(request: ApprovalRequest, actor: Any) -> None:
    """The `prop_stage_progression` / `prop_live_step` approval: open the next stage."""
    participation = Participation.objects.select_for_update().get(
        pk=request.payload["participation_id"]
    )
    if participation.status != Participation.Status.ACTIVE:
        return
    participations.open_stage(participation, int(request.payload["stage"]))


def refuse(request: ApprovalRequest, actor: Any) -> None:
    """Rejecting the next stage (the live step, say) ends the challenge as failed."""
    participation = Participation.objects.select_for_update().get(
        pk=request.payload["participation_id"]
    )
    if participation.status == Participation.Status.ACTIVE:
        move_status(
            participation,
            Participation.Status.FAILED,
            Participation.TRANSITIONS,
            what="participation",
        )
        participation.save(update_fields=["status"])


def step_details(request: ApprovalRequest) -> list[tuple[str, str]]:
    participation = Participation.objects.select_related("client__user", "version").get(
        pk=request.payload["participation_id"]
    )
    stage = participation.version.stages[int(request.payload["stage"])]
    passed = participation.attempts.filter(status=StageAttempt.Status.PASSED).count()
    return [
        ("Challenge", participation.version.definition["name"]),
        ("Stages passed", str(passed)),
        ("Next stage", f"{stage['name']} ({stage['kind']}, {stage['balance']})"),
    ]
