"""Closing days and weekend cutoffs, in time order (docs/rules.md, sections 3 to 6).

The evaluator hands this module the work that happens between events: every day end and every
weekend cutoff at or before an instant, earliest first (a day end before a cutoff at the same
instant), until one gives a verdict. The functions read and write the evaluator's own fields, as
`figures` and `state` do.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .days import END_OF_TIME, ONE_DAY
from .model import (
    FAILED,
    IN_PROGRESS,
    INACTIVITY,
    MAX_DAILY_LOSS,
    PASSED,
    RESUMED,
    TRADING_PERIOD,
    UTC,
    WEEKEND_HOLDING,
    ZERO,
    Outcome,
    add,
    format_time,
    pct_of,
    position_order,
    sub,
)

if TYPE_CHECKING:
    from .evaluator import Evaluator

ONE_WEEK = timedelta(days=7)
# At most this many open positions are named in an explanation (the count is always given).
NAMED_POSITIONS = 20


def cutoff_after(zone: ZoneInfo, weekday: int, at: time, t: datetime) -> datetime:
    """The first weekend cutoff strictly after `t`: the instant whose wall time in `zone` is
    `weekday` at `at`, resolved with fold=0 as a day's end is (in UTC)."""
    local_day = t.astimezone(zone).date()
    day = local_day + timedelta(days=(weekday - local_day.weekday()) % 7)
    while True:
        if day.toordinal() >= date.max.toordinal() - 7:
            return END_OF_TIME
        cut = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if cut > t:
            return cut
        day += ONE_WEEK


def close_through(ev: Evaluator, t: datetime) -> list[Outcome]:
    """Process, oldest first, every day end and cutoff at or before `t`, stopping at a
    verdict."""
    outcomes: list[Outcome] = []
    while ev._status is IN_PROGRESS:
        if ev._day_end <= ev._cutoff:
            if t < ev._day_end:
                break
            quiet = not ev._day_has_events and ev._paused_at is None
            if quiet and ev.skip_quiet_days and skip_quiet_days(ev, t):
                continue
            close_day(ev, outcomes)
        else:
            if t < ev._cutoff:
                break
            at_cutoff(ev, outcomes)
    return outcomes


def at_cutoff(ev: Evaluator, outcomes: list[Outcome]) -> None:
    """A weekend cutoff: any open position fails the stage at that instant."""
    cut = ev._cutoff
    if ev._positions:
        rule = ev.rules.weekend_close
        assert rule is not None
        named = sorted(ev._positions, key=position_order)[:NAMED_POSITIONS]
        why = {
            "cutoff": format_time(cut),
            "weekday": rule.day,
            "time": rule.time,
            "timezone": ev.rules.timezone,
            "open_positions": len(ev._positions),
            "positions": named,
            "open_volume": str(ev._open_volume),
        }
        verdict = Outcome(cut, FAILED, WEEKEND_HOLDING, why)
        outcomes.append(verdict)
        ev._conclude((), verdict)
        return
    ev._cut_done = cut
    ev._cutoff = ev._next_cutoff(cut)
    ev._set_live()


def closing_values(ev: Evaluator) -> tuple[Any, Any]:
    """The balance and equity a day closes with: the last snapshot, plus the money moved since
    it (a payout not yet followed by a snapshot is not mistaken for profit or loss)."""
    return add(ev._balance, ev._pending), add(ev._equity, ev._pending)


def close_day(ev: Evaluator, outcomes: list[Outcome]) -> None:
    day = ev._day
    assert day is not None
    end = ev._day_end
    rules = ev.rules
    closing, closing_equity = closing_values(ev)
    profit = sub(closing, ev._prev_balance)
    if ev._best_day is None or profit > ev._best_day:
        ev._best_day = profit
    least = rules.trading_day.min_profit_pct
    if least is not None and ev._day_traded and profit >= pct_of(least, rules.initial_balance):
        ev._count_trading_day(profit)
    ev._inactive_streak = 0 if ev._day_active else ev._inactive_streak + 1
    max_loss = rules.max_loss
    if max_loss is not None and max_loss.mode == "trailing_eod" and closing > ev._peak:
        ev._peak = closing
        ev._ml_floor = ev._max_loss_floor()
    last = day == ev._last_day
    verdict = None
    if objectives_hold(ev) and (rules.upgrade_immediately or last):
        verdict = Outcome(end, PASSED, None, day_figures(ev, day, end))
    elif last:
        why = {**day_figures(ev, day, end), "last_day": day.isoformat()}
        verdict = Outcome(end, FAILED, TRADING_PERIOD, why)
    elif rules.inactivity_days is not None and ev._inactive_streak >= rules.inactivity_days:
        limit = rules.inactivity_days
        why = {
            **day_figures(ev, day, end),
            "inactivity_days": limit,
            "inactive_since": (day - (limit - 1) * ONE_DAY).isoformat(),
            "last_active_day": _iso(ev._last_active_day),
        }
        verdict = Outcome(end, FAILED, INACTIVITY, why)
    if verdict is not None:
        outcomes.append(verdict)
        ev._conclude((), verdict)
        return
    ev._prev_balance = closing
    ev._prev_equity = closing_equity
    if ev._paused_at is not None:
        why = {
            "day": day.isoformat(),
            "day_end": format_time(end),
            "paused_at": format_time(ev._paused_at),
        }
        ev._paused_at = None
        outcomes.append(Outcome(end, RESUMED, MAX_DAILY_LOSS, why))
        ev._outcomes.append(outcomes[-1])
    ev._enter_day(day + ONE_DAY)


