"""Every amount a page shows reads one way: the currency's minor units, thousands separated by
commas, a plain leading minus."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from propdesk.core.templatetags.money import money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("12345.67"), "USD", "12,345.67"),
        (Decimal("12345.6"), "USD", "12,345.60"),
        (Decimal("-3741"), "USD", "-3,741.00"),
        (Decimal("1500"), "JPY", "1,500"),
        (Decimal("999.99"), "EUR", "999.99"),
        (Decimal("1234567890.12"), "USD", "1,234,567,890.12"),
        (Decimal("0"), "USD", "0.00"),
        (Decimal("-0.00"), "USD", "0.00"),  # never "-0.00"
        (Decimal("100000"), "", "100,000"),  # no currency: the amount's own decimals
        ("2500.5", "USD", "2,500.50"),  # text and numbers from a template's context
        (7, "USD", "7.00"),
        (None, "USD", ""),
        ("", "USD", ""),
        ("n/a", "USD", "n/a"),  # not a number: shown as it is, never an error
        (Decimal("NaN"), "USD", "NaN"),
    ],
)
def test_amounts_have_minor_units_and_thousands_separators(amount, currency, shown):
    assert money(amount, currency) == shown


def test_an_unknown_currency_keeps_the_amounts_decimals():
    assert money(Decimal("1234.5"), "XYZ") == "1,234.5"


def test_the_filter_reads_the_same_in_a_template():
    drawn = Template("{% load money %}{{ a|money:c }} {{ c }}").render(
        Context({"a": Decimal("-1234.5"), "c": "USD"})
    )
    assert drawn == "-1,234.50 USD"
