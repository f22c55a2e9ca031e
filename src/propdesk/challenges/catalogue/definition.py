"""A challenge's definition, typed.

`ChallengeDefinition` is what `catalogue.services.clean_definition` makes of the JSON a firm
sends (the API takes it as is; the back office's form builds it), the one place it is checked.
`ChallengeVersion.definition` keeps its JSON form (`to_json`), unchanged from the canonical
dict the catalogue has always stored, and `ChallengeVersion.spec` reads it back: the rest of
the code reads typed attributes, never the dict.

A stage's rules are the rule contract's object (docs/rules.md) in its canonical form
(`propdesk.rules.Rules.to_dict`): `StageRules` types it for reading, and `to_rules` hands the
evaluator its own `Rules`, parsed by the contract's own parser.

`ChallengeDefinitionIn` and its parts document the body the API takes (every field the
catalogue fills in when left out is optional there); they describe, they do not check: the
catalogue's checks name each fault by its path (`stages.1.rules`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db import models
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from propdesk.core.money import MINOR_UNITS
from propdesk.core.schema import DECIMAL_PATTERN, DecimalText, fixed_point
from propdesk.rules.model import (
    BreachAction,
    DailyLossBasis,
    DailyLossOf,
    MaxLossMode,
    Rules,
    TradingDayCounts,
    Weekday,
)

__all__ = [
    "MAX_OPEN_POSITIONS",
    "MAX_OPEN_VOLUME",
    "MAX_STAGES",
    "BreachAction",
    "ChallengeDefinition",
    "ChallengeDefinitionIn",
    "DailyLossBasis",
    "DailyLossLimit",
    "DailyLossOf",
    "MaxLossLimit",
    "MaxLossMode",
    "PaymentWay",
    "PayoutSchedule",
    "PayoutTiming",
    "Progression",
    "ResetOffer",
    "RetryOffer",
    "StageDefinition",
    "StageKind",
    "StageRules",
    "TradingDayCounts",
    "TradingDayLimit",
    "Weekday",
    "WeekendClose",
]


MAX_STAGES = 5
# The catalogue's own bounds on version 2's limits (the contract has none above): a firm's
# rule book, not a typing accident, sets them.
MAX_OPEN_POSITIONS = 10_000
MAX_OPEN_VOLUME = Decimal("100000")


class StageKind(models.TextChoices):
    """A demo stage trades the firm's demo books; a live (funded) one its money, and never
    passes."""

    DEMO = "demo", "Demo"
    LIVE = "live", "Live"


class Progression(models.TextChoices):
    """How a passed demo stage leads to the next demo stage (a live stage always takes the
    live step, a person's decision)."""

    AUTOMATIC = "automatic", "Automatic: a passed demo stage opens the next one"
    APPROVED = "approved", "Approved: staff approve the move to the next demo stage"


class OnBreach(models.TextChoices):
    """What a stage's end (a breach, a pass) does to the positions still open on its account.
    Either way the account can no longer open positions."""

    LEAVE = "leave", "Leave them: the trader may still close them"
    CLOSE = "close", "Close them all at the market"


class PayoutTiming(models.TextChoices):
    """When a funded trader may ask for a payout."""

    ON_REQUEST = "on_request", "On request: after N days from the live start, then every M days"
    FIXED_DAYS = "fixed_days", "On fixed days of the month"


class PaymentWay(models.TextChoices):
    """How a client may pay the fee (`Participation.Payment` records the one they chose)."""

    WALLET = "wallet", "Wallet deduction (from the client's wallet)"
    DIRECT = "direct", "Direct purchase (through a payment method)"


# A decimal kept as its own text ("499.00", "8"), written fixed-point ("0.0000001", never
# "1E-7") as the pattern says: read back as the same number.
DecimalStr = Annotated[
    Decimal,
    PlainSerializer(fixed_point, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": DECIMAL_PATTERN,
            "description": 'A decimal number as text, e.g. "100.00"',
        }
    ),
]
Currency = Literal["USD", "EUR", "GBP", "CHF", "CZK", "PLN", "AUD", "CAD", "JPY"]
assert set(Currency.__args__) == set(MINOR_UNITS)  # type: ignore[attr-defined]


