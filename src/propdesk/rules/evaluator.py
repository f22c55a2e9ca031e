"""The rule evaluator: docs/rules.md, fed one event at a time.

One `Evaluator` follows one stage attempt. `feed(event)` returns what the event caused (day
closings come first, then the event's own checks); `close_until(t)` closes the days that end by
`t` when no event comes (the `--until` of a replay, the clock of the live monitor). `state()` and
`Evaluator.from_state()` persist and resume it exactly; `figures()` and `verdict()` read it.

The hot path is an equity snapshot inside the current day and before the next weekend cutoff: a
few comparisons against floors that are computed only when they move (a new day, a new peak, a
balance event), never arithmetic. Day ends and cutoffs are processed by `closing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import closing
from . import why as figures_of
from .days import END_OF_TIME, START_OF_TIME, Calendar, period_last_day
from .errors import EventError, shown
from .figures import Figures, compute_figures
from .model import (
    FAILED,
    IN,
    IN_PROGRESS,
    MAX_DAILY_LOSS,
    MAX_LOSS,
    MAX_LOSS_PER_TRADE,
    MAX_OPEN_POSITIONS,
    MAX_OPEN_VOLUME,
    NEG_INF,
    OPENED_AND_CLOSED,
    PASSED,
    PAUSED,
    UTC,
    ZERO,
    Balance,
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
        "_counted",
        "_cut_done",
        "_cutoff",
        "_day",
        "_day_active",
        "_day_end",
        "_day_has_events",
        "_day_peak",
        "_day_start",
        "_day_traded",
        "_dl_floor",
        "_dl_peak",
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
        "_ml_trailing",
        "_moved",
        "_moves",
        "_open_volume",
        "_opened_today",
        "_outcomes",
        "_paused_at",
        "_peak",
        "_pending",
        "_positions",
        "_prev_balance",
        "_prev_equity",
        "_start_day",
        "_status",
        "_target",
        "_trade_floor",
        "_trading_days",
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
        self._ml_trailing = max_loss is not None and max_loss.mode != "static"
        daily = rules.max_daily_loss
        self._dl_peak = daily is not None and daily.basis == "day_peak_equity"
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
        # The next weekend cutoff (never, without the rule), and the last one passed.
        self._cutoff = END_OF_TIME
        self._cut_done: datetime | None = None
        # The earlier of the current day's end and the next cutoff while the stage is in
        # progress (and no balance event awaits its snapshot), else before any time: one
        # comparison tells the hot path that the snapshot needs nothing else.
        self._live_end = START_OF_TIME
        self._day_has_events = False
        self._day_active = False
        self._day_traded = False
        self._opened_today: set[str | int] = set()
        self._balance = self._equity = initial
        self._prev_balance = self._prev_equity = initial
        self._peak = initial
        self._day_peak = initial
        self._moved = ZERO
        self._pending = ZERO
        self._moves: list[dict[str, Any]] = []
        self._paused_at: datetime | None = None
        self._positions: dict[str | int, Decimal | None] = {}
        self._open_volume = ZERO
        self._active_days = 0
        self._trading_days = 0
        self._counted: list[list[str | None]] = []
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
            if self._dl_peak and equity > self._day_peak:
                self._new_day_peak(equity)
            if equity < self._ml_floor or equity < self._dl_floor:
                return self._breach(event, _NOTHING)
            return _NOTHING
        return self._feed_other(event)

    def _feed_other(self, event: Event) -> Sequence[Outcome]:
        deal = event if isinstance(event, Deal) else None
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
        if t >= self._day_end or t >= self._cutoff:
            outcomes = closing.close_through(self, t)
        if deal is not None:
            self._move_position(deal)
        if self._status is not IN_PROGRESS:
            return outcomes
        self._day_has_events = True
        if deal is not None:
            return self._on_deal(deal, outcomes)
        if isinstance(event, Balance):
            self._on_balance(event)
            return outcomes
        assert isinstance(event, Equity)
        return self._on_equity(event, outcomes)

    def close_until(self, t: datetime) -> Sequence[Outcome]:
        """Close every day that ends, and pass every weekend cutoff, at or before `t` (no event
        has come since the last one).

        `t` may not be earlier than the last event. Events fed afterwards may not fall in a day
        this closed, nor before a cutoff it passed.
        """
        if self._last_t is None:
            return _NOTHING
        if t < self._last_t:
            raise EventError(
                f"{format_time(t)} is before the last event ({format_time(self._last_t)})"
            )
        if self._status is not IN_PROGRESS or (t < self._day_end and t < self._cutoff):
            return _NOTHING
        outcomes = closing.close_through(self, t)
        if self._status is IN_PROGRESS:
            passed = max(self._day_start, self._cut_done or self._day_start)
            if passed > self._last_t:
                self._last_t = passed
        return outcomes

    def reinstate(self) -> Outcome:
        """Take back a failure found to be in error (a bad price, say): the stage is in progress
        again from where it stood, and the failure it forgets is returned. The next snapshot is
        judged as usual, so one still below a floor fails the stage again."""
        if self._status is not FAILED:
            raise EventError(f"only a failed stage can be reinstated; this one is {self._status}")
        self._status = IN_PROGRESS
        taken = self._outcomes.pop()
        if taken.at >= self._cutoff:
            # A weekend failure taken back: that cutoff is passed.
            self._cut_done = self._cutoff
            self._cutoff = self._next_cutoff(self._cutoff)
        self._set_live()
        return taken

    def _begin(self, event: Event) -> None:
        if not isinstance(event, Equity):
            raise EventError("the first event must be an equity snapshot (it starts the stage)")
        day = self._cal.day_of(event.t)
        self._start_day = day
        self._last_day = period_last_day(day, self.rules.trading_period_days)
        self._cutoff = self._next_cutoff(event.t)
        self._enter_day(day)

    def _next_cutoff(self, t: datetime) -> datetime:
        """The first weekend cutoff strictly after `t` (never, without the rule)."""
        rule = self.rules.weekend_close
        if rule is None:
            return END_OF_TIME
        return closing.cutoff_after(self.rules.zone, rule.weekday, rule.at, t)

    def _set_live(self) -> None:
        if self._status is IN_PROGRESS and not self._pending:
            self._live_end = min(self._day_end, self._cutoff)
        else:
            self._live_end = START_OF_TIME

    def _check_deal(self, deal: Deal) -> None:
        if deal.entry == IN:
            if deal.position in self._positions:
                raise EventError(f"in deal for position {shown(deal.position)}, already open")
            if deal.volume is None and self.rules.max_open_volume is not None:
                raise EventError('in deal without "volume" (the rules set max_open_volume)')
        elif deal.position not in self._positions:
            raise EventError(f"out deal for position {shown(deal.position)}, which is not open")

    def _move_position(self, deal: Deal) -> None:
        if deal.entry == IN:
            self._positions[deal.position] = deal.volume
            if deal.volume is not None:
                self._open_volume = add(self._open_volume, deal.volume)
        else:
            volume = self._positions.pop(deal.position, None)
            if volume is not None:
                self._open_volume = sub(self._open_volume, volume)

    def _on_equity(
        self, snap: Equity, outcomes: list[Outcome] | tuple[Outcome, ...]
    ) -> Sequence[Outcome]:
        if self._live_end is START_OF_TIME:
            self._pending = ZERO  # the snapshot carries the money moved
            self._set_live()
        equity = snap.equity
        self._balance = snap.balance
        self._equity = equity
        if self._ml_intraday and equity > self._peak:
            self._peak = equity
            self._ml_floor = self._max_loss_floor()
        if self._dl_peak and equity > self._day_peak:
            self._new_day_peak(equity)
        if equity < self._ml_floor or equity < self._dl_floor:
            return self._breach(snap, outcomes)
        return outcomes

    def _new_day_peak(self, equity: Decimal) -> None:
        self._day_peak = equity
        if self._paused_at is None:
            self._dl_floor = self._daily_floor()

    def _on_balance(self, move: Balance) -> None:
        """Money the firm moved: every reference measured from moves with it (docs/rules.md,
        "Money moved by the firm"); nothing is checked until the next snapshot."""
        amount = move.amount
        before = figures_of.references(self)
        self._moved = add(self._moved, amount)
        self._pending = add(self._pending, amount)
        self._prev_balance = add(self._prev_balance, amount)
        self._prev_equity = add(self._prev_equity, amount)
        self._day_peak = add(self._day_peak, amount)
        if self._ml_trailing:
            self._peak = add(self._peak, amount)
            self._ml_floor = self._max_loss_floor()
        if self._paused_at is None:
            self._dl_floor = self._daily_floor()
        self._live_end = START_OF_TIME  # the next snapshot takes the slow path
        self._moves.append(
            {
                "event": self._events,
                "t": format_time(move.t),
                "amount": str(amount),
                "before": before,
                "after": figures_of.references(self),
            }
        )

    def _breach(self, snap: Equity, outcomes: list[Outcome] | tuple[Outcome, ...]) -> list[Outcome]:
        """The snapshot is below a floor: max loss first, then the daily loss (spec order)."""
        if snap.equity < self._ml_floor:
            why = {
                "event": self._events,
                "snapshot": _snapshot(snap),
                **figures_of.max_loss_figures(self),
            }
            return self._conclude(outcomes, Outcome(_utc(snap.t), FAILED, MAX_LOSS, why))
        figures = figures_of.daily_figures(self)
        why = {"event": self._events, "snapshot": _snapshot(snap), **figures}
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
        # A deal that fails the stage still counts for its day: count first, then check.
        rules = self.rules
        if deal.entry == IN:
            self._opened_today.add(deal.position)
            if not self._day_active:
                self._day_active = True
                self._active_days += 1
                self._last_active_day = self._day
                if rules.trading_day.counts != OPENED_AND_CLOSED:
                    self._day_qualifies()
            limit = rules.max_open_positions
            if limit is not None and len(self._positions) > limit:
                why = {**figures_of.open_figures(self, deal), "max_open_positions": limit}
                return self._conclude(
                    outcomes, Outcome(_utc(deal.t), FAILED, MAX_OPEN_POSITIONS, why)
                )
            lots = rules.max_open_volume
            if lots is not None and self._open_volume > lots:
                why = {**figures_of.open_figures(self, deal), "max_open_volume": str(lots)}
                return self._conclude(outcomes, Outcome(_utc(deal.t), FAILED, MAX_OPEN_VOLUME, why))
            return outcomes
        if deal.position in self._opened_today:
            self._opened_today.discard(deal.position)
            if rules.trading_day.counts == OPENED_AND_CLOSED:
                self._day_qualifies()
        if deal.profit is not None and deal.profit < self._trade_floor:
            pct = rules.max_loss_per_trade_pct
            why = {
                "event": self._events,
                "deal": {
                    "t": format_time(deal.t),
                    "position": deal.position,
                    "profit": str(deal.profit),
                },
                "pct": str(pct),
                "initial_balance": str(rules.initial_balance),
                "allowed_loss": str(-self._trade_floor),
                "floor": str(self._trade_floor),
            }
            verdict = Outcome(_utc(deal.t), FAILED, MAX_LOSS_PER_TRADE, why)
            return self._conclude(outcomes, verdict)
        return outcomes

    def _day_qualifies(self) -> None:
        """The day's deals make it a trading day: it counts now, or (with a least day profit)
        at its close if the profit is there."""
        if self._day_traded:
            return
        self._day_traded = True
        if self.rules.trading_day.min_profit_pct is None:
            self._count_trading_day(None)

    def _count_trading_day(self, profit: Decimal | None) -> None:
        """Count the current day (once: when its deals first qualify it, or at its close)."""
        self._trading_days += 1
        self._counted.append([_iso(self._day), None if profit is None else str(profit)])

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
        if max_loss.lock_at_initial:
            lock = add(self.rules.initial_balance, max_loss.lock_offset)
            if floor > lock:
                return lock
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
        elif rule.basis == "day_peak_equity":
            basis = self._day_peak
        else:
            basis = self.rules.initial_balance
        of = self.rules.initial_balance if rule.of == "initial" else basis
        return basis, pct_of(rule.pct, of)

    def _daily_floor(self) -> Decimal:
        if self.rules.max_daily_loss is None:
            return NEG_INF
        basis, allowed = self._daily_basis()
        return sub(basis, allowed)

    # ------------------------------------------------------------------------------- days

    def _enter_day(self, day: date) -> None:
        self._day = day
        self._day_start = self._cal.start(day)
        self._day_end = self._cal.end(day)
        self._set_live()
        self._day_has_events = False
        self._day_active = False
        self._day_traded = False
        self._opened_today = set()
        self._day_peak = self._prev_equity
        self._dl_floor = NEG_INF if self._paused_at is not None else self._daily_floor()

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
    def moves(self) -> tuple[dict[str, Any], ...]:
        """Every balance event so far, with the references before and after it."""
        return tuple(self._moves)

    @property
    def day_end(self) -> datetime | None:
        """When the current trading day ends, while the stage is in progress and has begun."""
        if self._status is not IN_PROGRESS or self._last_t is None:
            return None
        return self._day_end

    @property
    def next_due(self) -> datetime | None:
        """The next instant at which the clock alone can change the stage: the current day's
        end or the next weekend cutoff, whichever is first (a monitor calls `close_until` then
        if no event has come); None unless in progress and begun."""
        if self._status is not IN_PROGRESS or self._last_t is None:
            return None
        return min(self._day_end, self._cutoff)

    @property
    def weekend_cutoff(self) -> datetime | None:
        """The next weekend cutoff, while in progress (None without the rule)."""
        if self._status is not IN_PROGRESS or self._cutoff == END_OF_TIME:
            return None
        return self._cutoff

    @property
    def trading_days(self) -> int:
        """Trading days as the rules count them (docs/rules.md, "Trading days")."""
        return self._trading_days

    def verdict(self) -> dict[str, Any]:
        """The spec's output object, as of now."""
        final = self._outcomes[-1] if self._status is not IN_PROGRESS else None
        return {
            "status": self._status,
            "rule": final.rule if final is not None else None,
            "at": format_time(final.at) if final is not None else None,
            "trading_days": self._trading_days,
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


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
