"""Rules, and the names and arithmetic the evaluator shares (docs/rules.md); the events and
outcomes are in `events`, and also importable from here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, time
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, DivisionByZero, Overflow
from decimal import InvalidOperation as DecimalInvalid
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from .errors import RulesError, shown
from .events import Balance, Deal, Equity, Event, Outcome, format_time, position_order

# Every figure the spec defines is exact: this context never rounds (precision is only a cap, and
# the figures are sums and products of the input's own digits).
EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[DecimalInvalid, DivisionByZero, Overflow],
)
NEG_INF = Decimal("-Infinity")
ZERO = Decimal(0)
_CENT = Decimal("0.01")

# Rule names, as they appear in the output.
MAX_LOSS = "max_loss"
MAX_DAILY_LOSS = "max_daily_loss"
MAX_LOSS_PER_TRADE = "max_loss_per_trade"
TRADING_PERIOD = "trading_period"
INACTIVITY = "inactivity"
MAX_OPEN_POSITIONS = "max_open_positions"
MAX_OPEN_VOLUME = "max_open_volume"
WEEKEND_HOLDING = "weekend_holding"

# Outcome kinds.
PAUSED = "paused"
RESUMED = "resumed"
PASSED = "passed"
FAILED = "failed"
IN_PROGRESS = "in_progress"


class DailyLossBasis(StrEnum):
    """What a day's loss is measured from (`max_daily_loss.basis`)."""

    PREV_DAY_BALANCE = "prev_day_balance"
    PREV_DAY_EQUITY = "prev_day_equity"
    PREV_DAY_MAX_BALANCE_EQUITY = "prev_day_max_balance_equity"
    INITIAL_BALANCE = "initial_balance"
    DAY_PEAK_EQUITY = "day_peak_equity"


class DailyLossOf(StrEnum):
    """What the daily loss percentage is of (`max_daily_loss.of`)."""

    INITIAL = "initial"
    BASIS = "basis"


class BreachAction(StrEnum):
    """What a daily loss breach does (`max_daily_loss.action`)."""

    FAIL = "fail"
    PAUSE = "pause"


class MaxLossMode(StrEnum):
    """How the maximum-loss floor moves (`max_loss.mode`)."""

    STATIC = "static"
    TRAILING_INTRADAY = "trailing_intraday"
    TRAILING_EOD = "trailing_eod"


class TradingDayCounts(StrEnum):
    """Which days count as trading days (`trading_day.counts`)."""

    OPENED = "opened"
    OPENED_AND_CLOSED = "opened_and_closed"


class Weekday(StrEnum):
    """A day of the week (`weekend_close.day`), Monday first as `date.weekday()` counts."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


# The values as the parser checks them (plain strings, in the spec's order).
BASES = tuple(b.value for b in DailyLossBasis)
OF_VALUES = tuple(o.value for o in DailyLossOf)
ACTIONS = tuple(a.value for a in BreachAction)
MODES = tuple(m.value for m in MaxLossMode)
COUNTS = tuple(c.value for c in TradingDayCounts)
OPENED_AND_CLOSED = TradingDayCounts.OPENED_AND_CLOSED.value
WEEKDAYS = tuple(w.value for w in Weekday)

IN = "in"
OUT = "out"

# A decimal string: what JSON allows for a number, plus a leading "+" and a bare "." side. No
# whitespace, underscores, NaN or infinities, which Decimal() alone would let through.
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
# The values version 2 added are held to its limits: at most 15 digits before the point and 8
# after, no exponent (version-1 values keep version 1's wider reading, docs/rules.md section 1).
LIMITED_TEXT = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,8})?|\.[0-9]{1,8})\Z")
_RESET_TEXT = re.compile(r"([0-9]{2}):([0-9]{2})\Z")


def pct_of(pct: Decimal, amount: Decimal) -> Decimal:
    """`pct`% of `amount`, exactly."""
    return EXACT.multiply(amount, pct).scaleb(-2, EXACT)


def sub(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.subtract(a, b)


def add(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.add(a, b)


def decimal_text(value: Decimal) -> str:
    """A decimal as people write it, for explanations: no exponent, and no zeros past the
    cents that say nothing (5000.0000 reads 5000.00; the value is the same)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or not -60 < exponent < 60:
        return str(value)
    if exponent < -2:
        cents = value.quantize(_CENT, context=EXACT)
        value = cents if cents == value else value.normalize(EXACT)
    return f"{value:f}"