class _Kept(BaseModel):
    # Exactly the keys the catalogue stores; a version never changes once made.
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The JSON form kept in the database (and shown by the API)."""
        return self.model_dump(mode="json")


# --- as kept (and read back) ---------------------------------------------------------------------


class DailyLossLimit(_Kept):
    """The rules' `max_daily_loss`."""

    pct: DecimalStr
    basis: DailyLossBasis
    of: DailyLossOf
    action: BreachAction


def _zero(value: Decimal) -> bool:
    return value == 0


def _none(value: object) -> bool:
    return value is None


class MaxLossLimit(_Kept):
    """The rules' `max_loss`; `lock_offset` is kept only when not 0, as the contract's
    canonical form writes it (a version-1 definition reads back unchanged)."""

    pct: DecimalStr
    mode: MaxLossMode
    lock_at_initial: bool
    lock_offset: DecimalStr = Field(default=Decimal(0), exclude_if=_zero)


class TradingDayLimit(_Kept):
    """The rules' `trading_day` (kept only when it is not the default: any day with a position
    opened counts)."""

    counts: TradingDayCounts
    min_profit_pct: DecimalStr | None


class WeekendClose(_Kept):
    """The rules' `weekend_close`: every position closed by this local weekday and time."""

    day: Weekday
    time: str


class StageRules(_Kept):
    """A stage's rules in the contract's canonical form: every version-1 key present, version
    2's only when set (`Rules.to_dict` writes them only when they differ from the default)."""

    initial_balance: DecimalStr
    timezone: str
    day_reset: str
    profit_target_pct: DecimalStr | None
    max_daily_loss: DailyLossLimit | None
    max_loss: MaxLossLimit | None
    max_loss_per_trade_pct: DecimalStr | None
    min_trading_days: int
    trading_period_days: int | None
    inactivity_days: int | None
    best_day_max_pct: DecimalStr | None
    upgrade_immediately: bool
    trading_day: TradingDayLimit | None = Field(default=None, exclude_if=_none)
    max_open_positions: int | None = Field(default=None, exclude_if=_none)
    max_open_volume: DecimalStr | None = Field(default=None, exclude_if=_none)
    weekend_close: WeekendClose | None = Field(default=None, exclude_if=_none)

    def to_rules(self) -> Rules:
        """The evaluator's rules (the contract's parser reads its own canonical form)."""
        return Rules.parse(self.to_json())


class PayoutSchedule(_Kept):
    """When and how a live stage's trader is paid their share of the profit (the share itself
    is each live stage's `profit_share_pct`).

    `on_request`: the first payout may be asked for `first_after_days` after the live stage
    started, each later one `every_days` after the previous payout was asked for. `fixed_days`:
    on or after the next of these days of the month (1 to 28, in the challenge's time zone)
    that falls after the live start plus `first_after_days` and after the previous payout.
    `min_payout`: the trader's share must reach it. The conditions are over the period since
    the previous payout (or the live start): at least `min_trading_days` trading days (as the
    stage's rules count them), no day's profit above `consistency_pct` % of the period's
    profit, and, with `no_open_positions`, nothing open when the trader asks."""

    timing: PayoutTiming
    first_after_days: int
    every_days: int | None  # on_request's
    fixed_days: tuple[int, ...] = Field(default=(), exclude_if=lambda days: not days)
    min_payout: DecimalStr
    min_trading_days: int = Field(default=0, exclude_if=_zero)
    consistency_pct: DecimalStr | None = Field(default=None, exclude_if=_none)
    no_open_positions: bool = Field(default=False, exclude_if=lambda value: not value)


