"""Field checks shared by forms, the API and the CLI; services raise `ValidationFailed`."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext

from propdesk.core.errors import ValidationFailed
from propdesk.core.numbers import NotANumber, read_decimal, read_whole
from propdesk.core.text import email_key, forbidden_character, tidy

DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class FieldErrors:
    """Collects one message per field, then raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def raise_if_any(self, message: str | None = None) -> None:
        if self.errors:
            raise ValidationFailed(message, fields=self.errors)


def parse_id(raw: Any) -> int | None:
    """A database id from a URL or a body ("12" or 12), or None for anything else."""
    try:
        return read_whole(raw, low=0, high=10**18)
    except NotANumber:
        return None


def _label(label: str) -> str:
    """A field's label in the active language, when the catalogue has it (the forms' labels)."""
    return gettext(label) if label else label


def clean_text(
    errors: FieldErrors,
    field: str,
    value: Any,
    *,
    label: str,
    max_length: int,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """Trimmed NFC text without invisible formatting characters (core.text); line breaks and
    tabs only where `multiline`, no other control characters. Empty once cleaned is empty."""
    if value is not None and not isinstance(value, str):
        errors.add(field, gettext("%(label)s must be text.") % {"label": _label(label)})
        return ""
    raw = (value or "").strip()
    if forbidden_character(raw, allowed="\n\r\t" if multiline else "") is not None:
        errors.add(
            field,
            gettext("%(label)s cannot contain control characters.") % {"label": _label(label)},
        )
        return ""
    text = tidy(raw, multiline=multiline)
    if required and not text:
        errors.add(field, gettext("%(label)s is required.") % {"label": _label(label)})
    elif len(text) > max_length:
        errors.add(
            field,
            gettext("%(label)s can have at most %(most)d characters.")
            % {"label": _label(label), "most": max_length},
        )
    return text


def clean_email(errors: FieldErrors, field: str, value: Any) -> str:
    email = email_key(clean_text(errors, field, value, label="Email", max_length=254))
    if field in errors:
        return email
    if len(email) > 254:  # NFKC can lengthen it ("\u3316" is six letters)
        errors.add(field, gettext("Email can have at most 254 characters."))
        return email
    try:
        validate_email(email)
    except ValidationError:
        errors.add(field, gettext("Enter a valid email address."))
    return email


def check_password(errors: FieldErrors, field: str, password: Any, user: Any = None) -> str:
    if not isinstance(password, str) or not password:
        errors.add(field, gettext("Password is required."))
        return ""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        errors.add(field, " ".join(exc.messages))
    return password


def parse_decimal(
    errors: FieldErrors,
    field: str,
    value: Any,
    *,
    label: str,
    places: int,
    required: bool = True,
) -> Decimal | None:
    """A decimal as core.numbers reads it, with at most `places` decimals. A "-" reads: the
    caller's range check says what the value may be, in its own words."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, gettext("%(label)s is required.") % {"label": _label(label)})
        return None
    try:
        number = read_decimal(value, signed=True)
    except NotANumber as exc:
        errors.add(field, f"{label} {exc.reason}")
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        errors.add(field, f"{label} can have at most {places} decimal places.")
        return None
    if abs(number) >= Decimal(10) ** 15:
        errors.add(field, f"{label} is too large.")
        return None
    return number


def read_day(text: str) -> date | None:
    """A day written YYYY-MM-DD, or None. (`date.fromisoformat` also takes "20260101" and
    week dates such as "2026-W01-1", which nobody means.)"""
    if not (isinstance(text, str) and DAY.fullmatch(text)):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def search_text(value: Any, *, max_length: int = 100) -> str:
    """A search box's text: trimmed, bounded, without control characters (NUL breaks queries)."""
    if not isinstance(value, str):
        return ""
    text = unicodedata.normalize("NFC", value)  # as names are stored (core.text)
    return "".join(ch for ch in text if ch.isprintable()).strip()[:max_length]


def spreadsheet_safe(text: str | None) -> str:
    """Free text for a CSV cell, with spreadsheet formulas neutralised (=, +, -, @, a tab or a
    carriage return at the start of a cell)."""
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
