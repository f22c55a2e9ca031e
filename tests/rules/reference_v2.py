"""A second, deliberately naive reading of the version-2 rule contract (docs/rules.md).

Written from the spec's sentences only, without propdesk.rules: it parses its own (valid) input,
keeps a log of everything that happened in processing order, and recomputes every figure (peaks,
bases, closing values, day profits, trading days) from that whole log each time it needs one.
Slow and short on purpose; the property tests compare the evaluator against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, Inexact, Rounded, localcontext
from typing import Any
from zoneinfo import ZoneInfo

# Exact arithmetic: every operation runs in this context, and any rounding would raise.
X = Context(prec=200, traps=[Inexact, Rounded])
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def fmt(t: datetime) -> str:
    u = t.astimezone(UTC)
    text = u.strftime("%Y-%m-%dT%H:%M:%S")
    if u.microsecond:
        text += "." + f"{u.microsecond:06d}".rstrip("0")
    return text + "Z"


def dec(value: Any) -> Decimal:
    """A decimal string or a JSON number, through its decimal text."""
    if isinstance(value, bool):
        raise TypeError(value)
    return Decimal(value if isinstance(value, str) else str(value))


def pct(p: Decimal, x: Decimal) -> Decimal:
    return p * x / 100


def hhmm(text: str) -> tuple[int, int]:
    hh, mm = text.split(":")
    return int(hh), int(mm)


class Calendar:
    """Day ends and weekend cutoffs: wall times resolved with fold=0, then compared in UTC."""

    def __init__(self, zone: str, reset: str, weekend: dict[str, Any] | None) -> None:
        self.zone = ZoneInfo(zone)
        self.reset = hhmm(reset)
        self.weekend = None
        if weekend is not None:
            self.weekend = (WEEKDAYS.index(weekend["day"]), hhmm(weekend["time"]))

    def wall(self, d: date, at: tuple[int, int]) -> datetime:
        local = datetime(d.year, d.month, d.day, at[0], at[1], tzinfo=self.zone, fold=0)
        return local.astimezone(UTC)

    def end(self, d: date) -> datetime:
        return self.wall(d + timedelta(days=1), self.reset)

    def day_of(self, t: datetime) -> date:
        local = t.astimezone(self.zone).date()
        found = [
            local + timedelta(days=k)
            for k in range(-3, 4)
            if self.end(local + timedelta(days=k - 1)) <= t < self.end(local + timedelta(days=k))
        ]
        assert len(found) == 1, (t, found)
        return found[0]

    def cutoffs_after(self, t: datetime) -> datetime | None:
        """The first cutoff strictly after `t` (None without weekend_close)."""
        if self.weekend is None:
            return None
        weekday, at = self.weekend
        local = t.astimezone(self.zone).date()
        instants = [
            self.wall(local + timedelta(days=k), at)
            for k in range(-2, 10)
            if (local + timedelta(days=k)).weekday() == weekday
        ]
        return min(c for c in instants if c > t)


@dataclass
class Ev:
    n: int
    t: datetime
    type: str
    balance: Decimal | None = None
    equity: Decimal | None = None
    position: Any = None
    entry: str | None = None
    profit: Decimal | None = None
    volume: Decimal | None = None
    amount: Decimal | None = None
    day: date | None = None


def parse_events(lines: list[str]) -> list[Ev]:
    out = []
    for n, line in enumerate(lines, 1):
        obj = json.loads(line, parse_float=Decimal, parse_int=Decimal)
        t = datetime.fromisoformat(obj["t"])
        assert t.utcoffset() is not None
        ev = Ev(n=n, t=t.astimezone(UTC), type=obj["type"])
        if ev.type == "equity":
            ev.balance, ev.equity = dec(obj["balance"]), dec(obj["equity"])
        elif ev.type == "deal":
            ev.position, ev.entry = obj["position"], obj["entry"]
            if ev.entry == "out":
                ev.profit = dec(obj["profit"])
            if obj.get("volume") is not None:
                ev.volume = dec(obj["volume"])
        else:
            assert ev.type == "balance"
            ev.amount = dec(obj["amount"])
        out.append(ev)
    return out


class Reference:
    def __init__(self, rules: dict[str, Any]) -> None:
        r = rules
        self.init = dec(r["initial_balance"])
        self.cal = Calendar(r["timezone"], r.get("day_reset", "00:00"), r.get("weekend_close"))

        def opt(key: str) -> Decimal | None:
            return None if r.get(key) is None else dec(r[key])

        self.target = opt("profit_target_pct")
        self.per_trade = opt("max_loss_per_trade_pct")
        self.best_day = opt("best_day_max_pct")
        self.max_volume = opt("max_open_volume")
        self.max_positions = r.get("max_open_positions")
        self.min_days = r.get("min_trading_days", 0)
        self.period = r.get("trading_period_days")
        self.inactivity = r.get("inactivity_days")
        self.upgrade = r.get("upgrade_immediately", True)
        td = r.get("trading_day", {})
        self.counts = td.get("counts", "opened")
        self.min_profit = None if td.get("min_profit_pct") is None else dec(td["min_profit_pct"])
        self.daily = r.get("max_daily_loss")
        self.max_loss = r.get("max_loss")

        # What happened, in processing order: ("event", Ev) or ("close", day, balance, equity).
        self.log: list[tuple[Any, ...]] = []
        self.events: list[Ev] = []  # the log's events alone, in the same order
        self.closed: dict[date, tuple[Decimal, Decimal]] = {}
        self.open: dict[Any, tuple[date, Decimal | None]] = {}  # position -> (day opened, volume)
        self.active: set[date] = set()
        self.opened_and_closed: set[date] = set()
        self.paused_day: date | None = None
        self.outcomes: list[dict[str, Any]] = []
        self.verdict: tuple[str, str | None, datetime] | None = None

    # -- figures, recomputed from the whole log ------------------------------------------------

    def logged_events(self) -> list[Ev]:
        return self.events

    def balance_events(self, day: date | None = None) -> list[Ev]:
        return [
            e for e in self.logged_events() if e.type == "balance" and (day is None or e.day == day)
        ]

    def moved(self) -> Decimal:
        return sum((e.amount for e in self.balance_events()), Decimal(0))  # type: ignore[misc]

    def moved_in(self, day: date) -> Decimal:
        return sum((e.amount for e in self.balance_events(day)), Decimal(0))  # type: ignore[misc]

    def prev_values(self, d: date) -> tuple[Decimal, Decimal]:
        """Closing balance and equity of day d - 1, before day d's balance events."""
        if d == self.start:
            return self.init, self.init
        return self.closed[d - timedelta(days=1)]

    def day_profit(self, d: date) -> Decimal:
        return self.closed[d][0] - (self.prev_values(d)[0] + self.moved_in(d))

    def trading_day_count(self) -> int:
        days = self.active if self.counts == "opened" else self.opened_and_closed
        if self.min_profit is None:
            return len(days)
        need = pct(self.min_profit, self.init)
        return len([d for d in days if d in self.closed and self.day_profit(d) >= need])

    def max_loss_peak(self, mode: str) -> Decimal:
        peak = self.init
        if mode == "static":
            return peak
        for item in self.log:
            if item[0] == "close":
                if mode == "trailing_eod":
                    peak = max(peak, item[2])
                continue
            e = item[1]
            if e.type == "balance":
                peak += e.amount
            elif e.type == "equity" and mode == "trailing_intraday":
                peak = max(peak, e.equity)
        return peak

    def daily_basis(self, d: date, basis: str) -> Decimal:
        pb, pe = self.prev_values(d)
        shift = self.moved_in(d)
        if basis == "prev_day_balance":
            return pb + shift
        if basis == "prev_day_equity":
            return pe + shift
        if basis == "prev_day_max_balance_equity":
            return max(pb, pe) + shift
        if basis == "initial_balance":
            return self.init
        assert basis == "day_peak_equity"
        peak = pe
        for e in self.logged_events():
            if e.day != d:
                continue
            if e.type == "balance":
                peak += e.amount  # type: ignore[operator]
            elif e.type == "equity":
                peak = max(peak, e.equity)  # type: ignore[type-var]
        return peak

    # -- the clock -------------------------------------------------------------------------------

    def conclude(self, kind: str, rule: str | None, at: datetime) -> None:
        self.verdict = (kind, rule, at)
        self.outcomes.append({"at": fmt(at), "kind": kind, "rule": rule})

    def close(self, d: date) -> None:
        events = self.logged_events()
        snaps = [i for i, e in enumerate(events) if e.type == "equity"]
        last = snaps[-1]
        later = sum(
            (e.amount for e in events[last + 1 :] if e.type == "balance"),
            Decimal(0),  # type: ignore[misc]
        )
        cb, ce = events[last].balance + later, events[last].equity + later  # type: ignore[operator]
        self.closed[d] = (cb, ce)
        self.log.append(("close", d, cb, ce))
        at = self.cal.end(d)
        moved = self.moved()

        holds = not self.open
        if self.target is not None and cb - moved < self.init * (1 + self.target / 100):
            holds = False
        if self.trading_day_count() < self.min_days:
            holds = False
        if self.best_day is not None:
            total = cb - self.init - moved
            best = max(self.day_profit(x) for x in self.closed)
            if not (total > 0 and best <= pct(self.best_day, total)):
                holds = False
        last_day = None
        if self.period is not None:
            last_day = self.start + timedelta(days=self.period - 1)
        if holds and (self.upgrade or d == last_day):
            self.conclude("passed", None, at)
        elif d == last_day:
            self.conclude("failed", "trading_period", at)
        elif (
            self.inactivity is not None
            and (d - self.start).days + 1 >= self.inactivity
            and not any(d - timedelta(days=k) in self.active for k in range(self.inactivity))
        ):
            self.conclude("failed", "inactivity", at)
        elif self.paused_day == d:
            self.paused_day = None
            self.outcomes.append({"at": fmt(at), "kind": "resumed", "rule": "max_daily_loss"})

    def cutoff(self, c: datetime) -> None:
        if self.open:
            self.conclude("failed", "weekend_holding", c)

    def advance(self, to: datetime) -> None:
        """Every day end and cutoff at or before `to`, earliest first, day end first at a tie."""
        while self.verdict is None:
            day_end = self.cal.end(self.current)
            cut = self.next_cutoff
            due_end = day_end <= to
            due_cut = cut is not None and cut <= to
            if due_end and (not due_cut or day_end <= cut):  # type: ignore[operator]
                self.close(self.current)
                self.current += timedelta(days=1)
            elif due_cut:
                self.cutoff(cut)  # type: ignore[arg-type]
                self.next_cutoff = self.cal.cutoffs_after(cut)  # type: ignore[arg-type]
            else:
                return

    # -- events ----------------------------------------------------------------------------------

    def evaluate(self, e: Ev) -> None:
        d = self.current
        assert self.cal.day_of(e.t) == d
        e.day = d
        self.log.append(("event", e))
        self.events.append(e)
        if e.type == "equity":
            assert e.equity is not None
            ml = self.max_loss
            if ml is not None:
                floor = self.max_loss_peak(ml["mode"]) - pct(dec(ml["pct"]), self.init)
                lock = self.init + dec(ml.get("lock_offset", "0"))
                if ml.get("lock_at_initial", True) and floor > lock:
                    floor = lock
                if e.equity < floor:
                    self.conclude("failed", "max_loss", e.t)
                    return
            dl = self.daily
            if dl is not None and self.paused_day != d:
                basis = self.daily_basis(d, dl["basis"])
                of = dl.get("of", "initial")
                allowed = pct(dec(dl["pct"]), self.init if of == "initial" else basis)
                if e.equity < basis - allowed:
                    if dl.get("action", "fail") == "fail":
                        self.conclude("failed", "max_daily_loss", e.t)
                    else:
                        self.paused_day = d
                        self.outcomes.append(
                            {"at": fmt(e.t), "kind": "paused", "rule": "max_daily_loss"}
                        )
        elif e.type == "deal" and e.entry == "in":
            assert e.position not in self.open
            self.open[e.position] = (d, e.volume)
            self.active.add(d)
            if self.max_positions is not None and len(self.open) > self.max_positions:
                self.conclude("failed", "max_open_positions", e.t)
            elif self.max_volume is not None:
                total = sum((v for _, v in self.open.values()), Decimal(0))  # type: ignore[misc]
                if total > self.max_volume:
                    self.conclude("failed", "max_open_volume", e.t)
        elif e.type == "deal":
            opened_on, _ = self.open.pop(e.position)
            if opened_on == d:
                self.opened_and_closed.add(d)
            if self.per_trade is not None and e.profit < -pct(self.per_trade, self.init):  # type: ignore[operator]
                self.conclude("failed", "max_loss_per_trade", e.t)
        # A balance event is only logged: every figure reads it from the log.

    def run(self, events: list[Ev], until: datetime | None) -> dict[str, Any]:
        assert events
        assert events[0].type == "equity"
        self.start_t = events[0].t
        self.start = self.current = self.cal.day_of(self.start_t)
        self.next_cutoff = self.cal.cutoffs_after(self.start_t)
        for e in events:
            if self.verdict is not None:
                break
            self.advance(e.t)
            if self.verdict is not None:
                break
            self.evaluate(e)
        if until is not None and self.verdict is None:
            assert until >= events[-1].t
            self.advance(until)
        status, rule, at = self.verdict if self.verdict else ("in_progress", None, None)
        return {
            "status": status,
            "rule": rule,
            "at": None if at is None else fmt(at),
            "trading_days": self.trading_day_count(),
            "events": self.outcomes,
        }


def reference_verdict_v2(
    rules_obj: dict[str, Any], lines: list[str], until: datetime | None
) -> dict[str, Any]:
    with localcontext(X):
        return Reference(rules_obj).run(parse_events(lines), until)