class RetryOffer(_Kept):
    """A failed participation may be tried again, from the first stage on a fresh account, for
    `fee`; within `discount_days` of the failure the fee is `discount_pct` % lower."""

    fee: DecimalStr
    discount_pct: DecimalStr | None = Field(default=None, exclude_if=_none)
    discount_days: int | None = Field(default=None, exclude_if=_none)


class ResetOffer(_Kept):
    """A running demo stage may be started over on a fresh account at its starting balance,
    for `fee`."""

    fee: DecimalStr


class StageDefinition(_Kept):
    name: str
    kind: StageKind
    balance: DecimalStr  # the account's starting balance, in the challenge's currency
    leverage: int
    group: str  # the trading platform's group the account opens in
    profit_share_pct: DecimalStr | None  # a live stage's; None on a demo stage
    rules: StageRules

    @property
    def is_live(self) -> bool:
        return self.kind == StageKind.LIVE


class ChallengeDefinition(_Kept):
    name: str
    currency: Currency
    tags: tuple[str, ...]
    time_zone: str  # the trading days' (each stage's rules have it as their `timezone`)
    fee: DecimalStr
    fee_refundable: bool
    payment_ways: tuple[PaymentWay, ...]
    client_groups: tuple[str, ...]  # empty: every client may start it
    progression: Progression
    on_breach: OnBreach = OnBreach.LEAVE
    platform: str  # the trading server's name
    stages: tuple[StageDefinition, ...]
    # Kept only when set (a definition without them reads back as it always did).
    payouts: PayoutSchedule | None = Field(default=None, exclude_if=_none)
    retry: RetryOffer | None = Field(default=None, exclude_if=_none)
    reset: ResetOffer | None = Field(default=None, exclude_if=_none)


# --- as the API takes it (documentation only: catalogue.clean_definition checks it) -------------


