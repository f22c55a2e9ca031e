"""Reading events: one JSON line into an `Equity` or a `Deal`, or an error saying what is wrong.

Only the fields the spec gives a meaning to are read and checked (`t`, `type`, `balance`,
`equity`, `position`, `entry`, `profit` on an `out`, `volume`, and a balance event's `amount`);
anything else on a line is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import EventError, shown
from .model import DECIMAL_TEXT, IN, OUT, Balance, Deal, Equity, Event, limited_decimal

_ABSENT = object()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# JSON numbers become the Decimal of their own text: 100000, 1e5 and 100000.00 stay exact.
_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant, strict=True
)

_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_from_iso = datetime.fromisoformat
_JSON_SPACE = " \t\n\r"
# A decimal string made of digits, "." and "-" only is one Decimal() reads exactly as the spec
# means it, or one it refuses; anything else must match DECIMAL_TEXT. (Decimal() alone would
# accept " 1", "1_000" and "NaN".)
_PLAIN = "0123456789.-"


def parse_time(value: Any, what: str = "t") -> datetime:
    """An ISO 8601 time with a UTC offset."""
    if not isinstance(value, str):
        raise EventError(f"{what} must be an ISO 8601 time string, got {shown(value)}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{what} is not an ISO 8601 time: {shown(value)}") from None
    if t.tzinfo is None:
        raise EventError(f"{what} has no UTC offset: {shown(value)}")
    # Years 1 and 9999 would overflow when moved to another zone; no account trades then.
    if not 1 < t.year < 9999:
        raise EventError(f"{what} is out of the supported range (years 2 to 9998): {shown(value)}")
    return t


def parse_line(text: str) -> Event:
    """One line of the events file (without its line number; the caller adds it)."""
    try:
        # The C scanner without `json.loads`' wrapping costs half as much; the wrapping only
        # matters for lines that are not a bare object, which `_decode` handles.
        obj, end = _SCAN(text, 0)
    except StopIteration:
        obj = _decode(text)
    except json.JSONDecodeError as exc:
        raise EventError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise EventError(f"invalid JSON: {exc}") from None
    else:
        if end != len(text) and text[end:].strip(_JSON_SPACE):
            obj = _decode(text)
    # Most lines are plain equity snapshots: read them inline, and leave everything else (and
    # every error message) to parse_event, which reads any valid line to the same event.
    if obj.__class__ is dict and obj.get("type") == "equity":
        t = obj.get("t")
        balance = obj.get("balance")
        equity = obj.get("equity")
        if (
            t.__class__ is str
            and balance.__class__ is str
            and equity.__class__ is str
            and not (balance + equity).strip(_PLAIN)
        ):
            try:
                when = _from_iso(t)
                event = Equity(when, Decimal(balance), Decimal(equity))
            except (ValueError, ArithmeticError):
                pass
            else:
                if when.tzinfo is not None and 1 < when.year < 9999:
                    return event
    return parse_event(obj)


def _decode(text: str) -> Any:
    if not text.strip(_JSON_SPACE):
        raise EventError("empty line: each line must hold one JSON object")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise EventError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise EventError(f"invalid JSON: {exc}") from None


def parse_event(obj: Any) -> Event:
    """An event from its decoded JSON object (numbers decoded as Decimal, as `parse_line` does)."""
    if obj.__class__ is not dict:
        raise EventError(f"an event must be a JSON object, got {_kind(obj)}")
    t = obj.get("t", _ABSENT)
    if t is _ABSENT:
        raise EventError('missing "t"')
    kind = obj.get("type", _ABSENT)
    if kind is _ABSENT:
        raise EventError('missing "type"')
    when = parse_time(t)
    if kind == "equity":
        return Equity(
            when,
            _money(obj.get("balance", _ABSENT), "balance", kind),
            _money(obj.get("equity", _ABSENT), "equity", kind),
        )
    if kind == "deal":
        position = _position(obj)
        entry = obj.get("entry", _ABSENT)
        if entry == "in":
            return Deal(when, position, IN, None, _volume(obj))
        if entry == "out":
            profit = _money(obj.get("profit", _ABSENT), "profit", "out")
            return Deal(when, position, OUT, profit, _volume(obj))
        if entry is _ABSENT:
            raise EventError('deal without "entry"')
        raise EventError(f'"entry" must be "in" or "out", got {shown(entry)}')
    if kind == "balance":
        return Balance(when, _amount(obj))
    raise EventError(f'unknown event type {shown(kind)} (expected "equity", "deal" or "balance")')


_LIMITS = "at most 15 digits before the point and 8 after, no exponent"


def _volume(obj: dict[str, Any]) -> Decimal | None:
    value = obj.get("volume", _ABSENT)
    if value is _ABSENT:
        return None
    volume = limited_decimal(value)
    if volume is None:
        raise EventError(f'"volume" must be a decimal string ({_LIMITS}), got {shown(value)}')
    if not volume > 0:
        raise EventError(f'"volume" must be > 0 (lots), got {shown(value)}')
    return volume


def _amount(obj: dict[str, Any]) -> Decimal:
    value = obj.get("amount", _ABSENT)
    if value is _ABSENT:
        raise EventError('balance event without "amount"')
    amount = limited_decimal(value)
    if amount is None:
        raise EventError(f'"amount" must be a decimal string ({_LIMITS}), got {shown(value)}')
    if not amount:
        raise EventError('"amount" may not be zero: a balance event moves money')
    return amount


def _money(value: Any, key: str, kind: str) -> Decimal:
    if value.__class__ is str:
        if not value.strip(_PLAIN) or DECIMAL_TEXT.match(value):
            try:
                return Decimal(value)
            except InvalidOperation:
                pass
    elif value.__class__ is Decimal:
        return value  # a JSON number, read through its own text
    if value is _ABSENT:
        raise EventError(f'{"out deal" if kind == "out" else "equity event"} without "{key}"')
    raise EventError(f'"{key}" must be a decimal string, got {shown(value)}')


def _position(obj: dict[str, Any]) -> str | int:
    value = obj.get("position", _ABSENT)
    if value is _ABSENT:
        raise EventError('deal without "position"')
    if isinstance(value, str):
        return value
    # A platform's numeric ticket is a position id too; 7 and "7" stay different positions.
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent == 0:
        return int(value)
    raise EventError(f'"position" must be a string or an integer, got {shown(value)}')


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
