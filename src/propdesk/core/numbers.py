"""The one way a number sent by a person or a program is read, everywhere: forms, the API,
the CLI and the settings pages.

A decimal is ASCII digits with an optional fraction, "1000" or "1000.50", and a leading "-" only
where a signed value is meant; whitespace around it is ignored. Nothing else: no exponent
("1E+2"), no digit separators ("1_000", "1,000"), no other digits (full-width, Arabic-Indic),
no "+", no NaN or infinity, which `Decimal()` and `int()` alone would all let through. A JSON
integer is exact and taken as it is; a JSON number with a fraction was a binary float before we
saw it and is refused, and so is a boolean (JSON `true` is not 1).

Pure Python: the rule evaluator's callers and the Django side share it.
"""

from __future__ import annotations

import re
from decimal import Decimal

_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_WHOLE = re.compile(r"-?[0-9]+")
_SPACE = " \t\r\n"
MAX_LENGTH = 40  # digits enough for any amount; a megabyte of zeros is not a number we read

AS_TEXT = 'must be a number written as text, e.g. "100.00"'
DECIMAL_SPELLING = (
    'must be a number written with the digits 0-9 and an optional ".", e.g. "1000.50" '
    "(no exponent, digit separators or other digits)"
)
WHOLE_SPELLING = "must be a whole number written with the digits 0-9"


class NotANumber(ValueError):
    """Why a value is not a number we take; `reason` completes "<label> ...", e.g. "Amount
    must be ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_decimal(value: object, *, signed: bool = False) -> Decimal:
    """The exact decimal `value` spells (see the module's docstring), or NotANumber."""
    if isinstance(value, Decimal):  # from our own code (a form field, a use case), not JSON
        if not value.is_finite():
            raise NotANumber("must be a number.")
        number = value
    elif isinstance(value, bool):
        raise NotANumber(AS_TEXT + ", not true or false.")
    elif isinstance(value, float):
        raise NotANumber(AS_TEXT + ": a JSON number with a fraction is not exact.")
    elif not isinstance(value, str | int):
        raise NotANumber(AS_TEXT + ".")
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = value.strip(_SPACE)
        if len(text) > MAX_LENGTH or not _DECIMAL.fullmatch(text):
            raise NotANumber(DECIMAL_SPELLING + ".")
        number = Decimal(text)
    if number < 0 and not signed:
        raise NotANumber("cannot be negative.")
    return number


def read_whole(value: object, *, low: int, high: int) -> int:
    """A whole number from `low` to `high`: a JSON integer, or ASCII digits (a leading "-" only
    when `low` is negative); never a boolean, "1_000", "+5", "5.0" or non-ASCII digits."""
    if isinstance(value, bool):
        raise NotANumber(f"{WHOLE_SPELLING}, from {low} to {high}.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip(_SPACE)
        if not _WHOLE.fullmatch(text) or (text[0] == "-" and low >= 0):
            raise NotANumber(f"{WHOLE_SPELLING}, from {low} to {high}.")
        if len(text.lstrip("-")) > 19:  # past any bound we use, and not worth converting
            raise NotANumber(f"must be from {low} to {high}.")
        number = int(text)
    else:
        raise NotANumber(f"{WHOLE_SPELLING}, from {low} to {high}.")
    if not low <= number <= high:
        raise NotANumber(f"must be from {low} to {high}.")
    return number
