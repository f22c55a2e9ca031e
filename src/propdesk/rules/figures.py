"""The live figures of one stage attempt, as the participant pages show them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import TYPE_CHECKING, Any

from .model import IN_PROGRESS, NEG_INF, ZERO, add, format_time, sub

if TYPE_CHECKING:
    from .evaluator import Evaluator

# Ratios are for people to read, not for rules to compare: two decimals, rounded half-even.
_DISPLAY = Context(prec=60, rounding=ROUND_HALF_EVEN)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Figures:
    """Where the account stands against each rule. Exact figures, except the two ratios.

    Distances are `equity - floor`: positive is room left, negative a breach; `*_used_pct` is
    how much of the allowed loss is used (`100 - distance / allowed`, 0 to 100). The best-day
    figures count the current day's profit so far, which the next closing will count too.
    Balance and equity include money the firm moved since the last snapshot (`moved` is all
    of it); profit is trading profit (without `moved`).
    """

    status: str
    rule: str | None
    as_of: datetime | None
    day: date | None
    day_end: datetime | None
    paused: bool
    balance: Decimal
    equity: Decimal
    daily_loss_floor: Decimal | None
    daily_loss_distance: Decimal | None
    daily_loss_allowed: Decimal | None
    daily_loss_used_pct: Decimal | None
    max_loss_floor: Decimal | None
    max_loss_distance: Decimal | None
    max_loss_allowed: Decimal | None
    max_loss_used_pct: Decimal | None
    profit: Decimal
    target_balance: Decimal | None
    target_progress_pct: Decimal | None
    trading_days: int
    min_trading_days: int
    best_day_profit: Decimal | None
    best_day_ratio_pct: Decimal | None
    best_day_max_pct: Decimal | None
    period_last_day: date | None
    days_left: int | None
    open_positions: int
    trading_day_counts: str
    trading_day_min_profit_pct: Decimal | None
    open_volume: Decimal
    max_open_positions: int | None
    max_open_volume: Decimal | None
    weekend_cutoff: datetime | None
    moved: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: decimals as strings, days as `YYYY-MM-DD`, instants as UTC `...Z`."""
        out: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, datetime):
                value = format_time(value)
            elif isinstance(value, date):
                value = value.isoformat()
            out[spec.name] = value
        return out


def _ratio_pct(part: Decimal, whole: Decimal) -> Decimal:
    return _DISPLAY.divide(part * 100, whole).quantize(_CENT, context=_DISPLAY)


def _used_pct(equity: Decimal, floor: Decimal | None, allowed: Decimal | None) -> Decimal | None:
    """How much of an allowed loss is used, 0 to 100 (a bar's length)."""
    if floor is None or allowed is None or allowed <= ZERO:
        return None
    used = _ratio_pct(sub(allowed, sub(equity, floor)), allowed)
    return min(max(used, ZERO.quantize(_CENT)), Decimal(100).quantize(_CENT))


def compute_figures(ev: Evaluator) -> Figures:
    rules = ev.rules
    initial = rules.initial_balance
    started = ev._day is not None
    balance, equity = add(ev._balance, ev._pending), add(ev._equity, ev._pending)

    daily_floor = daily_allowed = None
    if rules.max_daily_loss is not None and started:
        daily_floor = ev._daily_floor()
        daily_allowed = ev._daily_basis()[1]
    max_floor = max_allowed = None
    if ev._ml_floor != NEG_INF:
        max_floor, max_allowed = ev._ml_floor, ev._ml_allowed

    profit = sub(sub(balance, initial), ev._moved)
    progress = None
    if ev._target is not None:
        progress = _ratio_pct(profit, sub(ev._target, initial))

    best = ev._best_day
    if started and ev._status == IN_PROGRESS:
        today = sub(balance, ev._prev_balance)
        best = today if best is None or today > best else best
    ratio = None
    if best is not None and profit > ZERO:
        ratio = _ratio_pct(best, profit)

    days_left = None
    if ev._last_day is not None and ev._day is not None:
        days_left = max(0, (ev._last_day - ev._day).days + 1)

    final = ev._outcomes[-1] if ev._status != IN_PROGRESS else None
    return Figures(
        status=ev._status,
        rule=final.rule if final is not None else None,
        as_of=ev._last_t,
        day=ev._day,
        day_end=ev._day_end,
        paused=ev._paused_at is not None,
        balance=balance,
        equity=equity,
        daily_loss_floor=daily_floor,
        daily_loss_distance=None if daily_floor is None else sub(equity, daily_floor),
        daily_loss_allowed=daily_allowed,
        daily_loss_used_pct=_used_pct(equity, daily_floor, daily_allowed),
        max_loss_floor=max_floor,
        max_loss_distance=None if max_floor is None else sub(equity, max_floor),
        max_loss_allowed=max_allowed,
        max_loss_used_pct=_used_pct(equity, max_floor, max_allowed),
        profit=profit,
        target_balance=None if ev._target is None else add(ev._target, ev._moved),
        target_progress_pct=progress,
        trading_days=ev._trading_days,
        min_trading_days=rules.min_trading_days,
        best_day_profit=best,
        best_day_ratio_pct=ratio,
        best_day_max_pct=rules.best_day_max_pct,
        period_last_day=ev._last_day,
        days_left=days_left,
        open_positions=len(ev._positions),
        trading_day_counts=rules.trading_day.counts,
        trading_day_min_profit_pct=rules.trading_day.min_profit_pct,
        open_volume=ev._open_volume,
        max_open_positions=rules.max_open_positions,
        max_open_volume=rules.max_open_volume,
        weekend_cutoff=ev.weekend_cutoff,
        moved=ev._moved,
    )
