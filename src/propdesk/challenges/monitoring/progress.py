"""Where a running stage stands: its evaluator rebuilt from the monitor's saved state, the live
figures the participant pages show (progress bars, floors, distances) and the next day reset.

Reading never changes anything: the monitor alone feeds evaluators and saves their state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext, ngettext

from propdesk.challenges.catalogue.definition import StageDefinition, StageKind
from propdesk.challenges.models import ChallengeVersion, StageAttempt
from propdesk.core.text import plural
from propdesk.rules.days import Calendar
from propdesk.rules.evaluator import Evaluator
from propdesk.rules.figures import Figures
from propdesk.rules.model import (
    INACTIVITY,
    MAX_DAILY_LOSS,
    MAX_LOSS,
    MAX_LOSS_PER_TRADE,
    MAX_OPEN_POSITIONS,
    MAX_OPEN_VOLUME,
    PASSED,
    PAUSED,
    TRADING_PERIOD,
    WEEKEND_HOLDING,
    Outcome,
    Rules,
    decimal_text,
)

MINUS = "\u2212"  # as people write a subtraction
NEVER = 10**9  # trading days: a live (funded) stage is watched for breaches, and never passes


def stage_of(attempt: StageAttempt) -> StageDefinition:
    """The attempt's stage, as its participation's version defines it."""
    version_id = getattr(attempt, "version_id", None)
    if version_id is not None:  # a monitor's row knows only its version's id (an annotation)
        version = ChallengeVersion.objects.only("definition").get(pk=version_id)
    else:
        version = attempt.participation.version
    return version.spec.stages[attempt.stage]


def rules_for(attempt: StageAttempt) -> Rules:
    """The stage's rules, as its participation's version has them (a live stage never passes)."""
    given = stage_of(attempt).rules
    if attempt.kind == StageKind.LIVE:
        given = given.model_copy(update={"min_trading_days": NEVER})
    return given.to_rules()


def evaluator_for(attempt: StageAttempt) -> Evaluator:
    rules = rules_for(attempt)
    if attempt.evaluator_state is None:
        return Evaluator(rules)
    return Evaluator.from_state(rules, attempt.evaluator_state)


UNREADABLE = (ValueError, KeyError, TypeError)  # a saved state the evaluator cannot take


def figures(attempt: StageAttempt) -> Figures | None:
    """The stage's figures as of the last event the monitor read (the initial balance before
    the first one); None when its saved state cannot be read (the monitor set the stage aside
    and says why in `monitor_error`)."""
    try:
        shown = evaluator_for(attempt).figures()
    except UNREADABLE:
        return None
    if attempt.kind == StageKind.LIVE:  # watched as never passing; people see its own minimum
        given = attempt.participation.version.spec.stages[attempt.stage].rules
        return replace(shown, min_trading_days=given.min_trading_days)
    return shown


def next_day_reset(attempt: StageAttempt, now: datetime | None = None) -> datetime:
    """When the stage's current trading day ends (its rules' time zone and reset time)."""
    rules = rules_for(attempt)
    calendar = Calendar(rules.zone, rules.reset_time)
    return calendar.end(calendar.day_of(now or timezone.now()))


def instant_text(at: datetime, zone: ZoneInfo) -> str:
    """An instant as its reader reads it: the date and time in their zone (the client's own in
    the portal, the challenge's for staff), which is named ("2026-12-04 21:30 CET
    (Europe/Prague)"), never a trading day's internal label (day 2026-12-03 of a 21:30 reset
    ends on the 4th)."""
    local = at.astimezone(zone)
    named = local.tzname()
    if named == zone.key:  # UTC: "2026-12-04 21:30 UTC", not "UTC (UTC)"
        return f"{local:%Y-%m-%d %H:%M} {named}"
    return f"{local:%Y-%m-%d %H:%M} {named} ({zone.key})"


def relative_text(at: datetime, now: datetime) -> str:
    """How far off an instant is, for people: "in 3 h 5 min", "in 12 min", "in 2 days 4 h"."""
    seconds = int((at - now).total_seconds())
    if seconds <= 0:
        return gettext("any moment now")
    return gettext("in %(duration)s") % {"duration": duration_text(seconds)}


def duration_text(seconds: int) -> str:
    """A duration for people, to the minute above: "3 h 5 min", "12 min", "2 days 4 h"."""
    minutes = -(-seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        counted = ngettext("%(days)s day", "%(days)s days", days) % {"days": days}
        return counted + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def outlook(
    attempt: StageAttempt, now: datetime | None = None, *, zone: ZoneInfo | None = None
) -> str:
    """Once a running stage's profit target is reached, what stands between it and the pass,
    and when the pass comes: "Target reached: this stage passes at the day's close,
    2026-12-04 21:30 CET (Europe/Prague), in 3 h." Empty while the target is not reached (or
    the stage has none, or is not running). The pass comes at a day's close, as the rules
    decide it: the closing balance at the target, no open position, the minimum trading days
    and the consistency rule met (docs/rules.md). Instants are written in `zone`, the
    reader's (the portal's client's), by default the challenge's."""
    if attempt.status != StageAttempt.Status.IN_PROGRESS or attempt.kind == StageKind.LIVE:
        return ""
    f = figures(attempt)
    if f is None or f.target_balance is None or f.balance < f.target_balance:
        return ""
    now = now or timezone.now()
    rules = rules_for(attempt)
    calendar = Calendar(rules.zone, rules.reset_time)
    shown_in = zone or rules.zone
    # The close of the day the figures are in: already past when the monitor has still to
    # close it (the pass then comes at its next look, dated at that close).
    close = f.day_end if f.day is not None and f.day_end is not None else None
    if close is None:
        close = next_day_reset(attempt, now)
    when = f"{instant_text(close, shown_in)}, {relative_text(close, now)}"
    if f.open_positions:
        return gettext(
            "Target reached on your closed balance: close your open positions (%(count)s) "
            "before the day's close, %(when)s, for the stage to pass then."
        ) % {"count": f.open_positions, "when": when}
    short = f.min_trading_days - f.trading_days
    if short > 0:
        return ngettext(
            "Target reached: %(short)s more trading day needed (at least %(least)s); the stage "
            "passes at the close of the day you reach them, if the target still holds.",
            "Target reached: %(short)s more trading days needed (at least %(least)s); the stage "
            "passes at the close of the day you reach them, if the target still holds.",
            short,
        ) % {"short": short, "least": f.min_trading_days}
    if f.best_day_max_pct is not None and (
        f.best_day_ratio_pct is None or f.best_day_ratio_pct > f.best_day_max_pct
    ):
        return gettext(
            "Target reached, but your best day is %(ratio)s%% of your profit (at most %(most)s "
            "allowed): keep trading for the stage to pass."
        ) % {"ratio": f.best_day_ratio_pct or 0, "most": _pct(str(f.best_day_max_pct))}
    last_day, day = f.period_last_day, f.day
    if (
        not rules.upgrade_immediately
        and last_day is not None
        and day is not None
        and last_day > day
    ):
        last = calendar.end(last_day)
        return gettext(
            "Target reached: this stage passes at the close of its trading period's last day, "
            "%(last)s, %(relative)s, if the objectives still hold."
        ) % {"last": instant_text(last, shown_in), "relative": relative_text(last, now)}
    return gettext("Target reached: this stage passes at the day's close, %(when)s.") % {
        "when": when
    }


def headline(attempt: StageAttempt, *, zone: ZoneInfo | None = None) -> str:
    """The stage's verdict (or pause) in one sentence for people, the figures that decided it
    written out: "Equity 94,870.20 at 2026-03-02 14:02:11 (Europe/Prague) fell below the daily
    floor 95,000.00 = yesterday's closing balance 100,000.00 - 5% of 100,000.00" (with a true
    minus sign). Empty while nothing has happened; a staff decision reads as its explanation,
    and so does a stage whose saved state cannot be read. Instants are written in `zone`, the
    reader's (the portal's client's), by default the challenge's."""
    if attempt.evaluator_state is None or not attempt.evaluator_state.get("outcomes"):
        return attempt.explanation if attempt.status != StageAttempt.Status.FAILED else ""
    rules = rules_for(attempt)
    try:
        outcome = Evaluator.from_state(rules, attempt.evaluator_state).outcomes[-1]
    except UNREADABLE:
        return attempt.explanation
    if attempt.status == StageAttempt.Status.IN_PROGRESS and outcome.kind != PAUSED:
        return ""
    if attempt.status in (StageAttempt.Status.PASSED, StageAttempt.Status.CANCELLED) and (
        outcome.kind != PASSED
    ):
        return attempt.explanation  # advanced or cancelled by staff: said for the trader
    return _sentence(outcome, zone or rules.zone)


def deciding_outcome(attempt: StageAttempt) -> Outcome | None:
    """The rules' outcome `headline` words, when the rules (not staff) failed, paused or passed
    the stage: what the portal says in the client's language; None otherwise."""
    if attempt.evaluator_state is None or not attempt.evaluator_state.get("outcomes"):
        return None
    try:
        outcome = Evaluator.from_state(rules_for(attempt), attempt.evaluator_state).outcomes[-1]
    except UNREADABLE:
        return None
    decided: str | None = {
        str(StageAttempt.Status.IN_PROGRESS): PAUSED,
        str(StageAttempt.Status.FAILED): outcome.kind,
        str(StageAttempt.Status.PASSED): PASSED,
        str(StageAttempt.Status.CANCELLED): PASSED,
    }.get(attempt.status)
    return outcome if outcome.kind == decided else None


