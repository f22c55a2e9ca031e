"""Money is `Decimal`, quantised to its currency's minor unit; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from propdesk.core.numbers import NotANumber, read_decimal
from propdesk.core.validation import FieldErrors

# ISO 4217 minor units of the currencies a firm may hold wallets in.
MINOR_UNITS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CHF": 2,
    "CZK": 2,
    "PLN": 2,
    "AUD": 2,
    "CAD": 2,
    "JPY": 0,
}
MAX_AMOUNT = Decimal("1000000000000")  # a trillion: beyond any wallet, short of any column


def is_currency(code: Any) -> bool:
    return isinstance(code, str) and code in MINOR_UNITS


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount in the currency's minor unit; refuses rather than rounds away any cents."""
    exact = amount.quantize(quantum(currency))
    if exact != amount:
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return exact


def to_minor(amount: Decimal, currency: str) -> int:
    """An exact amount as a count of the currency's minor units (cents)."""
    return int(quantize(amount, currency).scaleb(MINOR_UNITS[currency]))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(int(units)).scaleb(-MINOR_UNITS[currency]).quantize(quantum(currency))


def from_database_sum(value: Any, currency: str) -> Decimal:
    """A SUM of money columns as the database returns it, in the currency's minor unit.

    PostgreSQL adds decimals exactly; SQLite (the demo database) adds them as binary floats, so
    a large sum can come back as 6431379.69999999: the nearest cent is the exact sum as long as
    the float error stays under half a cent (sums below about a trillion)."""
    return Decimal(str(value or 0)).quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


def parse_amount(
    errors: FieldErrors, field: str, value: Any, currency: str, *, label: str = "Amount"
) -> Decimal | None:
    """A positive amount, exact in `currency`, spelled as core.numbers reads numbers ("100.00",
    or the JSON integer 100); errors name the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.add(field, f"{label} is required.")
        return None
    try:
        amount = read_decimal(value, signed=True)  # "-5" reads, and is then "more than zero"
    except NotANumber as exc:
        errors.add(field, f"{label} {exc.reason}")
        return None
    if amount <= 0:
        errors.add(field, f"{label} must be more than zero.")
        return None
    if amount > MAX_AMOUNT:
        errors.add(field, f"{label} is too large.")
        return None
    try:
        return quantize(amount, currency)
    except ValueError:
        places = MINOR_UNITS[currency]
        errors.add(field, f"{label} can have at most {places} decimal places in {currency}.")
        return None
