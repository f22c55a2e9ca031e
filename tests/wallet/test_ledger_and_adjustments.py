from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from propdesk.cli import main as propdesk
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.wallet import ledger, services
from propdesk.wallet.models import JournalEntry, LedgerAccount, Posting

pytestmark = pytest.mark.django_db


def adjust(client, actor, amount="100.00", direction="credit", currency="USD", **kw):
    return services.adjust(
        client.pk,
        direction=direction,
        amount=amount,
        currency=currency,
        comment=kw.pop("comment", "Goodwill credit"),
        actor=actor,
        **kw,
    )


def test_credit_then_debit_moves_the_wallet_exactly(active_client, finance):
    adjust(active_client, finance, "100.10")
    adjust(active_client, finance, "0.10", direction="debit")
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert ledger.check() == []


def test_each_adjustment_is_one_balanced_entry_with_an_audit_record(active_client, finance):
    entry = adjust(active_client, finance, "25.50")
    amounts = sorted(p.amount for p in entry.postings.all())
    assert amounts == [Decimal("-25.50"), Decimal("25.50")]
    record = AuditRecord.objects.get(action=AuditAction.WALLET_ADJUST)
    assert record.actor == finance
    assert record.after["entry"] == entry.pk


def test_a_debit_beyond_the_balance_is_refused_and_moves_nothing(active_client, finance):
    adjust(active_client, finance, "10.00")
    with pytest.raises(Conflict) as caught:
        adjust(active_client, finance, "10.01", direction="debit")
    assert caught.value.code == "insufficient_funds"
    assert ledger.balances(active_client) == {"USD": Decimal("10.00")}
    assert JournalEntry.objects.count() == 1


def test_the_same_idempotency_key_moves_money_once(active_client, finance):
    first = adjust(active_client, finance, "40.00", idempotency_key="req-1")
    again = adjust(active_client, finance, "40.00", idempotency_key="req-1")
    assert again.pk == first.pk
    assert ledger.balances(active_client) == {"USD": Decimal("40.00")}


def test_a_key_reused_for_another_request_is_refused(active_client, finance):
    adjust(active_client, finance, "40.00", idempotency_key="req-1")
    with pytest.raises(Conflict) as caught:
        adjust(active_client, finance, "41.00", idempotency_key="req-1")
    assert caught.value.code == "idempotency_key_reused"


def test_keys_are_each_callers_own(active_client, finance, staff_factory):
    other = staff_factory("Finance")
    adjust(active_client, finance, "1.00", idempotency_key="same")
    adjust(active_client, other, "2.00", idempotency_key="same")
    assert ledger.balances(active_client) == {"USD": Decimal("3.00")}


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("amount", {"amount": "-5"}),
        ("amount", {"amount": "0"}),
        ("amount", {"amount": "ten"}),
        ("amount", {"amount": "1.001"}),
        ("amount", {"amount": "NaN"}),
        ("amount", {"amount": "1e400"}),
        ("amount", {"amount": 1.5}),
        ("amount", {"amount": "5.5", "currency": "JPY"}),
        ("currency", {"currency": "XXX"}),
        ("currency", {"currency": "usd"}),
        ("direction", {"direction": "sideways"}),
        ("comment", {"comment": ""}),
    ],
)
def test_bad_adjustments_are_refused_and_post_nothing(active_client, finance, field, overrides):
    with pytest.raises(ValidationFailed) as caught:
        adjust(active_client, finance, **overrides)
    assert field in caught.value.fields
    assert not JournalEntry.objects.exists()


def test_only_finance_and_administrators_adjust(active_client, support, compliance):
    for who in (support, compliance):
        with pytest.raises(Forbidden):
            adjust(active_client, who)
    assert not JournalEntry.objects.exists()


def test_unknown_client_is_not_found(finance):
    with pytest.raises(NotFound):
        services.adjust(
            999999, direction="credit", amount="1", currency="USD", comment="x", actor=finance
        )


def test_a_reversal_restores_the_balance_and_keeps_both_entries(active_client, finance):
    entry = adjust(active_client, finance, "30.00")
    with transaction.atomic():
        ledger.reverse(entry, actor=finance)
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    assert JournalEntry.objects.count() == 2
    assert ledger.check() == []


def test_unbalanced_entries_are_refused_by_the_application(active_client):
    wallet = ledger.wallet(active_client, "USD")
    firm = ledger.firm_account("adjustments", "USD", "Staff adjustments")
    lines = [ledger.Line(wallet, Decimal(5)), ledger.Line(firm, Decimal(-4))]
    with transaction.atomic(), pytest.raises(ValueError, match="unbalanced"):
        ledger.post("adjustment", lines)
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_postings_outside_a_transaction_are_refused(active_client):
    wallet = ledger.wallet(active_client, "USD")
    firm = ledger.firm_account("adjustments", "USD", "Staff adjustments")
    with pytest.raises(RuntimeError):
        ledger.post("adjustment", [ledger.Line(wallet, Decimal(5)), ledger.Line(firm, Decimal(-5))])


@pytest.mark.books_tampered
def test_ledger_check_names_a_balance_that_drifted(active_client, finance, capsys):
    adjust(active_client, finance, "10.00")
    assert propdesk(["ledger", "check"]) == 0
    assert "ledger ok" in capsys.readouterr().out
    LedgerAccount.objects.filter(kind="client_wallet").update(balance=Decimal("11"))
    problems = ledger.check()
    assert len(problems) == 1
    assert "postings sum to" in problems[0]
    assert propdesk(["ledger", "check"]) == 1
    assert "FAILED" in capsys.readouterr().err


def test_wallet_lines_show_the_clients_own_movements(active_client, register, finance):
    other, _ = register()
    adjust(active_client, finance, "5.00", comment="Welcome bonus")
    adjust(other, finance, "7.00")
    [line] = services.wallet_lines(active_client)
    assert line["amount"] == Decimal("5.00")
    # The staff's comment is internal: the client reads that the firm adjusted the wallet.
    assert line["memo"] == "Adjustment by the firm"
    assert services.wallet_lines(active_client, for_staff=True)[0]["memo"] == "Welcome bonus"
    assert Posting.objects.count() == 4
