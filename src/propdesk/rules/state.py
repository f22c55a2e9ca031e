"""An evaluator's state as JSON-ready values, and back: the monitor persists it between events.

Only what events built is stored; floors and day ends are derived again from it on loading, so a
resumed evaluator is the one that was saved, to the cent and to the microsecond.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .days import END_OF_TIME, period_last_day
from .model import FAILED, IN_PROGRESS, NEG_INF, PASSED, ZERO, Outcome, position_order

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
        "positions": sorted(ev._positions, key=position_order),
        "active_days": ev._active_days,
        "inactive_streak": ev._inactive_streak,
        "last_active_day": _day(ev._last_active_day),
        "best_day": None if ev._best_day is None else str(ev._best_day),
        **_v2_state(ev),
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


def _v2_state(ev: Evaluator) -> dict[str, Any]:
    """What version 2 of the rules added; a state saved before it has none of these keys and
    loads with their defaults (and its trading days counted as its active days, as then)."""
    volumes = [[p, str(v)] for p, v in ev._positions.items() if v is not None]
    return {
        "trading_days": ev._trading_days,
        "day_traded": ev._day_traded,
        "counted": ev._counted,
        "opened_today": sorted(ev._opened_today, key=position_order),
        "volumes": sorted(volumes, key=lambda pv: position_order(pv[0])),
        "open_volume": str(ev._open_volume),
        "day_peak": str(ev._day_peak),
        "moved": str(ev._moved),
        "pending": str(ev._pending),
        "moves": ev._moves,
        "cutoff": _time(None if ev._cutoff == END_OF_TIME else ev._cutoff),
        "cut_done": _time(ev._cut_done),
    }


def _load_v2(ev: Evaluator, state: dict[str, Any]) -> None:
    for position, volume in state.get("volumes", []):
        ev._positions[position] = Decimal(volume)
    summed = sum((v for v in ev._positions.values() if v is not None), ZERO)
    # The running sum as it was (its digits too: 0.5 + 0.5 + 1 reads 2.0 in explanations).
    ev._open_volume = Decimal(state.get("open_volume", summed))
    ev._trading_days = int(state.get("trading_days", ev._active_days))
    ev._counted = [list(entry) for entry in state.get("counted", [])]
    ev._moved = Decimal(state.get("moved", "0"))
    ev._pending = Decimal(state.get("pending", "0"))
    ev._moves = list(state.get("moves", []))
    cutoff = _parse_time(state.get("cutoff"))
    if ev._start_day is not None and ev.rules.weekend_close is not None:
        ev._cutoff = cutoff if cutoff is not None else ev._next_cutoff(ev._last_t or END_OF_TIME)
    ev._cut_done = _parse_time(state.get("cut_done"))


def _load_v2_day(ev: Evaluator, state: dict[str, Any]) -> None:
    """The current day's version-2 fields, after `_enter_day` has reset them."""
    if "day_peak" in state:
        ev._day_peak = Decimal(state["day_peak"])
    ev._day_traded = bool(state.get("day_traded", ev._day_active))
    ev._opened_today = set(state.get("opened_today", []))
    ev._set_live()
    ev._dl_floor = NEG_INF if ev._paused_at is not None else ev._daily_floor()


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
        ev._positions = dict.fromkeys(state["positions"])
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
        _load_v2(ev, state)
        ev._ml_floor = ev._max_loss_floor()
        day = _parse_day(state["day"])
        if day is not None:
            ev._enter_day(day)
            ev._day_has_events = bool(state["day_has_events"])
            ev._day_active = bool(state["day_active"])
            _load_v2_day(ev, state)
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
