"""`money`: every amount a page shows, in one format: the currency's minor units, thousands
grouped as the active language writes them, a leading "-" when negative (English 12,345.67 USD,
-1,500 JPY; Spanish 12.345,67 USD). CSV files and the API keep plain numbers (12345.67) for
machines to read."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import formats

from propdesk.core.money import MINOR_UNITS, quantum

register = template.Library()


@register.filter
def money(amount: Any, currency: str = "") -> str:
    """The amount in its currency's minor unit with the active language's separators:
    12,345.67 for USD and 1,500 for JPY in English, 12.345,67 in Spanish. Without a known
    currency the amount keeps its own decimals."""
    if amount is None or amount == "":
        return ""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    if not value.is_finite():
        return str(amount)
    if currency in MINOR_UNITS:
        value = value.quantize(quantum(currency))
    if value == 0:
        value = abs(value)  # never "-0.00"
    return formats.number_format(f"{value:f}", use_l10n=True, force_grouping=True)


def signed_money(amount: Decimal, currency: str = "") -> str:
    """`money` with a "+" on a credit, for a movement either way: +250.00, -1,500.00, 0.00."""
    shown = money(amount, currency)
    return f"+{shown}" if amount > 0 else shown


@register.simple_tag
def number_separator(which: str) -> str:
    """The active language's "decimal" or "thousand" separator, for a page's script that
    groups amounts as `money` does (the web terminal)."""
    name = "DECIMAL_SEPARATOR" if which == "decimal" else "THOUSAND_SEPARATOR"
    return str(formats.get_format(name))
