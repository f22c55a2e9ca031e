"""Reading numbers people and scripts send to the sandbox: clear errors, never a 500."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from propdesk.core.validation import FieldErrors


def number(errors: FieldErrors, field: str, raw: Any, *, required: bool = True) -> Decimal | None:
    if raw is None or raw == "":
        if required:
            errors.add(field, "Required.")
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal | float):
        errors.add(field, "A number.")
        return None
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        errors.add(field, "A number.")
        return None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        errors.add(field, "A number.")
        return None
    return number


def whole_in(errors: FieldErrors, field: str, raw: Any, low: int, high: int) -> int | None:
    number = whole_or_none(raw)
    if number is None or not low <= number <= high:
        errors.add(field, f"A whole number from {low} to {high}.")
        return None
    return number


def whole_or_none(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.strip().isdigit() and len(raw) < 19:
        return int(raw)
    return None