def _sentence(outcome: Outcome, zone: ZoneInfo) -> str:
    why = outcome.explanation
    at = outcome.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") + f" ({zone.key})"
    if outcome.kind == PASSED:
        return (
            f"Passed at the day's close, {instant_text(outcome.at, zone)}: every objective was met."
        )
    if outcome.rule == MAX_DAILY_LOSS:
        source = _BASIS_WORDS.get(why["basis"], why["basis"])
        text = (
            f"Equity {_money(why['snapshot']['equity'])} at {at} fell below the daily floor "
            f"{_money(why['floor'])} = {source} {_money(why['basis_value'])} "
            f"{MINUS} {_pct(why['pct'])} of {_money(why['of_value'])}"
        )
        if outcome.kind == PAUSED:
            return f"{text}: trading is paused until the day resets."
        return text + "."
    if outcome.rule == MAX_LOSS:
        peak = _PEAK_WORDS.get(why["mode"], "the peak")
        text = (
            f"Equity {_money(why['snapshot']['equity'])} at {at} fell below the maximum-loss "
            f"floor {_money(why['floor'])} = {peak} {_money(why['peak'])} {MINUS} "
            f"{_pct(why['pct'])} of the initial balance {_money(why['initial_balance'])}"
        )
        if not why["locked_at_initial"]:
            return text + "."
        if why.get("lock_offset"):
            return f"{text}, kept at the initial balance + {_money(why['lock_offset'])}."
        return text + ", kept at the initial balance."
    if outcome.rule == MAX_LOSS_PER_TRADE:
        return (
            f"A trade closed at {at} with {_money(why['deal']['profit'])}, beyond the "
            f"{_pct(why['pct'])} of {_money(why['initial_balance'])} = "
            f"{_money(why['allowed_loss'])} a single trade may lose."
        )
    if outcome.rule == TRADING_PERIOD:
        return (
            f"The trading period ended at the day's close, {instant_text(outcome.at, zone)}, "
            "with the objectives not met."
        )
    if outcome.rule == INACTIVITY:
        return (
            f"No position was opened for {plural(why.get('inactivity_days'), 'day')}, "
            f"up to the day's close, {instant_text(outcome.at, zone)}."
        )
    if outcome.rule == WEEKEND_HOLDING:
        return _weekend(why, outcome.at, zone)
    if outcome.rule in (MAX_OPEN_POSITIONS, MAX_OPEN_VOLUME):
        return _open_limit(outcome.rule, why, at)
    return f"{outcome.kind.title()} ({outcome.rule}) at {at}."


