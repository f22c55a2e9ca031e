"""What the fake Match-Trader's parts share: the documented enumerations, the error an answer
other than success is raised as, the pre-configured offers, and how times and amounts are
written. Standard library only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

ACCESS_RIGHTS = (
    "FULL",
    "CLOSE_ONLY",
    "TRADING_DISABLED",
    "TRADING_AND_LOGIN_DISABLED",
    "LOCKED_CLOSE_ONLY",
)
# What a trader (the fake-only trading controls) may still do under each access right.
MAY_OPEN = {"FULL"}
MAY_CLOSE = {"FULL", "CLOSE_ONLY", "LOCKED_CLOSE_ONLY"}
# The ledger's entry types (the Get Ledgers page); the fake writes the first five (a balance
# operation's, a close's) and takes every one as a filter.
LEDGER_TYPES = (
    "DEPOSIT",
    "WITHDRAWAL",
    "CREDIT_IN",
    "CREDIT_OUT",
    "CLOSED_POSITION",
    "AGENT_COMMISSION",
    "COMMISSIONS",
    "SWAPS",
)
CENT = Decimal("0.01")
FIRST_LOGIN = 410001


class ApiError(Exception):
    """An answer other than success, in the shape of the documented error body."""

    def __init__(self, status: int, title: str, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind  # the last part of the error's `type` (error://broker-api/<kind>)


def bad_request(detail: str, kind: str = "validation-failed") -> ApiError:
    return ApiError(400, "Bad Request", detail, kind)


def not_found(detail: str, kind: str = "not-found") -> ApiError:
    return ApiError(404, "Not Found", detail, kind)


@dataclass(frozen=True)
class Offer:
    """A pre-configured offer (offers cannot be created through the API): a name traders see,
    the trading group its accounts go to, their currency and whether it is a demo."""

    name: str
    group: str
    currency: str = "USD"
    demo: bool = True
    leverage: int = 100
    uuid: str = field(default="")

    def __post_init__(self) -> None:
        if not self.uuid:  # stable across restarts, so a configured mapping stays right
            stable = uuid.uuid5(uuid.NAMESPACE_URL, f"fake-match-trader/offer/{self.name}")
            object.__setattr__(self, "uuid", str(stable))

    @classmethod
    def parse(cls, text: str) -> Offer:
        """`NAME:GROUP[:CURRENCY[:demo|live[:LEVERAGE]]]`, as the CLI's --offer takes it."""
        parts = text.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(
                f"an offer is NAME:GROUP[:CURRENCY[:demo|live[:LEVERAGE]]], not {text!r}"
            )
        currency = parts[2].upper() if len(parts) > 2 and parts[2] else "USD"
        demo = (parts[3].lower() != "live") if len(parts) > 3 else True
        leverage = int(parts[4]) if len(parts) > 4 else 100
        return cls(parts[0], parts[1], currency, demo, leverage)


DEFAULT_OFFERS = (
    Offer("Challenge 100K", "challenge-usd", "USD", demo=True, leverage=100),
    Offer("Funded", "funded-usd", "USD", demo=False, leverage=100),
)


def now_iso() -> str:
    """RFC 3339 with milliseconds, UTC, as the platform writes times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise bad_request(f"{name} is not an RFC 3339 date-time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def number(value: Decimal) -> float:
    """A JSON number for an amount already rounded (floats print the shortest exact text)."""
    return float(value)
