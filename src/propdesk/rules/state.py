"""An evaluator's state as JSON-ready values, and back: the monitor persists it between events.

Only what events built is stored; floors and day ends are derived again from it on loading, so a
resumed evaluator is the one that was saved, to the cent and to the microsecond.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .days import period_last_day
from .model import FAILED, IN_PROGRESS, NEG_INF, PASSED, Outcome

if TYPE_CHECKING:
    from .evaluator import Evaluator

VERSION = 1
# The evaluator tests its status by identity; a loaded string must become the very constant.
_STATUSES = {IN_PROGRESS: IN_PROGRESS, PASSED: PASSED, FAILED: FAILED}


def dump_state(ev: Evaluator) -> dict[str, Any]:
    return {
        "version": VERSION,
        "rules": ev.rules.to_dict(),
        "events": ev._events,
        "last_t": _time(ev._last_t),
        "status": ev._status,
        "start_day": _day(ev._start_day),
        "day": _day(ev._day),
        "day_has_events": ev._day_has_events,
        "day_active": ev._day_active,
        "balance": str(ev._balance),
        "equity": str(ev._equity),
        "prev_balance": str(ev._prev_balance),
        "prev_equity": str(ev._prev_equity),
        "peak": str(ev._peak),
        "paused_at": _time(ev._paused_at),
        "positions": sorted(ev._positions, key=lambda p: (isinstance(p, str), p)),
        "active_days": ev._active_days,
        "inactive_streak": ev._inactive_streak,
        "last_active_day": _day(ev._last_active_day),
        "best_day": None if ev._best_day is None else str(ev._best_day),
        "outcomes": [
            {
                "at": o.at.isoformat(),
                "kind": o.kind,
                "rule": o.rule,
                "explanation": o.explanation,
            }
            for o in ev._outcomes
        ],
    }


def load_state(ev: Evaluator, state: dict[str, Any]) -> None:
    """Fill a fresh evaluator (built from the same rules) from `dump_state`'s output."""
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise ValueError("not an evaluator state (or one of another version)")
    if state.get("rules") != ev.rules.to_dict():
        raise ValueError("this state was saved under other rules")
    try:
        ev._events = int(state["events"])
        ev._last_t = _parse_time(state["last_t"])
        ev._status = _STATUSES[state["status"]]
        ev._start_day = _parse_day(state["start_day"])
        ev._balance = Decimal(state["balance"])
        ev._equity = Decimal(state["equity"])
        ev._prev_balance = Decimal(state["prev_balance"])
        ev._prev_equity = Decimal(state["prev_equity"])
        ev._peak = Decimal(state["peak"])
        ev._paused_at = _parse_time(state["paused_at"])
        ev._positions = set(state["positions"])
        ev._active_days = int(state["active_days"])
        ev._inactive_streak = int(state["inactive_streak"])
        ev._last_active_day = _parse_day(state["last_active_day"])
        best = state["best_day"]
        ev._best_day = None if best is None else Decimal(best)
        ev._outcomes = [
            Outcome(datetime.fromisoformat(o["at"]), o["kind"], o["rule"], o["explanation"])
            for o in state["outcomes"]
        ]
        if ev._start_day is not None:
            ev._last_day = period_last_day(ev._start_day, ev.rules.trading_period_days)
        ev._ml_floor = ev._max_loss_floor()
        day = _parse_day(state["day"])
        if day is not None:
            ev._enter_day(day)
            ev._day_has_events = bool(state["day_has_events"])
            ev._day_active = bool(state["day_active"])
        else:
            ev._dl_floor = NEG_INF
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"not an evaluator state: {exc!r}") from None


def _time(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _day(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _parse_day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
