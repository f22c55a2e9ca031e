"""The figures an outcome or a balance event records: every number that went into it, for
`explain` to word (the evaluator calls these with itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import NEG_INF, Deal, add, format_time, sub

if TYPE_CHECKING:
    from .evaluator import Evaluator


def references(ev: Evaluator) -> dict[str, str | None]:
    """What the rules measure from, as a balance event finds and leaves them."""
    target = None if ev._target is None else add(ev._target, ev._moved)
    return {
        "moved": str(ev._moved),
        "prev_day_balance": str(ev._prev_balance),
        "prev_day_equity": str(ev._prev_equity),
        "day_peak_equity": str(ev._day_peak),
        "peak": str(ev._peak) if ev._ml_trailing else None,
        "max_loss_floor": None if ev._ml_floor == NEG_INF else str(ev._ml_floor),
        "daily_loss_floor": None if ev._dl_floor == NEG_INF else str(ev._dl_floor),
        "target_balance": None if target is None else str(target),
    }


def open_figures(ev: Evaluator, deal: Deal) -> dict[str, Any]:
    return {
        "event": ev._events,
        "deal": {
            "t": format_time(deal.t),
            "position": deal.position,
            "volume": None if deal.volume is None else str(deal.volume),
        },
        "open_positions": len(ev._positions),
        "open_volume": str(ev._open_volume),
    }


def max_loss_figures(ev: Evaluator) -> dict[str, Any]:
    max_loss = ev.rules.max_loss
    assert max_loss is not None
    unlocked = sub(ev._peak, ev._ml_allowed)
    figures = {
        "mode": max_loss.mode,
        "pct": str(max_loss.pct),
        "initial_balance": str(ev.rules.initial_balance),
        "peak": str(ev._peak),
        "allowed_loss": str(ev._ml_allowed),
        "floor": str(ev._ml_floor),
        "locked_at_initial": unlocked != ev._ml_floor,
    }
    if max_loss.lock_offset:
        figures["lock_offset"] = str(max_loss.lock_offset)
    if ev._moved:
        figures["moved"] = str(ev._moved)
    return figures


def daily_figures(ev: Evaluator) -> dict[str, Any]:
    rule = ev.rules.max_daily_loss
    assert rule is not None
    basis, allowed = ev._daily_basis()
    figures = {
        "day": None if ev._day is None else ev._day.isoformat(),
        "basis": rule.basis,
        "basis_value": str(basis),
        "prev_day_balance": str(ev._prev_balance),
        "prev_day_equity": str(ev._prev_equity),
        "of": rule.of,
        "of_value": str(ev.rules.initial_balance if rule.of == "initial" else basis),
        "pct": str(rule.pct),
        "allowed_loss": str(allowed),
        "floor": str(sub(basis, allowed)),
        "action": rule.action,
    }
    if ev._moved:
        figures["moved"] = str(ev._moved)
    return figures
