"""What the monitor decided, in its log (`propdesk.monitor`, docs/logging.md): a stage breached
(the rule and the figures it fell on), passed, paused or resumed; a stage set aside after a
fault; a feed taken up, given back or lost to another monitor process; the days closed.

A stage's verdict is logged once the transaction that keeps it commits: a verdict rolled back
(the stage set aside instead, or staff ending it meanwhile) never shows as taken."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from propdesk.challenges.models import StageAttempt
from propdesk.rules.model import Outcome

logger = logging.getLogger("propdesk.monitor")

_WORDS = {"failed": "breached", "passed": "passed", "paused": "paused", "resumed": "resumed"}
# Names a log record keeps for itself: a figure by such a name would be refused.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def stage_fields(attempt: StageAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.pk,
        "participation": attempt.participation_id,
        "stage": attempt.stage,
        "server": attempt.server_id,
        "login": attempt.login,
    }


def figures(explanation: dict[str, Any]) -> dict[str, Any]:
    """The figures a rule acted on, flat: the snapshot's equity and balance, the floor, the
    allowed loss, its basis... (what the stage's explanation holds)."""
    flat: dict[str, Any] = {}
    snapshot = explanation.get("snapshot")
    if isinstance(snapshot, dict):
        flat.update({k: snapshot[k] for k in ("equity", "balance") if k in snapshot})
    for key, value in explanation.items():
        if isinstance(value, str | int | float | bool) and key not in _RESERVED:
            flat.setdefault(key, value)
    return flat


def acted(attempt: StageAttempt, outcomes: list[Outcome]) -> None:
    """The stage's rules acted (`monitor._conclude`): one line an outcome, after the commit."""
    lines = []
    for outcome in outcomes:
        word = _WORDS.get(outcome.kind, outcome.kind)
        fields = {
            **stage_fields(attempt),
            "outcome": outcome.kind,
            "rule": outcome.rule or "-",
            "at": outcome.at.isoformat(),
            **{k: v for k, v in figures(outcome.explanation).items() if k not in ("at", "rule")},
        }
        level = logging.WARNING if outcome.kind in ("failed", "paused") else logging.INFO
        lines.append((level, f"stage {word}", fields))

    def write() -> None:
        for level, message, fields in lines:
            logger.log(level, message, extra=fields)

    if lines:
        transaction.on_commit(write)


def set_aside(attempt: StageAttempt, exc: BaseException) -> None:
    logger.error(
        "stage set aside: %s",
        exc,
        exc_info=exc,
        extra={**stage_fields(attempt), "error": type(exc).__name__},
    )


def feeds_changed(owner: str, taken: list[str], dropped: list[str]) -> None:
    """`runner.Monitor.share`: the feeds this process took up (a newcomer's share, or a dead
    process's, taken over) and gave up (gave back to a newcomer, or lost to another process)."""
    for key in taken:
        logger.info("feed taken up", extra={"feed": key, "owner": owner})
    for key in dropped:
        logger.info("feed given up", extra={"feed": key, "owner": owner})


def lease_lost(key: str, owner: str, exc: BaseException) -> None:
    logger.warning("feed lost: %s", exc, extra={"feed": key, "owner": owner})


def days_closed(key: str, moment: datetime, acted: int) -> None:
    """A feed's due days closed (or weekend cutoffs passed) up to `moment`, with `acted`
    verdicts and pauses (each logged on its own line too)."""
    logger.info("days closed", extra={"feed": key, "until": moment.isoformat(), "outcomes": acted})
