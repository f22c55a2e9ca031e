"""The sandbox's arithmetic, exact: prices in points, volumes in hundredths of a lot, money in
the account currency's minor units, all as integers. No Django here.

A position's profit is (close - open) x volume x contract size in the instrument's quote
currency, turned into the account currency at the converting pair's bid and rounded half to
even to the account currency's minor unit. Buys close at the bid, sells at the ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

VOLUME_SCALE = 100  # volumes are multiples of 0.01 lot


@dataclass(frozen=True)
class Spec:
    symbol: str
    base_currency: str
    quote_currency: str
    digits: int
    contract_size: int

    def points(self, price: Decimal) -> int:
        scaled = price.scaleb(self.digits)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{price} has more than {self.digits} decimals")
        return int(scaled)

    def price(self, points: int) -> Decimal:
        return Decimal(points).scaleb(-self.digits)


def centi_lots(volume: Decimal) -> int:
    scaled = volume * VOLUME_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"volume {volume} is not a multiple of 0.01")
    return int(scaled)


def round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves to even (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def conversion(quote_currency: str, account_currency: str, bids: dict[str, Decimal]) -> Fraction:
    """How much one unit of the quote currency is in the account currency, from the current
    bids of the pair that links them."""
    if quote_currency == account_currency:
        return Fraction(1)
    direct = bids.get(quote_currency + account_currency)  # e.g. EURUSD for EUR -> USD
    if direct:
        return Fraction(direct)
    inverse = bids.get(account_currency + quote_currency)  # e.g. USDJPY for JPY -> USD
    if inverse:
        return 1 / Fraction(inverse)
    raise LookupError(f"no quote converts {quote_currency} to {account_currency}")


def profit_minor(
    spec: Spec,
    *,
    side: int,
    volume: int,
    open_points: int,
    close_points: int,
    rate: Fraction,
    minor_digits: int,
) -> int:
    """A position's profit in minor units of the account currency; side +1 buy, -1 sell."""
    quote_amount = Fraction(side * (close_points - open_points) * volume * spec.contract_size)
    quote_amount /= 10**spec.digits * VOLUME_SCALE
    exact = quote_amount * rate * 10**minor_digits
    return round_half_even(exact.numerator, exact.denominator)


def margin_minor(
    spec: Spec, *, volume: int, price_points: int, leverage: int, rate: Fraction, minor_digits: int
) -> int:
    """Margin to hold a position: its value at `price` divided by the leverage."""
    value = Fraction(volume * spec.contract_size * price_points, 10**spec.digits * VOLUME_SCALE)
    exact = value * rate * 10**minor_digits / leverage
    return round_half_even(exact.numerator, exact.denominator)


# The synthetic feed's day, in UTC hours [start, end): busy London and New York hours, and the
# daily rollover, when spreads widen (by each instrument's rollover multiplier) and prices calm.
BUSY_HOURS = (7, 17)
ROLLOVER_HOURS = (21, 23)
BUSY, QUIET, ROLLOVER = "busy", "quiet", "rollover"
# How lively prices are in each part of the day, times the instrument's yearly volatility.
VOLATILITY_FACTORS = {BUSY: 1.5, QUIET: 0.8, ROLLOVER: 0.5}
ROLLOVER_MULTIPLIER_MAX = 10
SECONDS_PER_YEAR = 365.25 * 24 * 3600


def part_of_day(moment: datetime) -> str:
    """BUSY, QUIET or ROLLOVER, by the moment's UTC hour."""
    hour = moment.astimezone(UTC).hour
    if ROLLOVER_HOURS[0] <= hour < ROLLOVER_HOURS[1]:
        return ROLLOVER
    if BUSY_HOURS[0] <= hour < BUSY_HOURS[1]:
        return BUSY
    return QUIET


def spread_at(spread_points: int, rollover_multiplier: int, moment: datetime) -> int:
    """The spread the synthetic feed quotes at `moment`, in points."""
    if part_of_day(moment) == ROLLOVER:
        return spread_points * rollover_multiplier
    return spread_points


def hourly_move(volatility: Decimal, price: Decimal, part: str) -> Decimal:
    """A typical (one standard deviation) move of the price in an hour of that part of the
    day, from the yearly volatility (0.15 = 15% a year)."""
    factor = VOLATILITY_FACTORS[part] * (3600 / SECONDS_PER_YEAR) ** 0.5
    return volatility * price * Decimal(repr(factor))


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def market_open(hours: list[dict[str, str]], moment: datetime) -> bool:
    """Whether `moment` (aware) falls in one of the weekly windows, each
    {"days": "mon-fri" | "sat" | ..., "open": "HH:MM", "close": "HH:MM"} in UTC.
    No windows: open around the clock."""
    if not hours:
        return True
    utc = moment.astimezone(UTC)
    minute = utc.hour * 60 + utc.minute
    for window in hours:
        if utc.weekday() in day_range(window["days"]):
            start, end = _minutes(window["open"]), _minutes(window["close"])
            if start <= minute < end:
                return True
    return False


def day_range(text: str) -> set[int]:
    first, _, last = text.partition("-")
    a, b = DAYS.index(first.strip()), DAYS.index((last or first).strip())
    return set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"{text!r} is not a time of day")
    return value


def check_hours(hours: object) -> list[dict[str, str]]:
    """Trading hours as given, validated (ValueError names what is wrong)."""
    if not isinstance(hours, list):
        raise ValueError("trading hours are a list of windows")
    for window in hours:
        if not isinstance(window, dict) or set(window) != {"days", "open", "close"}:
            raise ValueError('each window is {"days": "mon-fri", "open": "HH:MM", "close": ...}')
        day_range(str(window["days"]))
        if _minutes(str(window["open"])) >= _minutes(str(window["close"])):
            raise ValueError("a window opens before it closes")
    return hours
