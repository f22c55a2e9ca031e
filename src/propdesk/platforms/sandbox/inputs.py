"""Reading numbers people and scripts send to the sandbox: clear errors, never a 500. Numbers
are read as everywhere else (core.numbers): "1.00" or 1, never "1E+0", other digits or true."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from propdesk.core.numbers import NotANumber, read_decimal, read_whole
from propdesk.core.validation import FieldErrors

HOW = gettext_lazy(
    'A number. Write it as text with the digits 0-9 and an optional ".", e.g. "1.00".'
)


def number(errors: FieldErrors, field: str, raw: Any, *, required: bool = True) -> Decimal | None:
    """A decimal, possibly negative: the caller's own check says what range it takes (a
    balance operation's debit is negative, a volume is not)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors.add(field, _("Required."))
        return None
    try:
        value = read_decimal(raw, signed=True)
    except NotANumber as exc:
        errors.add(field, str(HOW) if "fraction" not in exc.reason else f"{HOW} ({exc.reason})")
        return None
    if abs(value) >= Decimal("1e12"):
        errors.add(field, _("Too large."))
        return None
    return value


def whole_in(errors: FieldErrors, field: str, raw: Any, low: int, high: int) -> int | None:
    try:
        return read_whole(raw, low=low, high=high)
    except NotANumber:
        errors.add(
            field, _("A whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
        )
        return None


def whole_or_none(raw: Any) -> int | None:
    try:
        return read_whole(raw, low=0, high=10**18)
    except NotANumber:
        return None
