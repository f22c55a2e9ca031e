"""The fake Match-Trader's market: a few instruments whose prices walk at random, and the
arithmetic that values a position in an account's currency.

Not Match-Trader's code, nor its numbers: contract sizes and spreads are the usual ones for
these instruments, chosen so that a demo moves visibly (1.00 of gold is 100 USD a lot).
Standard library only: this is a vendor's server, it knows nothing of propdesk.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Instrument:
    symbol: str
    digits: int
    contract_size: Decimal
    spread: Decimal  # ask minus bid, in price
    quote_currency: str
    volatility: float  # the standard deviation of one step of the walk, relative to the price
    start: Decimal  # the bid a new market opens at

    @property
    def point(self) -> Decimal:
        return Decimal(1).scaleb(-self.digits)


INSTRUMENTS: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        Instrument("EURUSD", 5, Decimal(100_000), Decimal("0.0001"), "USD", 8e-5, Decimal("1.085")),
        Instrument("GBPUSD", 5, Decimal(100_000), Decimal("0.00015"), "USD", 9e-5, Decimal("1.27")),
        Instrument("XAUUSD", 2, Decimal(100), Decimal("0.30"), "USD", 15e-5, Decimal("2350")),
        Instrument("US30", 1, Decimal(1), Decimal("2.0"), "USD", 12e-5, Decimal("39000")),
    )
}

# How an account currency is reached from USD: through which instrument, and which way.
_USD_PER = {"EUR": "EURUSD", "GBP": "GBPUSD"}
CURRENCIES = ("USD", "EUR", "GBP")


class Market:
    """The current bid of every instrument (ask = bid + spread), moved by `step` (the walk) or
    set outright (`set_bid`, a fake-only control). Thread-safe."""

    def __init__(self, bids: Mapping[str, Decimal] | None = None, *, seed: int | None = None):
        self._lock = threading.Lock()
        self._bids = {s: i.start.quantize(i.point) for s, i in INSTRUMENTS.items()}
        for symbol, bid in (bids or {}).items():
            if symbol in INSTRUMENTS:
                self._bids[symbol] = Decimal(bid).quantize(INSTRUMENTS[symbol].point)
        self._random = random.Random(seed)  # noqa: S311  (prices for a demo, not secrets)

    def bids(self) -> dict[str, Decimal]:
        with self._lock:
            return dict(self._bids)

    def quote(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(bid, ask) of an instrument."""
        instrument = INSTRUMENTS[symbol]
        with self._lock:
            bid = self._bids[symbol]
        return bid, bid + instrument.spread

    def set_bid(self, symbol: str, bid: Decimal) -> None:
        instrument = INSTRUMENTS[symbol]
        with self._lock:
            self._bids[symbol] = Decimal(bid).quantize(instrument.point)

    def step(self) -> None:
        """One step of the random walk for every instrument."""
        with self._lock:
            for symbol, bid in self._bids.items():
                instrument = INSTRUMENTS[symbol]
                move = math.exp(self._random.gauss(0.0, instrument.volatility))
                moved = (bid * Decimal(repr(move))).quantize(instrument.point)
                self._bids[symbol] = max(moved, instrument.point)

    def usd_to(self, currency: str) -> Decimal:
        """How many units of `currency` one USD buys (mid price)."""
        pair = _USD_PER.get(currency)
        if pair is None:
            return Decimal(1)
        bid, ask = self.quote(pair)
        return 2 / (bid + ask)


def floating_profit(
    market: Market, *, symbol: str, side: str, volume: Decimal, open_price: Decimal, currency: str
) -> tuple[Decimal, Decimal]:
    """(profit in the account currency, the price the position would close at now): a buy
    closes at the bid, a sell at the ask."""
    instrument = INSTRUMENTS[symbol]
    bid, ask = market.quote(symbol)
    close = bid if side == "BUY" else ask
    move = close - open_price if side == "BUY" else open_price - close
    in_quote = move * volume * instrument.contract_size
    return in_quote * _quote_to(market, instrument, currency), close


def margin(
    market: Market, *, symbol: str, volume: Decimal, leverage: Decimal, currency: str
) -> Decimal:
    """The margin a position holds: its notional (in the quote currency) over the account's
    leverage, in the account currency."""
    instrument = INSTRUMENTS[symbol]
    bid, _ = market.quote(symbol)
    notional = volume * instrument.contract_size * bid
    return notional / max(leverage, Decimal(1)) * _quote_to(market, instrument, currency)


def _quote_to(market: Market, instrument: Instrument, currency: str) -> Decimal:
    if instrument.quote_currency == currency:
        return Decimal(1)
    return market.usd_to(currency)


class Walk:
    """Steps a market `rate` times a second on a thread of its own, calling `after` after each
    step (the book revalues nothing: equity is computed when read)."""

    def __init__(self, market: Market, rate: float, after: Callable[[], None] | None = None):
        self.market = market
        self.rate = rate
        self.after = after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.rate <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="fake-mt-walk", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(1.0 / self.rate):
            self.market.step()
            if self.after is not None:
                self.after()
