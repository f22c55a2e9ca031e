"""Rules, events and outcomes: the evaluator's vocabulary (docs/rules.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, DivisionByZero, Overflow
from decimal import InvalidOperation as DecimalInvalid
from typing import Any
from zoneinfo import ZoneInfo

from .errors import RulesError, shown

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

# Outcome kinds.
PAUSED = "paused"
RESUMED = "resumed"
PASSED = "passed"
FAILED = "failed"
IN_PROGRESS = "in_progress"

BASES = ("prev_day_balance", "prev_day_equity", "prev_day_max_balance_equity", "initial_balance")
OF_VALUES = ("initial", "basis")
ACTIONS = ("fail", "pause")
MODES = ("static", "trailing_intraday", "trailing_eod")

IN = "in"
OUT = "out"

# A decimal string: what JSON allows for a number, plus a leading "+" and a bare "." side. No
# whitespace, underscores, NaN or infinities, which Decimal() alone would let through.
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
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


def format_time(t: datetime) -> str:
    """UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the fraction without trailing zeros."""
    u = t.astimezone(UTC)
    text = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        text += "." + f"{u.microsecond:06d}".rstrip("0")
    return text + "Z"


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
_DAILY_KEYS = frozenset({"pct", "basis", "of", "action"})
_MAX_LOSS_KEYS = frozenset({"pct", "mode", "lock_at_initial"})
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
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    reset_time: time = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validates what a direct construction could get wrong, so an Evaluator never sees it.
        object.__setattr__(self, "zone", _zone(self.timezone))
        object.__setattr__(self, "reset_time", _reset(self.day_reset))
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
            },
            "max_loss_per_trade_pct": _opt_str(self.max_loss_per_trade_pct),
            "min_trading_days": self.min_trading_days,
            "trading_period_days": self.trading_period_days,
            "inactivity_days": self.inactivity_days,
            "best_day_max_pct": _opt_str(self.best_day_max_pct),
            "upgrade_immediately": self.upgrade_immediately,
        }


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfo raises several kinds for a bad key; each means "unknown".
        raise RulesError(f"timezone: unknown time zone {shown(name)}") from None


def _reset(text: str) -> time:
    match = _RESET_TEXT.match(text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise RulesError(f'day_reset must be "HH:MM" (00:00 to 23:59), got {shown(text)}')
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
    )


# --------------------------------------------------------------------------- events, outcomes


@dataclass(slots=True)
class Equity:
    """The platform's snapshot of the account: balance (closed P/L) and equity (with floating)."""

    t: datetime
    balance: Decimal
    equity: Decimal


@dataclass(slots=True)
class Deal:
    """A deal: `entry` "in" opens `position`, "out" closes it with the trade's net `profit`."""

    t: datetime
    position: str | int
    entry: str
    profit: Decimal | None = None


Event = Equity | Deal


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
