"""The feed's in-memory book: every open position's floating profit and every account's equity,
recomputed on each tick with whole-array integer arithmetic, exact to the account currency's
minor unit (the same numbers `pricing.profit_minor` gives one position at a time).

It also decides which equity snapshots go to the event stream: an account's equity is written
when it makes a new low or a new high since the last quarter-hour boundary, and at each boundary
(stamped with the moment the value arose), so that a rule floor, a trailing high or a day's
closing equity is never missed in any time zone, while an account that drifts inside its range
writes nothing. No Django here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import gcd

import numpy as np
import numpy.typing as npt

from propdesk.platforms.sandbox.pricing import VOLUME_SCALE, Spec, round_half_even

Ints = npt.NDArray[np.int64]
SAFE = 2**62  # products stay below this in int64, or the group is computed with Python ints
WINDOW_SECONDS = 15 * 60  # every time zone's midnight falls on a quarter hour


@dataclass(frozen=True)
class Holding:
    """One open position as the book needs it (volumes in 0.01 lots, prices in points)."""

    position: int
    account: int
    symbol: str
    side: int  # +1 buy, -1 sell
    volume: int
    open_points: int
    sl_points: int = 0  # 0: none
    tp_points: int = 0
    margin: int = 0  # minor units


@dataclass
class _Group:
    """The open positions in one instrument held by accounts of one currency."""

    symbol: str
    currency: str
    positions: Ints
    slots: Ints
    side: Ints
    volume: Ints
    open: Ints
    sl: Ints
    tp: Ints
    profit: Ints
    conversion: str | None = None  # the pair converting its profit, found once when built

    @classmethod
    def of(cls, symbol: str, currency: str, rows: Sequence[tuple[Holding, int]]) -> _Group:
        def column(values: Iterable[int]) -> Ints:
            return np.fromiter(values, dtype=np.int64, count=len(rows))

        return cls(
            symbol=symbol,
            currency=currency,
            positions=column(h.position for h, _ in rows),
            slots=column(slot for _, slot in rows),
            side=column(h.side for h, _ in rows),
            volume=column(h.volume for h, _ in rows),
            open=column(h.open_points for h, _ in rows),
            sl=column(h.sl_points for h, _ in rows),
            tp=column(h.tp_points for h, _ in rows),
            profit=np.zeros(len(rows), dtype=np.int64),
        )


@dataclass
class TickResult:
    touched: Ints  # account slots whose equity was recomputed
    crossed: list[int] = field(default_factory=list)  # positions whose SL or TP the tick hit
    stop_outs: list[int] = field(default_factory=list)  # accounts below their stop-out level


class Book:
    def __init__(self, specs: dict[str, Spec], minor_digits: dict[str, int]) -> None:
        self.specs = specs
        self.minor_digits = minor_digits
        self.bids: dict[str, int] = {}
        self.asks: dict[str, int] = {}
        self.slot_of: dict[int, int] = {}
        self.account_ids: list[int] = []
        self.currencies: list[str] = []
        self.balance: Ints = np.zeros(0, dtype=np.int64)
        self.floating: Ints = np.zeros(0, dtype=np.int64)
        self.margin: Ints = np.zeros(0, dtype=np.int64)
        self.stopout_bp: Ints = np.zeros(0, dtype=np.int64)  # stop-out level in 0.01 %
        self.holdings: dict[int, dict[int, Holding]] = {}  # account -> position -> holding
        self._groups: dict[tuple[str, str], _Group] = {}
        self._dirty: set[tuple[str, str]] = set()

    # --- what the book holds --------------------------------------------------------------------

    def set_price(self, symbol: str, bid: int, ask: int) -> None:
        self.bids[symbol] = bid
        self.asks[symbol] = ask

    def put_account(
        self,
        account: int,
        *,
        currency: str,
        balance: int,
        stopout_bp: int,
        holdings: Sequence[Holding],
    ) -> int:
        """Add an account, or replace what the book knew of it (after a deal or a balance
        operation); returns its slot."""
        slot = self.slot_of.get(account)
        if slot is None:
            slot = len(self.account_ids)
            self.slot_of[account] = slot
            self.account_ids.append(account)
            self.currencies.append(currency)
            self._grow(slot + 1)
        for old in self.holdings.get(account, {}).values():
            self._dirty.add((old.symbol, self.currencies[slot]))
        self.holdings[account] = {h.position: h for h in holdings}
        for new in holdings:
            self._dirty.add((new.symbol, currency))
        self.balance[slot] = balance
        self.margin[slot] = sum(h.margin for h in holdings)
        self.stopout_bp[slot] = stopout_bp
        return slot

    def _grow(self, size: int) -> None:
        if size <= len(self.balance):
            return
        room = max(size, 2 * len(self.balance), 64)
        for name in ("balance", "floating", "margin", "stopout_bp"):
            old = getattr(self, name)
            grown = np.zeros(room, dtype=np.int64)
            grown[: len(old)] = old
            setattr(self, name, grown)

    def equity(self, account: int) -> int:
        slot = self.slot_of[account]
        return int(self.balance[slot] + self.floating[slot])

    # --- a tick ---------------------------------------------------------------------------------

    def tick(self, symbol: str, bid: int, ask: int) -> TickResult:
        """Move a price and revalue every position it moves (its own, and those whose profit
        it converts); returns what the tick touched and what it triggered."""
        self.set_price(symbol, bid, ask)
        self._rebuild_dirty()
        touched: list[Ints] = []
        crossed: list[int] = []
        for group in self._groups.values():
            own = group.symbol == symbol
            if not own and group.conversion != symbol:
                continue
            self._revalue(group)
            touched.append(group.slots)
            if own and len(group.positions):
                crossed.extend(self._crossed(group, bid, ask))
        slots = np.unique(np.concatenate(touched)) if touched else np.zeros(0, dtype=np.int64)
        equity = self.balance[slots] + self.floating[slots]
        margin = self.margin[slots]
        below = (margin > 0) & (equity * 10_000 < self.stopout_bp[slots] * margin)
        stop_outs = [self.account_ids[s] for s in slots[below].tolist()]
        return TickResult(touched=slots, crossed=crossed, stop_outs=stop_outs)

    def refresh(self) -> None:
        """Take in accounts put since the last tick (their groups are rebuilt and revalued)."""
        self._rebuild_dirty()

    def revalue_all(self) -> None:
        self._rebuild_dirty()
        for group in self._groups.values():
            self._revalue(group)

    def _rebuild_dirty(self) -> None:
        if not self._dirty:
            return
        rows: dict[tuple[str, str], list[tuple[Holding, int]]] = {k: [] for k in self._dirty}
        for account, holdings in self.holdings.items():
            slot = self.slot_of[account]
            for holding in holdings.values():
                key = (holding.symbol, self.currencies[slot])
                if key in rows:
                    rows[key].append((holding, slot))
        for key, members in rows.items():
            old = self._groups.pop(key, None)
            if old is not None:  # take the old profits out of the accounts' floating sums
                np.subtract.at(self.floating, old.slots, old.profit)
            if members:
                group = _Group.of(key[0], key[1], members)
                group.conversion = self._conversion_symbol(group)
                self._groups[key] = group
                self._revalue(group)
        self._dirty.clear()

    def _conversion_symbol(self, group: _Group) -> str | None:
        quote = self.specs[group.symbol].quote_currency
        if quote == group.currency:
            return None
        for pair in (quote + group.currency, group.currency + quote):
            if pair in self.specs:
                return pair
        return None

    def _rate(self, group: _Group) -> tuple[int, int] | None:
        """The quote-to-account conversion as a fraction (numerator, denominator)."""
        quote = self.specs[group.symbol].quote_currency
        if quote == group.currency:
            return 1, 1
        pair = group.conversion
        if pair is None or pair not in self.bids:
            return None
        scale = 10 ** self.specs[pair].digits
        if pair == quote + group.currency:
            return self.bids[pair], scale
        return scale, self.bids[pair]

    def _revalue(self, group: _Group) -> None:
        if group.symbol not in self.bids:
            return
        rate = self._rate(group)
        if rate is None:
            return
        spec = self.specs[group.symbol]
        close = np.where(group.side > 0, self.bids[group.symbol], self.asks[group.symbol])
        raw = group.side * (close - group.open) * group.volume * spec.contract_size
        numerator = rate[0] * 10 ** self.minor_digits[group.currency]
        denominator = 10**spec.digits * VOLUME_SCALE * rate[1]
        common = gcd(numerator, denominator)
        numerator //= common
        denominator //= common
        largest = int(np.abs(raw).max()) if len(raw) else 0
        if largest * numerator < SAFE:
            scaled = raw * numerator
            quotient = scaled // denominator
            twice = 2 * (scaled - quotient * denominator)
            up = (twice > denominator) | ((twice == denominator) & (quotient % 2 != 0))
            profit = quotient + up
        else:  # too large for int64: the same rounding with Python's unbounded integers
            profit = np.array(
                [round_half_even(int(r) * numerator, denominator) for r in raw.tolist()],
                dtype=np.int64,
            )
        np.add.at(self.floating, group.slots, profit - group.profit)
        group.profit = profit

    @staticmethod
    def _crossed(group: _Group, bid: int, ask: int) -> list[int]:
        buy = group.side > 0
        market = np.where(buy, bid, ask)
        has_sl, has_tp = group.sl > 0, group.tp > 0
        hit_sl = has_sl & np.where(buy, market <= group.sl, market >= group.sl)
        hit_tp = has_tp & np.where(buy, market >= group.tp, market <= group.tp)
        return [int(p) for p in group.positions[hit_sl | hit_tp].tolist()]


class Watch:
    """Which accounts' equity to write to the stream, and when (see the module's note)."""

    def __init__(self) -> None:
        self.size = 0
        self.emitted_equity: Ints = np.zeros(0, dtype=np.int64)
        self.emitted_balance: Ints = np.zeros(0, dtype=np.int64)
        self.low: Ints = np.zeros(0, dtype=np.int64)
        self.high: Ints = np.zeros(0, dtype=np.int64)
        self.changed_at: npt.NDArray[np.float64] = np.zeros(0)
        self.window = -1

    def grow(self, size: int) -> None:
        if size <= self.size:
            return
        room = max(size, 2 * self.size, 64)
        for name in ("emitted_equity", "emitted_balance", "low", "high", "changed_at"):
            old = getattr(self, name)
            grown = np.zeros(room, dtype=old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)
        self.size = room

    def written(self, slot: int, equity: int, balance: int) -> None:
        """A snapshot of this account went to the stream by another road (a deal)."""
        self.grow(slot + 1)
        self.emitted_equity[slot] = self.low[slot] = self.high[slot] = equity
        self.emitted_balance[slot] = balance

    def due(self, book: Book, slots: Ints, now: float) -> Ints:
        """Of the accounts a tick touched, those whose equity is a new low or high of the
        window; the values are taken as written."""
        self.grow(len(book.account_ids))
        equity = book.balance[slots] + book.floating[slots]
        moved = equity != self.emitted_equity[slots]
        self.changed_at[slots[moved]] = now
        extreme = (equity < self.low[slots]) | (equity > self.high[slots])
        chosen = slots[extreme]
        self._take(book, chosen)
        return chosen

    def boundary(self, book: Book, now: float) -> tuple[Ints, npt.NDArray[np.float64]]:
        """At a new quarter hour: every account whose equity or balance moved since it was
        last written, with the moment its value arose; then each window starts afresh."""
        window = int(now // WINDOW_SECONDS)
        if window == self.window:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        self.window = window
        count = len(book.account_ids)
        self.grow(count)
        slots = np.arange(count, dtype=np.int64)
        equity = book.balance[:count] + book.floating[:count]
        stale = (equity != self.emitted_equity[:count]) | (
            book.balance[:count] != self.emitted_balance[:count]
        )
        chosen = slots[stale]
        moments = self.changed_at[chosen].copy()
        self._take(book, chosen)
        self.low[:count] = self.high[:count] = equity
        return chosen, moments

    def _take(self, book: Book, slots: Ints) -> None:
        equity = book.balance[slots] + book.floating[slots]
        self.emitted_equity[slots] = equity
        self.emitted_balance[slots] = book.balance[slots]
        self.low[slots] = np.minimum(self.low[slots], equity)
        self.high[slots] = np.maximum(self.high[slots], equity)