def skip_quiet_days(ev: Evaluator, t: datetime) -> bool:
    """Close at once the days without events that would each close with no outcome; False if
    none can be skipped (the current day then closes as usual).

    A day without events closes with its predecessor's closing values, so each such closing sees
    the same objectives; only the period's last day, the day inactivity is reached, or a weekend
    cutoff while positions are open can differ.
    """
    day = ev._day
    assert day is not None
    count = 0
    if not (ev.rules.upgrade_immediately and objectives_hold(ev)):
        count = (ev._cal.day_of(t) - day).days
        if ev._last_day is not None:
            count = min(count, (ev._last_day - day).days)
        limit = ev.rules.inactivity_days
        if limit is not None:
            count = min(count, limit - ev._inactive_streak - 1)
        if ev._positions and ev._cutoff != END_OF_TIME:
            count = min(count, (ev._cal.day_of(ev._cutoff) - day).days)
    if count < 1:
        return False
    ev._inactive_streak += count
    quiet_profit = sub(closing_values(ev)[0], ev._prev_balance)  # zero, in the account's digits
    if ev._best_day is None or quiet_profit > ev._best_day:
        ev._best_day = quiet_profit
    ev._enter_day(day + count * ONE_DAY)
    return True


def objectives_hold(ev: Evaluator) -> bool:
    rules = ev.rules
    if ev._positions:
        return False
    closing = closing_values(ev)[0]
    if ev._target is not None and sub(closing, ev._moved) < ev._target:
        return False
    if ev._trading_days < rules.min_trading_days:
        return False
    if rules.best_day_max_pct is not None:
        total = sub(sub(closing, rules.initial_balance), ev._moved)
        if not total > ZERO:
            return False
        best = ev._best_day
        if best is None or best > pct_of(rules.best_day_max_pct, total):
            return False
    return True


def day_figures(ev: Evaluator, day: date, end: datetime) -> dict[str, Any]:
    """The closing and the objectives as they stood, for a day-end verdict."""
    rules = ev.rules
    closing, closing_equity = closing_values(ev)
    total = sub(sub(closing, rules.initial_balance), ev._moved)
    consistency: dict[str, Any] | None = None
    if rules.best_day_max_pct is not None:
        limit = pct_of(rules.best_day_max_pct, total)
        consistency = {
            "best_day_max_pct": str(rules.best_day_max_pct),
            "best_day_profit": None if ev._best_day is None else str(ev._best_day),
            "total_profit": str(total),
            "limit": str(limit),
            "met": total > ZERO and ev._best_day is not None and ev._best_day <= limit,
        }
    objectives: dict[str, Any] = {
        "hold": objectives_hold(ev),
        "open_positions": len(ev._positions),
        # The target as a balance: where trading profit reaches it, with the money moved.
        "target_balance": None if ev._target is None else str(add(ev._target, ev._moved)),
        "target_met": None if ev._target is None else sub(closing, ev._moved) >= ev._target,
        "trading_days": ev._trading_days,
        "min_trading_days": rules.min_trading_days,
        "consistency": consistency,
    }
    figures: dict[str, Any] = {
        "day": day.isoformat(),
        "day_end": format_time(end),
        "closing_balance": str(closing),
        "closing_equity": str(closing_equity),
        "objectives": objectives,
    }
    if ev._moved:
        figures["moved"] = str(ev._moved)
    if rules.trading_day.counts != "opened" or rules.trading_day.min_profit_pct is not None:
        objectives["trading_day"] = trading_day_figures(ev)
    return figures


def trading_day_figures(ev: Evaluator) -> dict[str, Any]:
    """Which days counted as trading days, and the rule they were counted by."""
    rule = ev.rules.trading_day
    least = rule.min_profit_pct
    return {
        "counts": rule.counts,
        "min_profit_pct": None if least is None else str(least),
        "min_profit": None if least is None else str(pct_of(least, ev.rules.initial_balance)),
        "counted": list(ev._counted),
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
