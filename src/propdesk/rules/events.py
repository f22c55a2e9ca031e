"""The evaluator's events and outcomes (docs/rules.md, sections 2 and 7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def format_time(t: datetime) -> str:
    """UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the fraction without trailing zeros."""
    u = t.astimezone(UTC)
    text = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        text += "." + f"{u.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(slots=True)
class Equity:
    """The platform's snapshot of the account: balance (closed P/L) and equity (with floating)."""

    t: datetime
    balance: Decimal
    equity: Decimal


@dataclass(slots=True)
class Deal:
    """A deal: `entry` "in" opens `position`, "out" closes it with the trade's net `profit`;
    `volume` in lots, when the platform gives it."""

    t: datetime
    position: str | int
    entry: str
    profit: Decimal | None = None
    volume: Decimal | None = None


@dataclass(slots=True)
class Balance:
    """Money the firm moved into (positive) or out of (negative) the account: not a trade."""

    t: datetime
    amount: Decimal


Event = Equity | Deal | Balance


def position_order(position: str | int) -> tuple[bool, str | int]:
    """A sort key for position ids, which may be numbers and text (numbers first)."""
    return (isinstance(position, str), position)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Something the rules did: a pause, a resume or the final verdict, and why."""

    at: datetime
    kind: str
    rule: str | None
    explanation: dict[str, Any] = field(compare=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The spec's form: exactly `at`, `kind` and `rule`."""
        return {"at": format_time(self.at), "kind": self.kind, "rule": self.rule}
