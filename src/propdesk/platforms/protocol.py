"""What propdesk asks of a trading platform, whatever the platform is.

Challenge accounts live behind this protocol so that a firm is never tied to one platform: the
built-in sandbox is one implementation, MT5 and others plug in the same way (see `adapters`).
Nothing here knows how a platform keeps its accounts.

Money crosses the protocol as `Decimal`. Events come in the shapes of docs/rules.md:

    {"t": "...+00:00", "type": "equity", "balance": "100000.00", "equity": "99850.00"}
    {"t": "...", "type": "deal", "position": "p1", "entry": "in", "symbol": "EURUSD",
     "volume": "1.00"}
    {"t": "...", "type": "deal", "position": "p1", "entry": "out", "symbol": "EURUSD",
     "volume": "1.00", "profit": "-150.00"}

A position closed in parts shows each part in the balance of the next `equity` snapshot; its one
`out` deal comes when the last part closes, with the whole volume and the trade's net result
(every part's profit), so the stream stays valid input for the rule evaluator. Consumers read the
stream from a cursor they keep: `events(after=cursor)` returns what came after it, in order, each
event exactly once.

A reader with nothing to read need not poll: a platform that can say when its stream moved
offers `event_waiter()` (see `ForIdleReaders`; optional, and it may give None). The sandbox on
PostgreSQL does (LISTEN/NOTIFY); a remote platform would long-poll or subscribe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str
    server: str

    def as_dict(self) -> dict[str, str]:
        return {"login": self.login, "password": self.password, "server": self.server}


@dataclass(frozen=True)
class OpenPosition:
    position: str
    symbol: str
    side: str  # "buy" or "sell"
    volume: Decimal
    open_price: Decimal
    current_price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    profit: Decimal
    opened_at: datetime


@dataclass(frozen=True)
class AccountState:
    login: str
    currency: str
    balance: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    trading_enabled: bool
    positions: Sequence[OpenPosition] = field(default_factory=tuple)

    @property
    def margin_level(self) -> Decimal | None:
        """Equity as a percentage of the margin in use (None with nothing open)."""
        if not self.margin:
            return None
        return (self.equity * 100 / self.margin).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class DealRecord:
    deal: str
    at: datetime
    kind: str  # "buy", "sell" or "balance"
    entry: str  # "in", "out" or "" for a balance operation
    position: str
    symbol: str
    volume: Decimal
    price: Decimal
    profit: Decimal
    comment: str


@dataclass(frozen=True)
class AccountEvent:
    cursor: int
    login: str
    payload: dict[str, Any]  # one line of docs/rules.md's Input 2


class TradingPlatform(Protocol):
    """One configured connection to a trading server."""

    def create_account(
        self, *, group: str, leverage: int, balance: Decimal, currency: str, comment: str = ""
    ) -> Credentials: ...

    def set_trading_enabled(self, login: str, enabled: bool, *, reason: str = "") -> None: ...

    def set_login_enabled(self, login: str, enabled: bool) -> None:
        """Whether the account may connect at all (a terminal, the platform's API): off, its
        owner can neither trade nor look; its sessions end."""
        ...

    def balance_operation(self, login: str, amount: Decimal, comment: str) -> DealRecord: ...

    def account_state(self, login: str) -> AccountState: ...

    def trade_history(self, login: str) -> Sequence[DealRecord]: ...

    def events(
        self, *, after: int = 0, limit: int = 1000, login: str | None = None
    ) -> Sequence[AccountEvent]: ...


class EventWaiter(Protocol):
    """One reader's way to sleep until a platform's stream may have moved."""

    def wait(self, *, after: int, timeout: float) -> bool:
        """True as soon as events after stream position `after` may have come (at once if
        they may already be there), False after `timeout` seconds without news. A True may be
        spurious (the reader looks and finds nothing); a False never hides events that came
        before the wait began."""
        ...

    def close(self) -> None: ...


class ForIdleReaders(Protocol):
    """Optional beside `TradingPlatform`: what spares a reader with nothing to read (the
    monitor, idle) from polling the stream itself. A platform may offer either, or neither."""

    def has_events(self, *, after: int) -> bool:
        """Whether events came after stream position `after`: a cheap look (without it a
        reader asks `events(after=after, limit=1)`)."""
        ...

    def event_waiter(self) -> EventWaiter | None:
        """A new waiter for one reader (its own resources, closed by the reader), or None when
        this installation of the platform cannot tell (the reader polls)."""
        ...
