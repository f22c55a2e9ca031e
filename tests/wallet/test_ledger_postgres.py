"""The books under PostgreSQL: the trigger's second guard, and wallets under concurrent debits."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from propdesk.core.errors import DomainError
from propdesk.wallet import ledger, services
from propdesk.wallet.models import JournalEntry, Posting
from tests.wallet.factories import bank_destination

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own guards"),
]


@pytest.fixture
def funded(active_client, staff_factory):
    finance = staff_factory("Finance")
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="100.00",
        currency="USD",
        comment="Funding",
        actor=finance,
    )
    return active_client, finance


@pytest.mark.django_db
def test_an_unbalanced_entry_inserted_by_hand_is_refused(funded):
    client, _ = funded
    wallet = ledger.wallet(client, "USD")

    def insert_one_sided_entry() -> None:
        with transaction.atomic():
            entry = JournalEntry.objects.create(type="adjustment", memo="by hand")
            Posting.objects.create(
                entry=entry,
                account=wallet,
                amount=Decimal(5),
                currency="USD",
                created_at=entry.created_at,
                entry_type=entry.type,
                client=client,
            )
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check now, not at commit

    with pytest.raises(DatabaseError, match="unbalanced"):
        insert_one_sided_entry()
    assert not JournalEntry.objects.filter(memo="by hand").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE wallet_posting SET amount = 0",
        "DELETE FROM wallet_posting",
        "UPDATE wallet_journalentry SET memo = 'x'",
        "DELETE FROM wallet_journalentry",
    ],
)
def test_posted_rows_cannot_be_changed_or_deleted(funded, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert ledger.check() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_debits_racing_for_one_balance_never_overdraw(funded, attempt):
    client, finance = funded
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def debit() -> None:
        try:
            barrier.wait()
            outcomes.append(
                services.adjust(
                    client.pk,
                    direction="debit",
                    amount="70.00",
                    currency="USD",
                    comment="race",
                    actor=finance,
                )
            )
        except DomainError as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=debit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["InsufficientFunds", "JournalEntry"]
    assert ledger.balances(client) == {"USD": Decimal("30.00")}
    assert ledger.check() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_withdrawals_racing_never_overdraw(funded, bank_transfer, attempt):
    from propdesk.wallet import withdrawals

    client, _ = funded
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask() -> None:
        try:
            barrier.wait()
            withdrawals.request_withdrawal(
                client,
                method=bank_transfer.pk,
                amount="60.00",
                currency="USD",
                destination=bank_destination(),
            )
            outcomes.append("held")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["held", "insufficient_funds"]
    assert ledger.balances(client) == {"USD": Decimal("40.00")}
    assert ledger.check() == []


@pytest.mark.django_db(transaction=True)
def test_two_retries_under_one_key_at_once_post_one_entry_and_both_get_it(funded):
    client, finance = funded
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def credit() -> None:
        try:
            barrier.wait()
            entry = services.adjust(
                client.pk,
                direction="credit",
                amount="5.00",
                currency="USD",
                comment="retried",
                actor=finance,
                idempotency_key="same-key",
            )
            outcomes.append(entry.pk)
        except Exception as exc:  # any error is the failure this test looks for
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=credit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 2
    assert outcomes[0] == outcomes[1]
    assert isinstance(outcomes[0], int)
    assert ledger.balances(client) == {"USD": Decimal("105.00")}
