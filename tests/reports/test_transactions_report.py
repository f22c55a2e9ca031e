from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.wallet import deposits, services
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(active_client, register, set_method, finance, bank_transfer):
    """Two clients: a deposit, adjustments in two currencies, a formula-looking memo."""
    other, _ = register(name="Zed Other", email="zed@example.com")
    deposit = deposits.request_deposit(
        active_client, method=bank_transfer.pk, amount="500.00", currency="USD"
    )
    request = ApprovalRequest.objects.get(type_key="deposit")
    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "FT-REPORT-1"})
    services.adjust(
        active_client.pk,
        direction="debit",
        amount="20.00",
        currency="USD",
        comment="=HYPERLINK(1)",
        actor=finance,
    )
    services.adjust(
        other.pk, direction="credit", amount="7.50", currency="EUR", comment="Promo", actor=finance
    )
    return active_client, other, deposit


@pytest.fixture
def staff_api(support):
    api = Api()
    token = api.token(support.email, PASSWORD)

    def get(query=""):
        return api.call("GET", f"/reports/transactions{query}", token=token)

    return get


def test_report_lists_wallet_postings_with_totals(books, staff_api):
    data = staff_api().json()
    assert [i["type"] for i in data["items"]] == ["adjustment", "adjustment", "deposit"]
    totals = {t["currency"]: t for t in data["totals"]}
    # From the firm's side: the deposit and the debit are money in, the credit money out.
    assert totals["USD"]["count"] == 2
    assert totals["USD"]["credits"] == "520.00"
    assert totals["USD"]["debits"] == "0.00"
    assert totals["USD"]["net"] == "520.00"
    assert totals["EUR"]["net"] == "-7.50"
    assert {i["status"] for i in data["items"]} == {"completed"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?type=deposit", ["deposit"]),
        ("?currency=EUR", ["adjustment"]),
        ("?client=zed@", ["adjustment"]),
        ("?client=nobody", []),
        ("?status=reversed", []),
    ],
)
def test_report_filters(books, staff_api, query, expected):
    assert [i["type"] for i in staff_api(query).json()["items"]] == expected


def test_report_filters_by_date(books, staff_api):
    today = timezone.now().date()
    assert len(staff_api(f"?date_from={today}&date_to={today}").json()["items"]) == 3
    tomorrow = today + timedelta(days=1)
    assert staff_api(f"?date_from={tomorrow}").json()["items"] == []


def test_keyset_pages_cover_everything_once(books, staff_api):
    seen = []
    query = "?limit=1"
    while True:
        data = staff_api(query).json()
        seen += [i["posting"] for i in data["items"]]
        if data["next"] is None:
            break
        query = f"?limit=1&after={data['next']}"
    assert len(seen) == 3
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        "?type=gift",
        "?currency=XXX",
        "?date_from=yesterday",
        "?date_from=2026-02-02&date_to=2026-01-01",
        "?limit=0",
        "?after=abc",
        "?date_to=9999-12-31",
        "?date_from=0001-01-01",
    ],
)
def test_bad_report_queries_are_422(books, staff_api, query):
    assert staff_api(query).status_code == 422


def test_csv_export_streams_the_filtered_set_and_defuses_formulas(books, support):
    response = logged_in(support).get("/backoffice/reports/transactions/?currency=USD&format=csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["posting", "entry", "reference", "at", "type"]
    assert len(rows) == 3
    memos = [r[-1] for r in rows[1:]]
    assert "'=HYPERLINK(1)" in memos


def test_report_page_shows_totals_and_rows(books, support):
    page = logged_in(support).get("/backoffice/reports/transactions/?type=deposit").content.decode()
    assert 'data-currency="USD"' in page
    assert "500.00 USD" in page


def test_clients_cannot_read_the_report(active_client):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    assert api.call("GET", "/reports/transactions", token=token).status_code == 403
