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
    {"t": "...", "type": "balance", "amount": "-5000.00"}

A `balance` event is money the firm moved in or out (a balance operation, a payout), followed by
the snapshot that shows it. The sandbox writes it with the operation; Match-Trader's ingestor
finds it in the account's ledger (each deposit and withdrawal, once). A platform whose ingestor
cannot tell one would show it in the next snapshot's balance only, as a trade's result.

A position closed in parts shows each part in the balance of the next `equity` snapshot; its one
`out` deal comes when the last part closes, with the whole volume and the trade's net result
(every part's profit), so the events stay valid input for the rule evaluator.

Events reach propdesk through each server's `Ingestor`, which takes in what the platform pushes
or is polled for and appends it to the account-event log (platforms.eventlog) in order, each
event once. The monitor reads only the log, from a cursor it keeps; it asks a platform for
nothing but new events (`Ingestor.pull`), and, when the platform can say its events moved, a
way to sleep until they do (`Ingestor.waiter`, optional: None and the monitor polls). The
sandbox's ingestor copies its stream and, on PostgreSQL, wakes the monitor with LISTEN/NOTIFY;
a remote platform would long-poll or subscribe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
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


class Access(StrEnum):
    """What an account may do on its platform, from most to least. Each adapter maps these to
    its platform's own switches (Match-Trader's access rights, the sandbox's flags)."""

    FULL = "full"  # log in, open and close positions
    CLOSE_ONLY = "close_only"  # log in and close what is open; no new positions
    NO_TRADING = "no_trading"  # log in and look; no order at all
    NO_LOGIN = "no_login"  # no login at all (its sessions end)


@dataclass(frozen=True)
class AccountOwner:
    """Who an account is opened for, for a platform that keeps its own users (Match-Trader's
    user accounts are found by email)."""

    email: str
    first_name: str = ""
    last_name: str = ""
    country: str = ""  # ISO 3166 alpha-2


class PlatformError(Exception):
    """A platform's call did not do what was asked. `transient`: worth trying again as it is
    (a timeout, a 5xx, a rate limit, the server away); otherwise it was refused (a 4xx) and
    trying again changes nothing until a person puts something right. `answer` is what the
    platform said (its error body, cut short), for staff to read."""

    def __init__(self, message: str, *, transient: bool, answer: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.answer = answer[:2000]


class TradingPlatform(Protocol):
    """One configured connection to a trading server.

    Every call that changes something is safe to repeat: `create_account` and
    `balance_operation` take an idempotency `key` (the same key again returns the first
    result, never a second account or a second payment), and `set_access` and
    `close_positions` leave the account as asked however often they run. Calls raise
    `PlatformError`. None of them is made inside one of propdesk's transactions: the outbox
    (platforms.outbox) carries them out after the transaction that asked for them commits."""

    def create_account(
        self,
        *,
        group: str,
        leverage: int,
        balance: Decimal,
        currency: str,
        key: str,
        owner: AccountOwner | None = None,
        comment: str = "",
    ) -> Credentials:
        """Open an account with its starting balance. The password may be "" when the
        platform's user already had one (Match-Trader: one password per user account)."""
        ...

    def set_access(self, login: str, access: Access, *, reason: str = "") -> None: ...

    def balance_operation(
        self, login: str, amount: Decimal, comment: str, *, key: str
    ) -> DealRecord: ...

    def close_positions(self, login: str, *, reason: str = "") -> int:
        """Close every open position at the market; returns how many were closed now."""
        ...

    def account_state(self, login: str) -> AccountState: ...

    def trade_history(self, login: str) -> Sequence[DealRecord]: ...

    def check_connection(self) -> str:
        """Reach the platform with the configured address and key: a sentence saying what
        answered (raises PlatformError when nothing sensible did)."""
        ...

    def ingestor(self) -> Ingestor:
        """The one ingestor of this server's events (see `Ingestor`)."""
        ...


class Ingestor(Protocol):
    """Turns a platform's pushes or polls into the account events of docs/rules.md and appends
    them to the account-event log (platforms.eventlog), in order and once, also across
    restarts and reconnects: what it has taken in is remembered with the log (`IngestCursor`),
    and after a gap it reconciles from the platform's history. Equity snapshots are written at
    each new low or high of an account's equity and at every quarter hour, so no floor is
    missed between two snapshots."""

    def pull(self) -> int:
        """Take in what is new at the platform; returns how many events were appended. Raises
        PlatformError when the platform cannot be read (the caller tries again later)."""
        ...

    def waiter(self) -> EventWaiter | None:
        """A way to sleep until the platform may have news, or None (the caller polls)."""
        ...

    def close(self) -> None: ...


class EventWaiter(Protocol):
    """One reader's way to sleep until a platform may have new events for its ingestor."""

    def wait(self, *, after: int, timeout: float) -> bool:
        """True as soon as the platform may have events its ingestor has not taken in (at once
        if they may already be there), False after `timeout` seconds without news. A True may
        be spurious (the reader pulls and finds nothing); a False never hides events that came
        before the wait began. `after`: the reader's position in the log, for a waiter that
        can use it."""
        ...

    def close(self) -> None: ...