def _weekend(why: dict[str, Any], at: datetime, zone: ZoneInfo) -> str:
    """A weekend-holding failure for people: the cutoff, its rule and the positions open."""
    count = why["open_positions"]
    named = ", ".join(f"#{p}" for p in why["positions"])
    if count > len(why["positions"]):
        named += f" and {count - len(why['positions'])} more"
    volume = Decimal(why["open_volume"])
    held = f"{named}; {lots(volume)} lots" if volume else named
    return (
        f"The weekend cutoff came at {instant_text(at, zone)} with "
        f"{plural(count, 'position')} still open ({held}): every position must be closed by "
        f"{why['weekday'].title()} {why['time']} ({why['timezone']}) each week."
    )


def _open_limit(rule: str, why: dict[str, Any], at_text: str) -> str:
    """A failure on opening one position too many, or too many lots."""
    deal = why["deal"]
    if rule == MAX_OPEN_POSITIONS:
        return (
            f"Opening position #{deal['position']} at {at_text} made "
            f"{why['open_positions']} positions open at once, more than the "
            f"{why['max_open_positions']} allowed."
        )
    size = f", {lots(deal['volume'])} lots" if deal.get("volume") else ""
    return (
        f"Opening position #{deal['position']}{size} at {at_text} made "
        f"{lots(why['open_volume'])} lots open at once, more than the "
        f"{lots(why['max_open_volume'])} allowed."
    )


def lots(volume: Decimal | str) -> str:
    """A volume in lots as traders write it: 1.5, 10.00."""
    return decimal_text(Decimal(volume))


_BASIS_WORDS = {
    "prev_day_balance": "yesterday's closing balance",
    "prev_day_equity": "yesterday's closing equity",
    "prev_day_max_balance_equity": "the larger of yesterday's closing balance and equity",
    "initial_balance": "the initial balance",
    "day_peak_equity": "the day's highest equity",
}
_PEAK_WORDS = {
    "static": "the initial balance",
    "trailing_intraday": "the highest equity so far",
    "trailing_eod": "the highest closing balance so far",
}


def _money(text: str) -> str:
    return f"{Decimal(text):,.2f}"


def _pct(text: str) -> str:
    return f"{Decimal(text).normalize():f}%"


def summary(attempt: StageAttempt, now: datetime | None = None) -> dict[str, Any]:
    """What a participant row and the API show of a stage: its figures (JSON-ready), the
    next day reset, and the explanation of its verdict."""
    shown = figures(attempt)
    return {
        "stage": attempt.stage + 1,
        "stage_name": attempt.participation.version.spec.stages[attempt.stage].name,
        "kind": attempt.kind,
        "status": attempt.status,
        "login": attempt.login,
        "paused": attempt.paused,
        "figures": None if shown is None else shown.to_dict(),
        "next_day_reset": next_day_reset(attempt, now).isoformat().replace("+00:00", "Z"),
        "headline": headline(attempt),
        "explanation": attempt.explanation,
        "monitor_error": attempt.monitor_error,
    }
