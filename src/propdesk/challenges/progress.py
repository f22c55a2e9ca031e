"""Where a running stage stands: its evaluator rebuilt from the monitor's saved state, the live
figures the participant pages show (progress bars, floors, distances) and the next day reset.

Reading never changes anything: the monitor alone feeds evaluators and saves their state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from propdesk.challenges.models import StageAttempt
from propdesk.challenges.rules.days import Calendar
from propdesk.challenges.rules.evaluator import Evaluator
from propdesk.challenges.rules.figures import Figures
from propdesk.challenges.rules.model import Rules

NEVER = 10**9  # trading days: a live (funded) stage is watched for breaches, and never passes


def rules_for(attempt: StageAttempt) -> Rules:
    """The stage's rules, as its participation's version has them (a live stage never passes)."""
    given = attempt.participation.version.stages[attempt.stage]["rules"]
    if attempt.kind == "live":
        given = {**given, "min_trading_days": NEVER}
    return Rules.parse(given)


def evaluator_for(attempt: StageAttempt) -> Evaluator:
    rules = rules_for(attempt)
    if attempt.evaluator_state is None:
        return Evaluator(rules)
    return Evaluator.from_state(rules, attempt.evaluator_state)


def figures(attempt: StageAttempt) -> Figures:
    """The stage's figures as of the last event the monitor read (the initial balance before
    the first one)."""
    return evaluator_for(attempt).figures()


def next_day_reset(attempt: StageAttempt, now: datetime | None = None) -> datetime:
    """When the stage's current trading day ends (its rules' time zone and reset time)."""
    rules = rules_for(attempt)
    calendar = Calendar(rules.zone, rules.reset_time)
    return calendar.end(calendar.day_of(now or timezone.now()))


def summary(attempt: StageAttempt, now: datetime | None = None) -> dict[str, Any]:
    """What a participant row and the API show of a stage: its figures (JSON-ready), the
    next day reset, and the explanation of its verdict."""
    return {
        "stage": attempt.stage + 1,
        "stage_name": attempt.participation.version.stages[attempt.stage]["name"],
        "kind": attempt.kind,
        "status": attempt.status,
        "login": attempt.login,
        "paused": attempt.paused,
        "figures": figures(attempt).to_dict(),
        "next_day_reset": next_day_reset(attempt, now).isoformat().replace("+00:00", "Z"),
        "explanation": attempt.explanation,
        "monitor_error": attempt.monitor_error,
    }
