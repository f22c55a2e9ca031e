"""Loss alerts on a running stage (docs/notifications.md): whether an equity snapshot took
the daily loss or the maximum loss used to the firm's threshold, once per crossing.

A `LossWatch` rides along with one stage's `Evaluator` and is asked after each snapshot the
evaluator took without a verdict or a pause (`look`). Like the evaluator's floors, the equity at
which a threshold is reached is computed only when the floor it is measured from moves (a new
day, a new peak, money moved by the firm); a snapshot costs one or two comparisons.

- Daily loss: fires when the equity reaches the level at which `daily_pct` of the day's
  allowed loss is used, once per trading day; the next day re-arms it.
- Maximum loss: fires when `max_pct` of the allowed loss is used, and re-arms only once the
  usage is back to `HYSTERESIS` points below the threshold (or less): an equity going up and
  down around the threshold alerts once.

The watch's own state (`state()`, `from_state`) is small JSON kept by the monitor.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from .model import NEG_INF, ZERO, add, sub

if TYPE_CHECKING:
    from .evaluator import Evaluator

HYSTERESIS = Decimal(5)  # points of usage below the threshold that re-arm the max-loss alert
DAILY = "daily_loss"
MAX = "max_loss"
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def _level(floor: Decimal, allowed: Decimal, pct: Decimal) -> Decimal:
    """The equity at which `pct` of the allowed loss above `floor` is used."""
    if floor == NEG_INF or allowed <= ZERO:
        return NEG_INF
    return add(floor, allowed * (_HUNDRED - pct) / _HUNDRED)


class LossWatch:
    """The daily-loss and max-loss alerts of one stage (either threshold None: off)."""

    __slots__ = (
        "_dl_allowed",
        "_dl_floor",
        "_dl_level",
        "_ml_floor",
        "_ml_level",
        "_ml_rearm",
        "daily_day",
        "daily_pct",
        "max_fired",
        "max_pct",
    )

    def __init__(self, daily_pct: Decimal | None, max_pct: Decimal | None) -> None:
        self.daily_pct = daily_pct
        self.max_pct = max_pct
        self.daily_day: date | None = None  # the trading day its daily alert fired on
        self.max_fired = False  # the max-loss alert fired and is not re-armed yet
        self._dl_floor: Decimal | None = None  # the floors the levels were computed from
        self._ml_floor: Decimal | None = None
        self._dl_level = self._ml_level = self._ml_rearm = NEG_INF
        self._dl_allowed = ZERO

    def look(self, ev: Evaluator) -> tuple[list[dict[str, Any]], bool]:
        """After a snapshot the evaluator took in progress: the alerts it fires (each with its
        figures) and whether the watch's state changed (an alert or a re-arm). A paused stage
        (its daily loss breached, trading stopped to the day's end) is not looked at: the
        pause's notice says more, and the next day looks again."""
        fired: list[dict[str, Any]] = []
        changed = False
        if ev._paused_at is not None:
            return fired, changed
        equity = ev._equity
        if self.daily_pct is not None:
            floor = ev._dl_floor
            if floor is not self._dl_floor:
                self._dl_floor = floor
                self._dl_allowed = ZERO if floor == NEG_INF else ev._daily_basis()[1]
                self._dl_level = _level(floor, self._dl_allowed, self.daily_pct)
            if equity <= self._dl_level and self.daily_day != ev._day:
                self.daily_day = ev._day
                fired.append(
                    {
                        **_figures(DAILY, self.daily_pct, equity, floor, self._dl_allowed),
                        "day": ev._day,
                    }
                )
                changed = True
        if self.max_pct is not None:
            floor = ev._ml_floor
            if floor is not self._ml_floor:
                self._ml_floor = floor
                allowed = ev._ml_allowed
                self._ml_level = _level(floor, allowed, self.max_pct)
                self._ml_rearm = _level(floor, allowed, max(self.max_pct - HYSTERESIS, ZERO))
            if self.max_fired:
                if equity >= self._ml_rearm and self._ml_rearm != NEG_INF:
                    self.max_fired = False
                    changed = True
            elif equity <= self._ml_level:
                self.max_fired = True
                fired.append(_figures(MAX, self.max_pct, equity, floor, ev._ml_allowed))
                changed = True
        return fired, changed

    def state(self) -> dict[str, Any]:
        return {
            "daily_day": None if self.daily_day is None else self.daily_day.isoformat(),
            "max_fired": self.max_fired,
        }

    def restore(self, state: dict[str, Any] | None) -> None:
        """Take up a saved `state()` (None or unreadable: armed)."""
        state = state or {}
        try:
            day = state.get("daily_day")
            self.daily_day = date.fromisoformat(day) if day else None
        except (TypeError, ValueError):
            self.daily_day = None
        self.max_fired = bool(state.get("max_fired"))


def _figures(
    kind: str, pct: Decimal, equity: Decimal, floor: Decimal, allowed: Decimal
) -> dict[str, Any]:
    """What an alert tells: the usage, the loss so far against the allowed loss, the floor
    (exact; the monitor writes them in the account's currency). The usage is rounded down: it
    never says a share that is not reached yet (79.996% used reads 79.99, not 80.00)."""
    loss = max(sub(allowed, sub(equity, floor)), ZERO)
    if allowed > ZERO:
        used = min(loss * _HUNDRED / allowed, _HUNDRED).quantize(_CENT, rounding=ROUND_DOWN)
    else:
        used = _HUNDRED
    return {
        "kind": kind,
        "threshold": pct,
        "used": used,
        "loss": loss,
        "limit": allowed,
        "floor": floor,
    }
