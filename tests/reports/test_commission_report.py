"""Reports > IB commission: each IB's commission by period and currency (credited, collected,
settled, reversed, net) on the page and as CSV, for staff allowed to see it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import interventions
from propdesk.core.errors import ValidationFailed
from propdesk.reports import commission as report
from propdesk.wallet import ledger
from tests.challenges.commission_factories import buy, ib, scheme, trader
from tests.challenges.factories import definition
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
D = Decimal
URL = "/backoffice/reports/ib-commission/"


@pytest.fixture
def books(set_method, admin, finance):
    """IB `top` ← IB `sub` ← trader: two purchases at 10%/3%, one of them refunded."""
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    scheme(admin, ["10", "3"])
    top = ib(set_method)
    sub = ib(set_method, referrer=top)
    buyer = trader(set_method, referrer=sub)
    kept = buy(buyer, made, finance, fee="399.20", discount="99.80")
    refunded = buy(buyer, made, finance)
    interventions.cancel(refunded.pk, actor=admin, reason="Refund", refund=True)
    return top, sub, kept


def test_the_report_sums_each_ibs_commission_by_status(books):
    top, sub, _ = books
    today = timezone.localdate()
    rows = {r.ib_id: r.sums for r in report.rows(report.Filters(today, today))}
    assert rows[sub.pk] == {
        "fees": D("898.20"),
        "credited": D("39.92"),
        "accrued": D(0),
        "settled": D(0),
        "reversed": D("49.90"),
        "net": D("39.92"),
    }
    assert rows[top.pk]["net"] == D("11.97")
    assert ledger.check() == []


def test_the_all_ibs_line_counts_each_referred_fee_once(books):
    today = timezone.localdate()
    filters = report.Filters(today, today)
    found = report.rows(filters)
    assert sum(r.sums["fees"] for r in found) == D("1796.40")  # both IBs' lines name both fees
    (line,) = report.totals(found, filters)
    assert line.sums["fees"] == D("898.20")  # 399.20 kept + 499.00 refunded, each once
    assert line.sums["net"] == D("39.92") + D("11.97")


def test_another_period_or_currency_shows_nothing(books):
    yesterday = timezone.localdate() - timedelta(days=1)
    assert report.rows(report.Filters(yesterday - timedelta(days=5), yesterday)) == []
    today = timezone.localdate()
    assert report.rows(report.Filters(today, today, "EUR")) == []


def test_the_page_and_its_csv(books, admin):
    _top, sub, _ = books
    http = logged_in(admin)
    page = http.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-ib="{sub.pk}"' in html
    assert "39.92" in html
    download = http.get(URL, {"format": "csv", "currency": "USD"})
    assert download["Content-Type"] == "text/csv"
    lines = list(csv.reader(io.StringIO(download.content.decode())))
    assert lines[0] == report.CSV_HEADER
    by_email = {line[1]: line for line in lines[1:]}
    assert by_email[sub.user.email][2:] == [
        "USD",
        "898.20",
        "39.92",
        "0",
        "0",
        "49.90",
        "39.92",
    ]


def test_bad_filters_are_named_and_the_default_period_shown(books, admin):
    http = logged_in(admin)
    for params in (
        {"date_from": "2026-02-30"},
        {"date_to": "x" * 5000},
        {"currency": "XXX"},
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
        {"date_to": "9999-12-31"},  # its end's next midnight is past the calendar
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31", "format": "csv"},
    ):
        page = http.get(URL, params)
        assert page.status_code == 200, params
    with pytest.raises(ValidationFailed) as caught:
        report.parse_filters({"currency": "<script>"})
    assert "currency" in caught.value.fields


def test_a_name_that_looks_like_a_formula_is_made_harmless_in_the_csv(books, admin):
    _top, sub, _ = books
    sub.user.name = "=HYPERLINK(1)"
    sub.user.save(update_fields=["name"])
    download = logged_in(admin).get(URL, {"format": "csv"})
    assert "'=HYPERLINK(1)" in download.content.decode()


def test_staff_without_the_permission_are_refused(books, support):
    assert logged_in(support).get(URL).status_code == 403
    assert logged_in(support).get(URL, {"format": "csv"}).status_code == 403
