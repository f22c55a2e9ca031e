"""The rule evaluator: docs/rules.md, fed one event at a time.

One `Evaluator` follows one stage attempt. `feed(event)` returns what the event caused (day
closings come first, then the event's own checks); `close_until(t)` closes the days that end by
`t` when no event comes (the `--until` of a replay, the clock of the live monitor). `state()` and
`Evaluator.from_state()` persist and resume it exactly; `figures()` and `verdict()` read it.

The hot path is an equity snapshot inside the current day: a few comparisons against floors that
are computed only when they move (a new day, a new peak), never arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .days import ONE_DAY, START_OF_TIME, Calendar, period_last_day
from .errors import EventError, shown
from .figures import Figures, compute_figures
from .model import (
    FAILED,
    IN,
    IN_PROGRESS,
    INACTIVITY,
    MAX_DAILY_LOSS,
    MAX_LOSS,
    MAX_LOSS_PER_TRADE,
    NEG_INF,
    PASSED,
    PAUSED,
    RESUMED,
    TRADING_PERIOD,
    UTC,
    ZERO,
    Deal,
    Equity,
    Event,
    Outcome,
    Rules,
    add,
    format_time,
    pct_of,
    sub,
)
from .state import dump_state, load_state

_NOTHING: tuple[Outcome, ...] = ()


class Evaluator:
    """Evaluates one account's events against one stage's rules."""

    __slots__ = (
        "_active_days",
        "_balance",
        "_best_day",
        "_cal",
        "_day",
        "_day_active",
        "_day_end",
        "_day_has_events",
        "_day_start",
        "_dl_floor",
        "_equity",
        "_events",
        "_inactive_streak",
        "_last_active_day",
        "_last_day",
        "_last_t",
        "_live_end",
        "_ml_allowed",
        "_ml_floor",
        "_ml_intraday",
        "_outcomes",
        "_paused_at",
        "_peak",
        "_positions",
        "_prev_balance",
        "_prev_equity",
        "_start_day",
        "_status",
        "_target",
        "_trade_floor",
        "rules",
    )

    # Closing a run of days without events one by one repeats the same closing; skipping to the
    # first one that can differ gives the same result in constant time (tests turn it off to
    # prove that).
    skip_quiet_days = True

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._cal = Calendar(rules.zone, rules.reset_time)
        initial = rules.initial_balance
        max_loss = rules.max_loss
        self._ml_allowed = ZERO if max_loss is None else pct_of(max_loss.pct, initial)
        self._ml_intraday = max_loss is not None and max_loss.mode == "trailing_intraday"
        per_trade = rules.max_loss_per_trade_pct
        self._trade_floor = NEG_INF if per_trade is None else -pct_of(per_trade, initial)
        target = rules.profit_target_pct
        self._target = None if target is None else add(initial, pct_of(target, initial))
        self._last_day: date | None = None
        # The account, as of the last event.
        self._events = 0
        self._last_t: datetime | None = None
        self._status = IN_PROGRESS
        self._outcomes: list[Outcome] = []
        self._start_day: date | None = None
        self._day: date | None = None
        self._day_start = START_OF_TIME
        self._day_end = START_OF_TIME
        # The current day's end while the stage is in progress, else before any time: one
        # comparison tells the hot path that the snapshot needs nothing else.
        self._live_end = START_OF_TIME
        self._day_has_events = False
        self._day_active = False
        self._balance = self._equity = initial
        self._prev_balance = self._prev_equity = initial
        self._peak = initial
        self._paused_at: datetime | None = None
        self._positions: set[str | int] = set()
        self._active_days = 0
        self._inactive_streak = 0
        self._last_active_day: date | None = None
        self._best_day: Decimal | None = None
        self._ml_floor = self._max_loss_floor()
        self._dl_floor = NEG_INF

    # ------------------------------------------------------------------------------- feeding

    def feed(self, event: Event) -> Sequence[Outcome]:
        """Evaluate one event; returns the outcomes it caused, oldest first.

        Raises EventError, changing nothing, when the event cannot follow the events before it.
        Past a verdict events are still checked (and positions followed) but change nothing.
        """
        t = event.t
        last = self._last_t
        if last is None:
            self._begin(event)
        elif t < last:
            raise EventError(f"time goes backwards: {format_time(t)} is before {format_time(last)}")
        if t < self._live_end and isinstance(event, Equity):
            # The hot path, a snapshot inside the current day of a stage in progress: the same
            # as _on_equity, inlined because it is most of what a replay does.
            self._events += 1
            self._last_t = t
            self._day_has_events = True
            equity = event.equity
            self._balance = event.balance
            self._equity = equity
            if self._ml_intraday and equity > self._peak:
                self._peak = equity
                self._ml_floor = self._max_loss_floor()
            if equity < self._ml_floor or equity < self._dl_floor:
                return self._breach(event, _NOTHING)
            return _NOTHING
        return self._feed_other(event)

    def _feed_other(self, event: Event) -> Sequence[Outcome]:
        deal = None if isinstance(event, Equity) else event
        if deal is not None:
            self._check_deal(deal)
        t = event.t
        self._events += 1
        self._last_t = t
        if self._status is not IN_PROGRESS:
            if deal is not None:
                self._move_position(deal)
            return _NOTHING
        outcomes: list[Outcome] | tuple[Outcome, ...] = _NOTHING
        if t >= self._day_end:
            outcomes = self._close_through(t)
        if deal is not None:
            self._move_position(deal)
        if self._status is not IN_PROGRESS:
            return outcomes
        self._day_has_events = True
        if deal is None:
            assert isinstance(event, Equity)
            return self._on_equity(event, outcomes)
        return self._on_deal(deal, outcomes)

    def close_until(self, t: datetime) -> Sequence[Outcome]:
        """Close every day that ends at or before `t` (no event has come since the last one).

        `t` may not be earlier than the last event. Events fed afterwards may not fall in a day
        this closed.
        """
        if self._last_t is None:
            return _NOTHING
        if t < self._last_t:
            raise EventError(
                f"{format_time(t)} is before the last event ({format_time(self._last_t)})"
            )
        if self._status is not IN_PROGRESS or t < self._day_end:
            return _NOTHING
        outcomes = self._close_through(t)
        if self._status is IN_PROGRESS and self._day_start > self._last_t:
            self._last_t = self._day_start
        return outcomes

    def reinstate(self) -> Outcome:
        """Take back a failure found to be in error (a bad price, say): the stage is in progress
        again from where it stood, and the failure it forgets is returned. The next snapshot is
        judged as usual, so one still below a floor fails the stage again."""
        if self._status is not FAILED:
            raise EventError(f"only a failed stage can be reinstated; this one is {self._status}")
        self._status = IN_PROGRESS
        self._live_end = self._day_end
        return self._outcomes.pop()

    def _begin(self, event: Event) -> None:
        if not isinstance(event, Equity):
            raise EventError("the first event must be an equity snapshot (it starts the stage)")
        day = self._cal.day_of(event.t)
        self._start_day = day
        self._last_day = period_last_day(day, self.rules.trading_period_days)
        self._enter_day(day)

    def _check_deal(self, deal: Deal) -> None:
        if deal.entry == IN:
            if deal.position in self._positions:
                raise EventError(f"in deal for position {shown(deal.position)}, already open")
        elif deal.position not in self._positions:
            raise EventError(f"out deal for position {shown(deal.position)}, which is not open")

    def _move_position(self, deal: Deal) -> None:
        if deal.entry == IN:
            self._positions.add(deal.position)
        else:
            self._positions.discard(deal.position)

    def _on_equity(
        self, snap: Equity, outcomes: list[Outcome] | tuple[Outcome, ...]
    ) -> Sequence[Outcome]:
        equity = snap.equity
        self._balance = snap.balance
        self._equity = equity
        if self._ml_intraday and equity > self._peak:
            self._peak = equity
            self._ml_floor = self._max_loss_floor()
        if equity < self._ml_floor or equity < self._dl_floor:
            return self._breach(snap, outcomes)
        return outcomes

    def _breach(self, snap: Equity, outcomes: list[Outcome] | tuple[Outcome, ...]) -> list[Outcome]:
        """The snapshot is below a floor: max loss first, then the daily loss (spec order)."""
        if snap.equity < self._ml_floor:
            why = {"event": self._events, "snapshot": _snapshot(snap), **self._max_loss_figures()}
            return self._conclude(outcomes, Outcome(_utc(snap.t), FAILED, MAX_LOSS, why))
        why = {"event": self._events, "snapshot": _snapshot(snap), **self._daily_figures()}
        rule = self.rules.max_daily_loss
        assert rule is not None
        if rule.action == "fail":
            return self._conclude(outcomes, Outcome(_utc(snap.t), FAILED, MAX_DAILY_LOSS, why))
        self._paused_at = snap.t
        self._dl_floor = NEG_INF
        why["paused_until"] = format_time(self._day_end)
        return self._record(outcomes, Outcome(_utc(snap.t), PAUSED, MAX_DAILY_LOSS, why))

    def _on_deal(
        self, deal: Deal, outcomes: list[Outcome] | tuple[Outcome, ...]
    ) -> Sequence[Outcome]:
        if deal.entry == IN:
            if not self._day_active:
                self._day_active = True
                self._active_days += 1
                self._last_active_day = self._day
        elif deal.profit is not None and deal.profit < self._trade_floor:
            pct = self.rules.max_loss_per_trade_pct
            why = {
                "event": self._events,
                "deal": {
                    "t": format_time(deal.t),
                    "position": deal.position,
                    "profit": str(deal.profit),
                },
                "pct": str(pct),
                "initial_balance": str(self.rules.initial_balance),
                "allowed_loss": str(-self._trade_floor),
                "floor": str(self._trade_floor),
            }
            verdict = Outcome(_utc(deal.t), FAILED, MAX_LOSS_PER_TRADE, why)
            return self._conclude(outcomes, verdict)
        return outcomes

    def _record(
        self, outcomes: list[Outcome] | tuple[Outcome, ...], outcome: Outcome
    ) -> list[Outcome]:
        self._outcomes.append(outcome)
        return [*outcomes, outcome]

    def _conclude(
        self, outcomes: list[Outcome] | tuple[Outcome, ...], verdict: Outcome
    ) -> list[Outcome]:
        self._status = PASSED if verdict.kind == PASSED else FAILED
        self._live_end = START_OF_TIME
        return self._record(outcomes, verdict)

    # ------------------------------------------------------------------------------- floors

    def _max_loss_floor(self) -> Decimal:
        max_loss = self.rules.max_loss
        if max_loss is None:
            return NEG_INF
        floor = sub(self._peak, self._ml_allowed)
        initial = self.rules.initial_balance
        if max_loss.lock_at_initial and floor > initial:
            return initial
        return floor

    def _daily_basis(self) -> tuple[Decimal, Decimal]:
        """The current day's basis and allowed loss."""
        rule = self.rules.max_daily_loss
        assert rule is not None
        if rule.basis == "prev_day_balance":
            basis = self._prev_balance
        elif rule.basis == "prev_day_equity":
            basis = self._prev_equity
        elif rule.basis == "prev_day_max_balance_equity":
            basis = max(self._prev_balance, self._prev_equity)
        else:
            basis = self.rules.initial_balance
        of = self.rules.initial_balance if rule.of == "initial" else basis
        return basis, pct_of(rule.pct, of)

    def _daily_floor(self) -> Decimal:
        if self.rules.max_daily_loss is None:
            return NEG_INF
        basis, allowed = self._daily_basis()
        return sub(basis, allowed)

    def _max_loss_figures(self) -> dict[str, Any]:
        max_loss = self.rules.max_loss
        assert max_loss is not None
        unlocked = sub(self._peak, self._ml_allowed)
        return {
            "mode": max_loss.mode,
            "pct": str(max_loss.pct),
            "initial_balance": str(self.rules.initial_balance),
            "peak": str(self._peak),
            "allowed_loss": str(self._ml_allowed),
            "floor": str(self._ml_floor),
            "locked_at_initial": unlocked != self._ml_floor,
        }

    def _daily_figures(self) -> dict[str, Any]:
        rule = self.rules.max_daily_loss
        assert rule is not None
        basis, allowed = self._daily_basis()
        return {
            "day": _iso(self._day),
            "basis": rule.basis,
            "basis_value": str(basis),
            "prev_day_balance": str(self._prev_balance),
            "prev_day_equity": str(self._prev_equity),
            "of": rule.of,
            "of_value": str(self.rules.initial_balance if rule.of == "initial" else basis),
            "pct": str(rule.pct),
            "allowed_loss": str(allowed),
            "floor": str(sub(basis, allowed)),
            "action": rule.action,
        }

    # ------------------------------------------------------------------------------- days

    def _enter_day(self, day: date) -> None:
        self._day = day
        self._day_start = self._cal.start(day)
        self._day_end = self._cal.end(day)
        self._live_end = self._day_end if self._status is IN_PROGRESS else START_OF_TIME
        self._day_has_events = False
        self._day_active = False
        self._dl_floor = NEG_INF if self._paused_at is not None else self._daily_floor()

    def _close_through(self, t: datetime) -> list[Outcome]:
        """Close, oldest first, every day that ends at or before `t`, stopping at a verdict."""
        outcomes: list[Outcome] = []
        while self._status is IN_PROGRESS and t >= self._day_end:
            if self.skip_quiet_days and not self._day_has_events and self._paused_at is None:
                self._skip_quiet_days(t)
                if t < self._day_end:
                    break
            self._close_day(outcomes)
        return outcomes

    def _close_day(self, outcomes: list[Outcome]) -> None:
        day = self._day
        assert day is not None
        end = self._day_end
        closing = self._balance
        profit = sub(closing, self._prev_balance)
        if self._best_day is None or profit > self._best_day:
            self._best_day = profit
        self._inactive_streak = 0 if self._day_active else self._inactive_streak + 1
        max_loss = self.rules.max_loss
        if max_loss is not None and max_loss.mode == "trailing_eod" and closing > self._peak:
            self._peak = closing
            self._ml_floor = self._max_loss_floor()
        rules = self.rules
        last = day == self._last_day
        verdict = None
        if self._objectives_hold() and (rules.upgrade_immediately or last):
            verdict = Outcome(end, PASSED, None, self._day_figures(day, end))
        elif last:
            why = {**self._day_figures(day, end), "last_day": day.isoformat()}
            verdict = Outcome(end, FAILED, TRADING_PERIOD, why)
        elif rules.inactivity_days is not None and self._inactive_streak >= rules.inactivity_days:
            limit = rules.inactivity_days
            why = {
                **self._day_figures(day, end),
                "inactivity_days": limit,
                "inactive_since": (day - (limit - 1) * ONE_DAY).isoformat(),
                "last_active_day": _iso(self._last_active_day),
            }
            verdict = Outcome(end, FAILED, INACTIVITY, why)
        if verdict is not None:
            outcomes.append(verdict)
            self._conclude((), verdict)
            return
        self._prev_balance = closing
        self._prev_equity = self._equity
        if self._paused_at is not None:
            why = {
                "day": day.isoformat(),
                "day_end": format_time(end),
                "paused_at": format_time(self._paused_at),
            }
            self._paused_at = None
            outcomes.append(Outcome(end, RESUMED, MAX_DAILY_LOSS, why))
            self._outcomes.append(outcomes[-1])
        self._enter_day(day + ONE_DAY)

    def _skip_quiet_days(self, t: datetime) -> None:
        """Close at once the days without events that would each close with no outcome.

        A day without events closes with its predecessor's closing values, so each such closing
        sees the same objectives; only the period's last day or the day inactivity is reached
        can differ.
        """
        if self.rules.upgrade_immediately and self._objectives_hold():
            return
        day = self._day
        assert day is not None
        count = (self._cal.day_of(t) - day).days
        if self._last_day is not None:
            count = min(count, (self._last_day - day).days)
        limit = self.rules.inactivity_days
        if limit is not None:
            count = min(count, limit - self._inactive_streak - 1)
        if count < 1:
            return
        self._inactive_streak += count
        quiet_profit = sub(self._balance, self._prev_balance)  # zero, in the account's digits
        if self._best_day is None or quiet_profit > self._best_day:
            self._best_day = quiet_profit
        self._enter_day(day + count * ONE_DAY)

    def _objectives_hold(self) -> bool:
        rules = self.rules
        closing = self._balance
        if self._positions:
            return False
        if self._target is not None and closing < self._target:
            return False
        if self._active_days < rules.min_trading_days:
            return False
        if rules.best_day_max_pct is not None:
            total = sub(closing, rules.initial_balance)
            if not total > ZERO:
                return False
            best = self._best_day
            if best is None or best > pct_of(rules.best_day_max_pct, total):
                return False
        return True

    def _day_figures(self, day: date, end: datetime) -> dict[str, Any]:
        """The closing and the objectives as they stood, for a day-end verdict."""
        rules = self.rules
        closing = self._balance
        total = sub(closing, rules.initial_balance)
        consistency: dict[str, Any] | None = None
        if rules.best_day_max_pct is not None:
            limit = pct_of(rules.best_day_max_pct, total)
            consistency = {
                "best_day_max_pct": str(rules.best_day_max_pct),
                "best_day_profit": _opt(self._best_day),
                "total_profit": str(total),
                "limit": str(limit),
                "met": total > ZERO and self._best_day is not None and self._best_day <= limit,
            }
        return {
            "day": day.isoformat(),
            "day_end": format_time(end),
            "closing_balance": str(closing),
            "closing_equity": str(self._equity),
            "objectives": {
                "hold": self._objectives_hold(),
                "open_positions": len(self._positions),
                "target_balance": _opt(self._target),
                "target_met": None if self._target is None else closing >= self._target,
                "trading_days": self._active_days,
                "min_trading_days": rules.min_trading_days,
                "consistency": consistency,
            },
        }

    # ------------------------------------------------------------------------------- reading

    @property
    def status(self) -> str:
        """`in_progress`, `passed` or `failed`."""
        return self._status

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """Every pause, resume and the verdict so far, oldest first."""
        return tuple(self._outcomes)

    @property
    def day_end(self) -> datetime | None:
        """When the current trading day ends, while the stage is in progress and has begun (a
        monitor closes the day then, if no event has done it)."""
        if self._status is not IN_PROGRESS or self._last_t is None:
            return None
        return self._day_end

    @property
    def trading_days(self) -> int:
        return self._active_days

    def verdict(self) -> dict[str, Any]:
        """The spec's output object, as of now."""
        final = self._outcomes[-1] if self._status is not IN_PROGRESS else None
        return {
            "status": self._status,
            "rule": final.rule if final is not None else None,
            "at": format_time(final.at) if final is not None else None,
            "trading_days": self._active_days,
            "events": [outcome.to_dict() for outcome in self._outcomes],
        }

    def figures(self) -> Figures:
        """The live figures a trader and the firm watch, as of the last event or closing."""
        return compute_figures(self)

    # ------------------------------------------------------------------------------- state

    def state(self) -> dict[str, Any]:
        """Everything needed to resume, as JSON-ready values (decimals and times as text)."""
        return dump_state(self)

    @classmethod
    def from_state(cls, rules: Rules, state: dict[str, Any]) -> Evaluator:
        """The evaluator `state()` was taken from; raises ValueError if it is not one."""
        evaluator = cls(rules)
        load_state(evaluator, state)
        return evaluator


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


def _snapshot(snap: Equity) -> dict[str, str]:
    return {
        "t": format_time(snap.t),
        "balance": str(snap.balance),
        "equity": str(snap.equity),
    }


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
