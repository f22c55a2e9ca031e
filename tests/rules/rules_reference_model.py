"""A second, deliberately naive reading of spec/rules.md, to compare the evaluator against.

No skipping, no precomputed floors, no incremental state: every figure is recomputed from the
whole history with exact fractions, and the trading day of an instant is found by searching the
days around its local date. Slow, short, and written from the spec's sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from propdesk.rules import Deal, Equity, Event, Rules


def fmt(t: datetime) -> str:
    u = t.astimezone(UTC)
    text = u.strftime("%Y-%m-%dT%H:%M:%S")
    if u.microsecond:
        text += "." + f"{u.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass
class Reference:
    rules: Rules
    zone: ZoneInfo = field(init=False)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    verdict: tuple[str, str | None, datetime] | None = None

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.rules.timezone)
        hh, mm = self.rules.day_reset.split(":")
        self.reset = (int(hh), int(mm))

    def end(self, d: date) -> datetime:
        nxt = d + timedelta(days=1)
        wall = datetime(nxt.year, nxt.month, nxt.day, *self.reset, tzinfo=self.zone, fold=0)
        return wall.astimezone(UTC)

    def day_of(self, t: datetime) -> date:
        local = t.astimezone(self.zone).date()
        for k in range(-3, 4):
            d = local + timedelta(days=k)
            if self.end(d - timedelta(days=1)) <= t < self.end(d):
                return d
        raise AssertionError(f"no day holds {t}")

    def pct(self, p: Any, x: Fraction) -> Fraction:
        return Fraction(p) * x / 100

    def run(self, events: list[Event], until: datetime | None) -> dict[str, Any]:
        r = self.rules
        init = Fraction(r.initial_balance)
        snaps: list[tuple[date, Fraction, Fraction]] = []  # (day, balance, equity), all so far
        closed: dict[date, tuple[Fraction, Fraction]] = {}
        active: set[date] = set()
        open_positions: set[Any] = set()
        paused_day: date | None = None
        start: date | None = None
        current: date | None = None

        def closing_values(d: date) -> tuple[Fraction, Fraction]:
            mine = [(b, e) for day, b, e in snaps if day <= d]
            return mine[-1] if mine else (init, init)

        def prev_values(d: date) -> tuple[Fraction, Fraction]:
            if d == start:
                return init, init
            return closed[d - timedelta(days=1)]

        def objectives(d: date) -> bool:
            cb = closed[d][0]
            if open_positions:
                return False
            if r.profit_target_pct is not None and cb < init * (
                1 + Fraction(r.profit_target_pct) / 100
            ):
                return False
            if len(active) < r.min_trading_days:
                return False
            if r.best_day_max_pct is not None:
                days = sorted(closed)
                profits = []
                before = init
                for day in days:
                    profits.append(closed[day][0] - before)
                    before = closed[day][0]
                total = cb - init
                if not total > 0 or max(profits) > self.pct(r.best_day_max_pct, total):
                    return False
            return True

        def close(d: date) -> None:
            nonlocal paused_day
            closed[d] = closing_values(d)
            at = self.end(d)
            last = None
            if r.trading_period_days is not None:
                last = start + timedelta(days=r.trading_period_days - 1)  # type: ignore[operator]
            if objectives(d) and (r.upgrade_immediately or d == last):
                self.conclude("passed", None, at)
            elif d == last:
                self.conclude("failed", "trading_period", at)
            elif r.inactivity_days is not None and all(
                (d - timedelta(days=k)) >= start and (d - timedelta(days=k)) not in active  # type: ignore[operator]
                for k in range(r.inactivity_days)
            ):
                self.conclude("failed", "inactivity", at)
            elif paused_day == d:
                paused_day = None
                self.outcomes.append({"at": fmt(at), "kind": "resumed", "rule": "max_daily_loss"})

        for event in events:
            if self.verdict is not None:
                break
            d = self.day_of(event.t)
            if start is None:
                start = current = d
            while current < d and self.verdict is None:  # type: ignore[operator]
                close(current)  # type: ignore[arg-type]
                current += timedelta(days=1)  # type: ignore[operator]
            if self.verdict is not None:
                break
            if isinstance(event, Equity):
                e = Fraction(event.equity)
                snaps.append((d, Fraction(event.balance), e))
                if r.max_loss is not None:
                    ml = r.max_loss
                    if ml.mode == "static":
                        peak = init
                    elif ml.mode == "trailing_intraday":
                        peak = max([init, *(s[2] for s in snaps)])
                    else:
                        peak = max([init, *(v[0] for v in closed.values())])
                    floor = peak - self.pct(ml.pct, init)
                    if ml.lock_at_initial and floor > init:
                        floor = init
                    if e < floor:
                        self.conclude("failed", "max_loss", event.t)
                        continue
                dl = r.max_daily_loss
                if dl is not None and paused_day != d:
                    pb, pe = prev_values(d)
                    basis = {
                        "prev_day_balance": pb,
                        "prev_day_equity": pe,
                        "prev_day_max_balance_equity": max(pb, pe),
                        "initial_balance": init,
                    }[dl.basis]
                    allowed = self.pct(dl.pct, init if dl.of == "initial" else basis)
                    if e < basis - allowed:
                        if dl.action == "fail":
                            self.conclude("failed", "max_daily_loss", event.t)
                        else:
                            paused_day = d
                            self.outcomes.append(
                                {"at": fmt(event.t), "kind": "paused", "rule": "max_daily_loss"}
                            )
            else:
                assert isinstance(event, Deal)
                if event.entry == "in":
                    open_positions.add(event.position)
                    active.add(d)
                else:
                    open_positions.discard(event.position)
                    limit = r.max_loss_per_trade_pct
                    if limit is not None and event.profit < -self.pct(limit, init):  # type: ignore[operator]
                        self.conclude("failed", "max_loss_per_trade", event.t)
        if until is not None and current is not None:
            while self.verdict is None and until >= self.end(current):
                close(current)
                current += timedelta(days=1)
        status, rule, at = self.verdict if self.verdict else ("in_progress", None, None)
        return {
            "status": status,
            "rule": rule,
            "at": None if at is None else fmt(at),
            "trading_days": len(active),
            "events": self.outcomes,
        }

    def conclude(self, kind: str, rule: str | None, at: datetime) -> None:
        self.verdict = (kind, rule, at)
        self.outcomes.append({"at": fmt(at), "kind": kind, "rule": rule})


def reference_verdict(
    rules: Rules, events: list[Event], until: datetime | None = None
) -> dict[str, Any]:
    return Reference(rules).run(events, until)
