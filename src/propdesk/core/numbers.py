"""The one way a number sent by a person or a program is read, everywhere: forms, the API,
the CLI and the settings pages.

A decimal is ASCII digits with an optional fraction, "1000" or "1000.50", and a leading "-" only
where a signed value is meant; whitespace around it is ignored. Nothing else: no exponent
("1E+2"), no digit separators ("1_000", "1,000"), no other digits (full-width, Arabic-Indic),
no "+", no NaN or infinity, which `Decimal()` and `int()` alone would all let through. A JSON
integer is exact and taken as it is; a JSON number with a fraction was a binary float before we
saw it and is refused, and so is a boolean (JSON `true` is not 1).

A person typing an amount into a page may also group its whole part in threes with commas, as
the pages show amounts (core.templatetags.money: "12,345.67"): `plain_typed_number` takes
"1,000.00" and "12,345,678.9" and gives the plain spelling, and refuses a grouping that is not
well formed ("1,00.00", "1,,000", "1.000,00", ",100"). Forms use it (core.forms.AmountField); the
API and the CLI keep the plain spelling only.

Pure Python: the rule evaluator's callers and the Django side share it.
"""

from __future__ import annotations

import re
from decimal import Decimal

_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_WHOLE = re.compile(r"-?[0-9]+")
# Commas between groups of exactly three digits, the first group 1-3 digits and not a zero.
_GROUPED = re.compile(r"-?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_SPACE = " \t\r\n"
MAX_LENGTH = 40  # digits enough for any amount; a megabyte of zeros is not a number we read

AS_TEXT = 'must be a number written as text, e.g. "100.00"'
DECIMAL_SPELLING = (
    'must be a number written with the digits 0-9 and an optional ".", e.g. "1000.50" '
    "(no exponent, digit separators or other digits)"
)
TYPED_SPELLING = (
    'must be a number written like "1000.50" or "1,000.50": the digits 0-9, commas only '
    'between groups of three digits, and an optional "." before the decimals'
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


def plain_typed_number(text: str) -> str:
    """What a person typed as a number, in the plain spelling `read_decimal` reads: the commas
    of a well-formed grouping ("1,000.00", "-12,345,678.9") taken out, anything else refused
    with TYPED_SPELLING (the sign and the range are the caller's to check, as with
    read_decimal(signed=True))."""
    typed = text.strip(_SPACE)
    # 40 digits, their commas and a sign: anything longer is not a number we read.
    if len(typed) > MAX_LENGTH + MAX_LENGTH // 3 + 1:
        raise NotANumber(TYPED_SPELLING + ".")
    if _DECIMAL.fullmatch(typed):
        plain = typed
    elif _GROUPED.fullmatch(typed):
        plain = typed.replace(",", "")
    else:
        raise NotANumber(TYPED_SPELLING + ".")
    if len(plain) > MAX_LENGTH:
        raise NotANumber(TYPED_SPELLING + ".")
    return plain


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
