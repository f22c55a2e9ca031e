"""Types for the API's query parameters and bodies, so that a wrong value is a 422 naming the
parameter, spelled as the rest of the project reads numbers (core.numbers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    GetCoreSchemaHandler,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import CoreSchema, core_schema

from propdesk.core.numbers import NotANumber, read_whole
from propdesk.core.text import forbidden_character
from propdesk.core.validation import read_day

_DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _whole(value: Any) -> int:
    try:
        return read_whole(value, low=-(10**18), high=10**18)  # the parameter has its bounds
    except NotANumber as exc:
        if exc.reason.startswith("must be from"):
            raise ValueError("Too large.") from None
        raise ValueError("Must be a whole number written with the digits 0-9.") from None


def _blank_is_none(value: Any) -> Any:
    """An empty filter (`?status=`, as an HTML form sends "any") means no filter."""
    return None if value == "" else value


def _plain_text(value: Any) -> Any:
    if isinstance(value, str) and forbidden_character(value) is not None:
        raise ValueError("Must not contain control characters.")
    return value


def _day(value: Any) -> date:
    day = read_day(value) if isinstance(value, str) else None
    if day is None:
        raise ValueError("Must be a date written YYYY-MM-DD.")
    return day


class OneOf:
    """`Annotated[str, OneOf(Status.values)]`: one of these words, listed in the OpenAPI as an
    enum of its own (the models' `Status` enums would share one name there)."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = [str(v) for v in values]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.literal_schema(self.values)


# A whole number: "12" or 12; never "1_000", "+5", "5.0", other digits or true (pydantic's int
# takes the first three). Bounds go before it, so that the OpenAPI shows them as minimum and
# maximum: `Annotated[int, Interval(ge=1, le=500), WHOLE]`.
WHOLE = BeforeValidator(_whole)

# An optional filter: empty means "no filter".
Blank = BeforeValidator(_blank_is_none)

Day = Annotated[
    date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DAY_PATTERN}),
]

# A search or filter text: at most 100 characters, no control characters.
FilterText = Annotated[
    str, BeforeValidator(_plain_text), StringConstraints(strip_whitespace=True, max_length=100)
]

# Money and other decimals in bodies: the use case reads them (core.numbers) and names the
# field; the schema says what is taken.
DecimalText = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "format": "decimal",
                    "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$",
                    "example": "100.00",
                },
                {"type": "integer", "minimum": 0},
            ],
            "description": 'A number written as text with the digits 0-9 and an optional ".", '
            'e.g. "100.00" (or a JSON integer); no exponent, separators, other digits, '
            "fractions as JSON numbers, or booleans.",
        }
    ),
]

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def fixed_point(value: Decimal) -> str:
    """Always fixed-point ("0.00000000", never "0E-8"), as the pattern says."""
    return f"{value:f}"


# Money (and the other exact decimals: percentages, prices, volumes) in answers: a JSON string
# of digits, never a JSON number, so nothing reads it as a float.
DecimalString = Annotated[
    Decimal,
    PlainSerializer(fixed_point, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN, "example": "100.00"}
    ),
]
Money = DecimalString
