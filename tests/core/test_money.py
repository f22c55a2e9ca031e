from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.core.money import from_database_sum, from_minor, to_minor


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("6431379.69999999", "USD", "6431379.70"),  # what SQLite's float SUM gives back
        (6431379.700000001, "USD", "6431379.70"),
        (None, "USD", "0.00"),
        ("-0.005000001", "USD", "-0.01"),
        ("1234.4999999", "JPY", "1234"),
    ],
)
def test_database_sums_come_back_in_whole_minor_units(raw, currency, expected):
    assert from_database_sum(raw, currency) == Decimal(expected)
    assert str(from_database_sum(raw, currency)) == expected


def test_minor_units_round_trip_exactly():
    assert to_minor(Decimal("-123.45"), "USD") == -12345
    assert from_minor(-12345, "USD") == Decimal("-123.45")
    assert to_minor(Decimal("500"), "JPY") == 500


def test_an_amount_with_stray_decimals_is_no_count_of_cents():
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("1.005"), "USD")
