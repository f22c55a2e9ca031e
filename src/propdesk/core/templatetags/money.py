from __future__ import annotations

from decimal import Decimal

from django import template

from propdesk.core.money import MINOR_UNITS, quantum

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """The amount in its currency's minor unit: 100.00 USD, 1500 JPY."""
    if amount is None:
        return ""
    if currency not in MINOR_UNITS:
        return str(amount)
    return str(amount.quantize(quantum(currency)))