# ---------------------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class DailyLossRule:
    pct: Decimal
    basis: str
    of: str = "initial"
    action: str = "fail"


@dataclass(frozen=True, slots=True)
class MaxLossRule:
    pct: Decimal
    mode: str
    lock_at_initial: bool = True
    lock_offset: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class TradingDayRule:
    """Which days count as trading days: `counts` and, optionally, a least day profit."""

    counts: str = "opened"
    min_profit_pct: Decimal | None = None


_TimeOfDay = time  # WeekendCloseRule's field `time` hides the type inside its class


@dataclass(frozen=True, slots=True)
class WeekendCloseRule:
    """Every position closed by this local weekday and time each week."""

    day: str
    time: str

    @property
    def weekday(self) -> int:
        """Monday 0 ... Sunday 6, as `date.weekday()`."""
        return WEEKDAYS.index(self.day)

    @property
    def at(self) -> _TimeOfDay:
        return _reset(self.time, "weekend_close.time")


_TOP_KEYS = frozenset(
    {
        "initial_balance",
        "timezone",
        "day_reset",
        "profit_target_pct",
        "max_daily_loss",
        "max_loss",
        "max_loss_per_trade_pct",
        "min_trading_days",
        "trading_period_days",
        "inactivity_days",
        "best_day_max_pct",
        "upgrade_immediately",
    }
)
_V2_KEYS = ("trading_day", "max_open_positions", "max_open_volume", "weekend_close")
_TOP_KEYS = _TOP_KEYS | frozenset(_V2_KEYS)
_DAILY_KEYS = frozenset({"pct", "basis", "of", "action"})
_MAX_LOSS_KEYS = frozenset({"pct", "mode", "lock_at_initial", "lock_offset"})
_TRADING_DAY_KEYS = frozenset({"counts", "min_profit_pct"})
_WEEKEND_KEYS = frozenset({"day", "time"})
_EVERY_DAY = TradingDayRule()
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class Rules:
    """A stage's rules, validated; build with `Rules.parse` (an object) or `Rules.from_json`."""

    initial_balance: Decimal
    timezone: str
    day_reset: str = "00:00"
    profit_target_pct: Decimal | None = None
    max_daily_loss: DailyLossRule | None = None
    max_loss: MaxLossRule | None = None
    max_loss_per_trade_pct: Decimal | None = None
    min_trading_days: int = 0
    trading_period_days: int | None = None
    inactivity_days: int | None = None
    best_day_max_pct: Decimal | None = None
    upgrade_immediately: bool = True
    trading_day: TradingDayRule = _EVERY_DAY
    max_open_positions: int | None = None
    max_open_volume: Decimal | None = None
    weekend_close: WeekendCloseRule | None = None
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    reset_time: time = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validates what a direct construction could get wrong, so an Evaluator never sees it.
        object.__setattr__(self, "zone", _zone(self.timezone))
        object.__setattr__(self, "reset_time", _reset(self.day_reset, "day_reset"))
        if self.weekend_close is not None:
            self.weekend_close.at  # noqa: B018 - validates the time
        if not self.initial_balance > 0:
            raise RulesError(f"initial_balance must be > 0, got {self.initial_balance}")
        if not self.upgrade_immediately and self.trading_period_days is None:
            raise RulesError(
                "upgrade_immediately false needs a trading_period_days: with an unlimited "
                "period the stage could never pass"
            )

    @classmethod
    def from_json(cls, text: str) -> Rules:
        """Rules from JSON text; JSON numbers are read through their decimal text."""
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            obj = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise RulesError(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
        except (ValueError, RecursionError) as exc:
            raise RulesError(f"invalid JSON: {exc}") from None
        return cls.parse(obj)

    @classmethod
    def parse(cls, obj: Any) -> Rules:
        """Validate a decoded JSON object; raises RulesError naming the key at fault."""
        if not isinstance(obj, dict):
            raise RulesError("the rules must be a JSON object")
        _no_unknown(obj, _TOP_KEYS, "")
        initial = _decimal(obj, "initial_balance", required=True)
        assert initial is not None
        if not initial > 0:
            raise RulesError(f"initial_balance must be > 0, got {shown(obj['initial_balance'])}")
        zone_name = obj.get("timezone", _ABSENT)
        if zone_name is _ABSENT:
            raise RulesError("timezone is required")
        if not isinstance(zone_name, str):
            raise RulesError(f"timezone must be an IANA time zone name, got {shown(zone_name)}")
        reset = obj.get("day_reset", "00:00")
        if not isinstance(reset, str):
            raise RulesError(f'day_reset must be "HH:MM", got {shown(reset)}')
        period = _integer(obj, "trading_period_days", minimum=1, nullable=True)
        upgrade = _boolean(obj, "upgrade_immediately", default=True)
        return cls(
            initial_balance=initial,
            timezone=zone_name,
            day_reset=reset,
            profit_target_pct=_pct(obj, "profit_target_pct"),
            max_daily_loss=_daily_rule(obj.get("max_daily_loss")),
            max_loss=_max_loss_rule(obj.get("max_loss")),
            max_loss_per_trade_pct=_pct(obj, "max_loss_per_trade_pct"),
            min_trading_days=_integer(obj, "min_trading_days", minimum=0, default=0) or 0,
            trading_period_days=period,
            inactivity_days=_integer(obj, "inactivity_days", minimum=1, nullable=True),
            best_day_max_pct=_pct(obj, "best_day_max_pct"),
            upgrade_immediately=upgrade,
            trading_day=_trading_day_rule(obj.get("trading_day", _ABSENT)),
            max_open_positions=_integer(obj, "max_open_positions", minimum=1, nullable=True),
            max_open_volume=_limited(obj, "max_open_volume", positive=True),
            weekend_close=_weekend_rule(obj.get("weekend_close")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form (every key present), which `parse` reads back."""
        daily = self.max_daily_loss
        max_loss = self.max_loss
        return {
            "initial_balance": str(self.initial_balance),
            "timezone": self.timezone,
            "day_reset": self.day_reset,
            "profit_target_pct": _opt_str(self.profit_target_pct),
            "max_daily_loss": None
            if daily is None
            else {
                "pct": str(daily.pct),
                "basis": daily.basis,
                "of": daily.of,
                "action": daily.action,
            },
            "max_loss": None
            if max_loss is None
            else {
                "pct": str(max_loss.pct),
                "mode": max_loss.mode,
                "lock_at_initial": max_loss.lock_at_initial,
                **({"lock_offset": str(max_loss.lock_offset)} if max_loss.lock_offset else {}),
            },
            "max_loss_per_trade_pct": _opt_str(self.max_loss_per_trade_pct),
            "min_trading_days": self.min_trading_days,
            "trading_period_days": self.trading_period_days,
            "inactivity_days": self.inactivity_days,
            "best_day_max_pct": _opt_str(self.best_day_max_pct),
            "upgrade_immediately": self.upgrade_immediately,
            **self._v2_dict(),
        }

    def _v2_dict(self) -> dict[str, Any]:
        """Version 2's keys, those that differ from their default only: a version-1 rule set
        keeps the canonical form it always had (stored definitions and states compare equal)."""
        out: dict[str, Any] = {}
        day = self.trading_day
        if day != _EVERY_DAY:
            out["trading_day"] = {
                "counts": day.counts,
                "min_profit_pct": _opt_str(day.min_profit_pct),
            }
        if self.max_open_positions is not None:
            out["max_open_positions"] = self.max_open_positions
        if self.max_open_volume is not None:
            out["max_open_volume"] = str(self.max_open_volume)
        if self.weekend_close is not None:
            out["weekend_close"] = {"day": self.weekend_close.day, "time": self.weekend_close.time}
        return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfo raises several kinds for a bad key; each means "unknown".
        raise RulesError(f"timezone: unknown time zone {shown(name)}") from None


def _reset(text: str, key: str) -> time:
    match = _RESET_TEXT.match(text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise RulesError(f'{key} must be "HH:MM" (00:00 to 23:59), got {shown(text)}')
    return time(int(match[1]), int(match[2]))


def _no_unknown(obj: dict[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - known)
    if unknown:
        raise RulesError(f"unknown key {where}{unknown[0]}")


def parse_decimal(value: Any) -> Decimal | None:
    """A decimal string or a JSON number (already a Decimal of its text); None if neither."""
    if isinstance(value, str):
        return Decimal(value) if DECIMAL_TEXT.match(value) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def limited_decimal(value: Any) -> Decimal | None:
    """A version-2 value: as `parse_decimal`, within 15 digits before the point and 8 after, no
    exponent (a JSON number is held to the same through its digits); None if not one."""
    if isinstance(value, str):
        return Decimal(value) if LIMITED_TEXT.match(value) else None
    number = parse_decimal(value)
    if number is None:
        return None
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if exponent > 0 or len(digits) + exponent > 15 or -exponent > 8:
        return None
    return number


def _limited(
    obj: dict[str, Any], key: str, *, where: str = "", positive: bool, nullable: bool = True
) -> Decimal | None:
    """A version-2 decimal rule value (`limited_decimal`), > 0 or >= 0."""
    value = obj.get(key, _ABSENT)
    if value is _ABSENT:
        return None
    if value is None:
        if nullable:
            return None
        raise RulesError(f"{where}{key} may be absent but not null")
    number = limited_decimal(value)
    if number is None:
        raise RulesError(
            f"{where}{key} must be a decimal string (at most 15 digits before the point and 8 "
            f"after, no exponent), got {shown(value)}"
        )
    if positive and not number > 0:
        raise RulesError(f"{where}{key} must be > 0, got {shown(value)}")
    if not number >= 0:
        raise RulesError(f"{where}{key} must be >= 0, got {shown(value)}")
    return number


def _decimal(obj: dict[str, Any], key: str, *, where: str = "", required: bool) -> Decimal | None:
    value = obj.get(key, _ABSENT)
    if value is _ABSENT or value is None:
        if required:
            raise RulesError(f"{where}{key} is required")
        return None
    number = parse_decimal(value)
    if number is None:
        raise RulesError(f"{where}{key} must be a decimal string, got {shown(value)}")
    return number


def _pct(
    obj: dict[str, Any], key: str, *, where: str = "", required: bool = False
) -> Decimal | None:
    pct = _decimal(obj, key, where=where, required=required)
    if pct is not None and not 0 < pct < 100:
        raise RulesError(f"{where}{key} must be a percentage > 0 and < 100, got {pct}")
    return pct


def _integer(
    obj: dict[str, Any],
    key: str,
    *,
    minimum: int,
    default: int | None = None,
    nullable: bool = False,
) -> int | None:
    value = obj.get(key, _ABSENT)
    if value is _ABSENT:
        return default
    if value is None:
        if nullable:
            return None
        raise RulesError(f"{key} may be absent but not null")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RulesError(f"{key} must be an integer, got {shown(value)}")
    if value < minimum:
        raise RulesError(f"{key} must be an integer >= {minimum}, got {value}")
    return value


def _boolean(obj: dict[str, Any], key: str, *, default: bool, where: str = "") -> bool:
    value = obj.get(key, _ABSENT)
    if value is _ABSENT:
        return default
    if not isinstance(value, bool):
        raise RulesError(f"{where}{key} must be true or false, got {shown(value)}")
    return value


def _choice(
    obj: dict[str, Any], key: str, choices: tuple[str, ...], where: str, default: str | None
) -> str:
    value = obj.get(key, _ABSENT)
    if value is _ABSENT:
        if default is None:
            raise RulesError(f"{where}{key} is required")
        return default
    if not isinstance(value, str) or value not in choices:
        raise RulesError(f"{where}{key} must be one of {', '.join(choices)}, got {shown(value)}")
    return value


def _daily_rule(obj: Any) -> DailyLossRule | None:
    if obj is None:
        return None
    where = "max_daily_loss."
    if not isinstance(obj, dict):
        raise RulesError(f"max_daily_loss must be an object or null, got {shown(obj)}")
    _no_unknown(obj, _DAILY_KEYS, where)
    pct = _pct(obj, "pct", where=where, required=True)
    assert pct is not None
    return DailyLossRule(
        pct=pct,
        basis=_choice(obj, "basis", BASES, where, None),
        of=_choice(obj, "of", OF_VALUES, where, "initial"),
        action=_choice(obj, "action", ACTIONS, where, "fail"),
    )


def _max_loss_rule(obj: Any) -> MaxLossRule | None:
    if obj is None:
        return None
    where = "max_loss."
    if not isinstance(obj, dict):
        raise RulesError(f"max_loss must be an object or null, got {shown(obj)}")
    _no_unknown(obj, _MAX_LOSS_KEYS, where)
    pct = _pct(obj, "pct", where=where, required=True)
    assert pct is not None
    return MaxLossRule(
        pct=pct,
        mode=_choice(obj, "mode", MODES, where, None),
        lock_at_initial=_boolean(obj, "lock_at_initial", default=True, where=where),
        lock_offset=_limited(obj, "lock_offset", where=where, positive=False, nullable=False)
        or ZERO,
    )


def _trading_day_rule(obj: Any) -> TradingDayRule:
    if obj is _ABSENT:
        return _EVERY_DAY
    where = "trading_day."
    if not isinstance(obj, dict):
        raise RulesError(
            f"trading_day must be an object (it may be absent, not null), got {shown(obj)}"
        )
    _no_unknown(obj, _TRADING_DAY_KEYS, where)
    least = _limited(obj, "min_profit_pct", where=where, positive=True)
    if least is not None and not least < 100:
        raise RulesError(f"{where}min_profit_pct must be a percentage > 0 and < 100, got {least}")
    return TradingDayRule(
        counts=_choice(obj, "counts", COUNTS, where, "opened"), min_profit_pct=least
    )


def _weekend_rule(obj: Any) -> WeekendCloseRule | None:
    if obj is None:
        return None
    where = "weekend_close."
    if not isinstance(obj, dict):
        raise RulesError(f"weekend_close must be an object or null, got {shown(obj)}")
    _no_unknown(obj, _WEEKEND_KEYS, where)
    day = _choice(obj, "day", WEEKDAYS, where, None)
    at = obj.get("time", _ABSENT)
    if at is _ABSENT:
        raise RulesError(f"{where}time is required")
    if not isinstance(at, str):
        raise RulesError(f'{where}time must be "HH:MM", got {shown(at)}')
    rule = WeekendCloseRule(day=day, time=at)
    rule.at  # noqa: B018 - refuses a time that does not exist
    return rule


__all__ = [
    "UTC",
    "Balance",
    "Deal",
    "Equity",
    "Event",
    "Outcome",
    "format_time",
    "position_order",
]
