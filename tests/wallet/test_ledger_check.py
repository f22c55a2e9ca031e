"""`ledger check` reads the books exactly: the SQLite float sums are no excuse for missing a
drift smaller than a cent (a posting written by hand past `ledger.post`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry, LedgerAccount, Posting

pytestmark = pytest.mark.django_db


def by_hand(lines):
    """An entry written past `ledger.post` (no rounding check, balances left as they were)."""
    entry = JournalEntry.objects.create(type="adjustment", memo="by hand")
    for account, amount in lines:
        Posting.objects.create(
            entry=entry,
            account=account,
            amount=amount,
            currency=account.currency,
            created_at=entry.created_at,
            entry_type=entry.type,
            client=account.client,
        )
    return entry


@pytest.mark.books_tampered
def test_check_names_postings_that_drifted_from_the_balances_by_less_than_a_cent():
    one = ledger.firm_account("one", "USD", "One")
    two = ledger.firm_account("two", "USD", "Two")
    by_hand([(one, Decimal("0.004")), (two, Decimal("-0.004"))])
    problems = ledger.check()
    assert any("firm:one:USD" in p and "0.004" in p for p in problems), problems
    assert any("firm:two:USD" in p for p in problems), problems


@pytest.mark.books_tampered
@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL's trigger refuses it")
def test_check_names_an_entry_off_by_a_fraction_of_a_cent():
    one = ledger.firm_account("one", "USD", "One")
    two = ledger.firm_account("two", "USD", "Two")
    entry = by_hand([(one, Decimal("10.001")), (two, Decimal("-10.00"))])
    LedgerAccount.objects.filter(pk=one.pk).update(balance=Decimal("10.001"))
    LedgerAccount.objects.filter(pk=two.pk).update(balance=Decimal("-10.00"))
    assert any(f"entry #{entry.pk}" in p for p in ledger.check())


def test_check_is_clean_for_amounts_whose_float_sum_is_not_zero():
    """49.90 + 14.97 - 49.90 - 14.97 in binary floats is not 0: the books still balance."""
    one = ledger.firm_account("one", "USD", "One")
    two = ledger.firm_account("two", "USD", "Two")
    with transaction.atomic():
        for amount in ("49.90", "14.97", "-49.90", "-14.97", "0.10", "0.20", "-0.30"):
            ledger.post(
                "adjustment",
                [ledger.Line(one, Decimal(amount)), ledger.Line(two, -Decimal(amount))],
            )
        ledger.post(
            "adjustment",
            [
                ledger.Line(one, Decimal("0.10")),
                ledger.Line(one, Decimal("0.20")),
                ledger.Line(two, Decimal("-0.30")),
            ],
        )
    assert ledger.check() == []