class _Taken(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DailyLossLimitIn(_Taken):
    pct: DecimalText = Field(description="More than 0, less than 100")
    basis: DailyLossBasis
    of: DailyLossOf = DailyLossOf.INITIAL
    action: BreachAction = BreachAction.FAIL


class MaxLossLimitIn(_Taken):
    pct: DecimalText = Field(description="More than 0, less than 100")
    mode: MaxLossMode
    lock_at_initial: bool = True
    lock_offset: DecimalText = Field(
        default="0",
        description="At least 0: with lock_at_initial the floor stops this much above the "
        "initial balance",
    )


class TradingDayLimitIn(_Taken):
    counts: TradingDayCounts = Field(
        default=TradingDayCounts.OPENED,
        description="opened: a day with a position opened; opened_and_closed: a day with a "
        "position opened and closed within it",
    )
    min_profit_pct: DecimalText | None = Field(
        default=None,
        description="More than 0, less than 100: the day counts only with at least this profit "
        "(% of the initial balance)",
    )


class WeekendCloseIn(_Taken):
    day: Weekday
    time: str = Field(description="HH:MM, in the challenge's time zone")


class StageRulesIn(_Taken):
    """The rule contract's object (docs/rules.md). `initial_balance` and `timezone` come from
    the stage's balance and the challenge's time zone: leave them out (given, they must agree)."""

    initial_balance: DecimalText | None = None
    timezone: str | None = None
    day_reset: str = Field(default="00:00", description="HH:MM, in the challenge's time zone")
    profit_target_pct: DecimalText | None = None
    max_daily_loss: DailyLossLimitIn | None = None
    max_loss: MaxLossLimitIn | None = None
    max_loss_per_trade_pct: DecimalText | None = None
    min_trading_days: int = Field(default=0, ge=0)
    trading_period_days: int | None = Field(default=None, ge=1, description="None: unlimited")
    inactivity_days: int | None = Field(default=None, ge=1)
    best_day_max_pct: DecimalText | None = None
    upgrade_immediately: bool = True
    trading_day: TradingDayLimitIn = Field(
        default_factory=TradingDayLimitIn, description="Which days count as trading days"
    )
    max_open_positions: int | None = Field(
        default=None, ge=1, le=MAX_OPEN_POSITIONS, description="None: no limit"
    )
    max_open_volume: DecimalText | None = Field(
        default=None,
        description=f"Lots open at once: more than 0, at most {MAX_OPEN_VOLUME}; None: no limit",
    )
    weekend_close: WeekendCloseIn | None = Field(
        default=None, description="Every position closed by this weekday and time each week"
    )


class StageDefinitionIn(_Taken):
    name: str | None = Field(
        default=None, max_length=60, description='Left out: "Stage N", or "Funded" for live'
    )
    kind: StageKind = Field(description="Demo stages come before the live ones")
    balance: DecimalText = Field(description="The account size, in the challenge's currency")
    leverage: int = Field(default=100, ge=1, le=1000)
    group: str | None = Field(
        default=None, description="Left out: the platform's first group for the kind"
    )
    profit_share_pct: DecimalText | None = Field(
        default=None, description="A live stage's (more than 0, at most 100); only live"
    )
    rules: StageRulesIn


class PayoutScheduleIn(_Taken):
    timing: PayoutTiming = PayoutTiming.ON_REQUEST
    first_after_days: int = Field(
        default=14, ge=0, le=365, description="Days from the live start to the first payout"
    )
    every_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="on_request only: days between two payout requests (left out: 14)",
    )
    fixed_days: list[int] = Field(
        default=[],
        max_length=28,
        description="fixed_days only (and then required): days of the month, each 1 to 28",
    )
    min_payout: DecimalText = Field(
        default="0",
        description="The least trader's share paid out, in the challenge's currency; 0: none",
    )
    min_trading_days: int = Field(
        default=0, ge=0, le=365, description="Trading days in the period since the last payout"
    )
    consistency_pct: DecimalText | None = Field(
        default=None,
        description="More than 0, at most 100: no day's profit above this share of the "
        "period's profit",
    )
    no_open_positions: bool = Field(
        default=False, description="Nothing may be open when the trader asks"
    )


class RetryOfferIn(_Taken):
    fee: DecimalText = Field(description="What a retry costs, in the challenge's currency")
    discount_pct: DecimalText | None = Field(
        default=None, description="More than 0, less than 100: off the fee for an early retry"
    )
    discount_days: int | None = Field(
        default=None, ge=1, le=365, description="Days after the failure the discount lasts"
    )


class ResetOfferIn(_Taken):
    fee: DecimalText = Field(description="What a reset costs, in the challenge's currency")


class ChallengeDefinitionIn(_Taken):
    """A challenge's whole definition, as a firm sends it."""

    name: str = Field(max_length=100)
    currency: Currency
    tags: list[str] = Field(default=[], max_length=10, description="Each 1 to 30 characters")
    time_zone: str = Field(default="UTC", description="Defines the trading days")
    fee: DecimalText
    fee_refundable: bool = False
    payment_ways: list[PaymentWay] = Field(min_length=1)
    client_groups: list[str] = Field(
        default=[], max_length=50, description="The client groups that see it; empty: everyone"
    )
    progression: Progression = Progression.AUTOMATIC
    on_breach: OnBreach = Field(
        default=OnBreach.LEAVE, description="What a stage's end does to its open positions"
    )
    platform: str | None = Field(
        default=None, description="An enabled trading server's name; left out: the first one"
    )
    stages: list[StageDefinitionIn] = Field(min_length=1, max_length=MAX_STAGES)
    payouts: PayoutScheduleIn | None = Field(
        default=None, description="The live stages' payouts; required with a live stage"
    )
    retry: RetryOfferIn | None = Field(default=None, description="None: no paid retry")
    reset: ResetOfferIn | None = Field(default=None, description="None: no paid reset")
