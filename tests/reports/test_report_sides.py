"""Reports > Transactions tells every amount from the firm's side (money in positive, money out
negative) with a status per row, the same on the page, in the CSV and over the API."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from html import unescape

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.reports import transactions as reports
from propdesk.wallet import ledger, services, withdrawals
from propdesk.wallet.models import JournalEntry, Posting
from tests.conftest import logged_in
from tests.wallet.factories import bank_destination

pytestmark = pytest.mark.django_db

PAGE = "/backoffice/reports/transactions/"


def adjust(client, actor, amount, direction="credit", comment="Goodwill"):
    return services.adjust(
        client.pk,
        direction=direction,
        amount=amount,
        currency="USD",
        comment=comment,
        actor=actor,
    )


def request_of(withdrawal):
    return ApprovalRequest.objects.get(type_key="withdrawal", payload__withdrawal_id=withdrawal.pk)


@pytest.fixture
def money_moves(active_client, finance, bank_transfer):
    """A credit of 1,000 (money out), a fee-like debit (in), three withdrawals: one waiting, one
    paid out, one refused; and a refunded fee."""
    adjust(active_client, finance, "1000.00")
    adjust(active_client, finance, "15.00", direction="debit", comment="Late fee")
    to = bank_destination()
    waiting = withdrawals.request_withdrawal(
        active_client, method=bank_transfer.pk, amount="100.00", currency="USD", destination=to
    )
    paid = withdrawals.request_withdrawal(
        active_client, method=bank_transfer.pk, amount="200.00", currency="USD", destination=to
    )
    approvals.approve(request_of(paid).pk, actor=finance)
    refused = withdrawals.request_withdrawal(
        active_client, method=bank_transfer.pk, amount="50.00", currency="USD", destination=to
    )
    approvals.reject(request_of(refused).pk, actor=finance, reason="Name mismatch")
    return {"waiting": waiting, "paid": paid, "refused": refused}


def rows_of(filters=None):
    items, _ = reports.page(reports.transactions(filters or reports.Filters()), size=100)
    return reports.shown(items)


def test_a_fee_is_money_in_and_its_refund_money_out(active_client, finance):
    from django.db import transaction

    wallet = ledger.wallet(active_client, "USD")
    revenue = ledger.firm_account("fee_revenue", "USD", "Prop trading fee revenue")
    adjust(active_client, finance, "600.00")
    with transaction.atomic():
        fee = ledger.post(
            JournalEntry.Type.PROP_TRADING_FEE,
            [ledger.Line(wallet, Decimal("-499.00")), ledger.Line(revenue, Decimal("499.00"))],
            memo="Fee",
            client=active_client,
        )
        ledger.reverse(fee, actor=finance, memo="Refund of the fee")
    by_type = {r.posting.entry_type: r for r in rows_of()}
    assert by_type["prop_trading_fee"].amount == Decimal("499.00")
    assert by_type["prop_trading_fee"].status == "reversed"
    assert by_type["reversal"].amount == Decimal("-499.00")
    assert by_type["reversal"].status == "completed"
    assert by_type["adjustment"].amount == Decimal("-600.00")  # a credit: the firm gives


def test_withdrawal_holds_are_out_with_the_withdrawals_status(money_moves):
    holds = {
        r.posting.entry_id: r
        for r in rows_of()
        if r.posting.entry_type == JournalEntry.Type.WITHDRAWAL_HOLD
    }
    by_withdrawal = {name: holds[w.hold_entry_id] for name, w in money_moves.items()}
    assert by_withdrawal["waiting"].status == "pending"
    assert by_withdrawal["paid"].status == "completed"
    assert by_withdrawal["refused"].status == "rejected"
    assert by_withdrawal["waiting"].amount == Decimal("-100.00")
    release = [r for r in rows_of() if r.posting.entry_type == "withdrawal_release"]
    assert [r.amount for r in release] == [Decimal("50.00")]  # the refused 50 back: in


def test_a_refused_withdrawals_release_is_rejected_with_its_hold_not_completed_money_in(
    money_moves,
):
    refused = money_moves["refused"]
    refused.refresh_from_db()
    rejected = rows_of(reports.Filters(status="rejected"))
    assert sorted(r.posting.entry_id for r in rejected) == sorted(
        [refused.hold_entry_id, refused.settle_entry_id]
    )
    assert sum(r.amount for r in rejected) == 0  # out and back: nothing moved
    completed = rows_of(reports.Filters(status="completed"))
    assert refused.settle_entry_id not in {r.posting.entry_id for r in completed}
    lines = list(
        csv.reader(io.StringIO("".join(reports.csv_lines(reports.transactions(reports.Filters())))))
    )
    status = lines[0].index("status")
    entry = lines[0].index("entry")
    by_entry = {int(line[entry]): line[status] for line in lines[1:]}
    assert by_entry[refused.settle_entry_id] == "rejected"


@pytest.mark.parametrize("status", ["", "completed", "pending", "rejected", "reversed"])
def test_each_status_filter_keeps_its_rows_and_totals_add_them_up(money_moves, status):
    chosen = reports.Filters(status=status)
    rows = rows_of(chosen)
    assert all(r.status == status for r in rows) or not status
    money_in = sum((r.amount for r in rows if r.amount > 0), Decimal("0.00"))
    money_out = sum((r.amount for r in rows if r.amount < 0), Decimal("0.00"))
    totals = {t["currency"]: t for t in reports.totals(chosen)}
    if not rows:
        assert totals == {}
        return
    assert totals["USD"]["count"] == len(rows)
    assert totals["USD"]["credits"] == money_in
    assert totals["USD"]["debits"] == money_out


def test_statuses_split_the_whole(money_moves):
    whole = reports.totals(reports.Filters())[0]
    parts = [
        reports.totals(reports.Filters(status=s))
        for s in ("completed", "pending", "rejected", "reversed")
    ]
    assert sum(p[0]["count"] for p in parts if p) == whole["count"]
    assert sum(p[0]["net"] for p in parts if p) == whole["net"]


def test_the_page_shows_the_convention_the_status_and_in_and_out(money_moves, support):
    html = unescape(logged_in(support).get(PAGE).content.decode())
    assert "from the firm's side" in html
    assert "Out -100.00 USD" in html  # the waiting withdrawal
    assert "In 15.00 USD" in html  # the debit
    assert "Out -1,000.00 USD" in html  # the credit, with its thousands separator
    assert 'data-status="pending"' in html
    assert 'data-status="rejected"' in html
    pending = unescape(logged_in(support).get(f"{PAGE}?status=pending").content.decode())
    assert pending.count('data-status="') == 1
    assert '<option value="pending" selected>' in pending


def test_the_csv_has_the_pages_sign_and_status_in_plain_numbers(money_moves, support):
    response = logged_in(support).get(f"{PAGE}?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    shown = {r.posting.pk: r for r in rows_of()}
    assert len(rows) == len(shown)
    for row in rows:
        expected = shown[int(row["posting"])]
        assert Decimal(row["amount"]) == expected.amount
        assert row["status"] == expected.status
    assert "-1000.00" in {r["amount"] for r in rows}  # no separators in the file


def test_the_api_gives_the_firms_side_and_the_status(money_moves, support):
    from tests.api.conftest import Api
    from tests.conftest import PASSWORD

    api = Api()
    token = api.token(support.email, PASSWORD)
    items = api.call("GET", "/reports/transactions?status=pending", token=token).json()["items"]
    assert [(i["type"], i["amount"], i["status"]) for i in items] == [
        ("withdrawal_hold", "-100.00", "pending")
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?status=posted", "status"), ("?status=<b>", "status"), ("?client_id=abc", "client_id")],
)
def test_a_wrong_status_or_client_number_is_named_and_everything_shown(
    money_moves, support, query, field
):
    response = logged_in(support).get(f"{PAGE}{query}")
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert f"{field}:" in html
    assert html.count('data-status="') == Posting.objects.filter(client__isnull=False).count()


def test_the_client_number_keeps_to_one_client(money_moves, register, finance, support):
    other, _ = register(name="Zed Other", email="zed@example.com")
    adjust(other, finance, "7.00")
    mine = money_moves["paid"].client
    rows = rows_of(reports.Filters(client_id=mine.pk))
    assert rows
    assert {r.posting.client_id for r in rows} == {mine.pk}
    html = logged_in(support).get(f"{PAGE}?client_id={other.pk}").content.decode()
    assert html.count('data-status="') == 1
    assert f'name="client_id" value="{other.pk}"' in html
