"""Field checks shared by forms, the API and the CLI; services raise `ValidationFailed`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from propdesk.core.errors import ValidationFailed


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
    if isinstance(raw, bool):
        return None
    text = str(raw)
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    return None


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
    """Trimmed text; line breaks and tabs only where `multiline`, no other control characters."""
    text = value.strip() if isinstance(value, str) else ""
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    allowed = "\n\t" if multiline else ""
    if value is not None and not isinstance(value, str):
        errors.add(field, f"{label} must be text.")
    elif required and not text:
        errors.add(field, f"{label} is required.")
    elif len(text) > max_length:
        errors.add(field, f"{label} can have at most {max_length} characters.")
    elif any((ord(ch) < 32 or ord(ch) == 127) and ch not in allowed for ch in text):
        errors.add(field, f"{label} cannot contain control characters.")
    return text


def clean_email(errors: FieldErrors, field: str, value: Any) -> str:
    email = clean_text(errors, field, value, label="Email", max_length=254)
    if field in errors:
        return email
    try:
        validate_email(email)
    except ValidationError:
        errors.add(field, "Enter a valid email address.")
    return email.lower()


def check_password(errors: FieldErrors, field: str, password: Any, user: Any = None) -> str:
    if not isinstance(password, str) or not password:
        errors.add(field, "Password is required.")
        return ""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        errors.add(field, " ".join(exc.messages))
    return password


def parse_decimal(
    errors: FieldErrors, field: str, value: Any, *, label: str, places: int, required: bool = True
) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, f"{label} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        errors.add(field, f'{label} must be a number written as text, e.g. "1000.00".')
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        errors.add(field, f"{label} must be a number.")
        return None
    if not number.is_finite():
        errors.add(field, f"{label} must be a number.")
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        errors.add(field, f"{label} can have at most {places} decimal places.")
        return None
    if abs(number) >= Decimal(10) ** 15:
        errors.add(field, f"{label} is too large.")
        return None
    return number


def search_text(value: Any, *, max_length: int = 100) -> str:
    """A search box's text: trimmed, bounded, without control characters (NUL breaks queries)."""
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value if ch.isprintable()).strip()[:max_length]


def spreadsheet_safe(text: str | None) -> str:
    """Free text for a CSV cell, with spreadsheet formulas neutralised (=, +, -, @, a tab or a
    carriage return at the start of a cell)."""
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
