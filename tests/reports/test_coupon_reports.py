"""Discounts in the reports: the transactions report shows what a coupon took off a fee (page
and CSV), the Prop Trading Dashboard has gross fees, discounts and net fees per currency, and
Growth > Coupons the figures of each code, for staff allowed to see it only."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth.models import Coupon
from propdesk.challenges.participation import services as participation
from propdesk.reports import prop_dashboard as dashboard
from propdesk.wallet import ledger
from tests.challenges.factories import definition, fund, make_coupon
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def challenge(admin):
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


@pytest.fixture
def discounted(admin, finance, active_client, challenge):
    make_coupon(admin, max_uses=10)
    make_coupon(admin, code="FREE", value="100")
    fund(active_client, finance)
    paid = participation.start(active_client, challenge.pk, payment="wallet", coupon="SPRING20")
    free = participation.start(active_client, challenge.pk, payment="wallet", coupon="FREE")
    participation.start(active_client, challenge.pk, payment="wallet")  # full price
    return paid, free


def test_the_dashboard_shows_gross_fees_discounts_and_net_fees(discounted, admin):
    shown = dashboard.figures(None, None, None)
    (line,) = shown.discounts
    assert (line.currency, line.purchases) == ("USD", 2)
    assert (line.gross, line.discount, line.net) == (D("998.00"), D("598.80"), D("399.20"))
    page = logged_in(admin).get("/backoffice/prop-trading/dashboard/").content.decode()
    assert 'data-discount="598.80"' in page
    assert ledger.check() == []


def test_the_transactions_report_shows_the_discount_of_a_fee(discounted, admin):
    _paid, _ = discounted
    http = logged_in(admin)
    page = http.get("/backoffice/reports/transactions/?type=prop_trading_fee").content.decode()
    assert page.count("data-discount=") == 1
    assert 'data-discount="99.80"' in page
    assert "Discount 99.80 USD (price 499.00 USD)" in page  # the cents kept: 399.20 + 99.80
    response = http.get("/backoffice/reports/transactions/?type=prop_trading_fee&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-2:] == ["discount", "memo"]
    assert sorted(row[-2] for row in rows[1:]) == ["", "99.80"]


def test_growth_coupons_lists_each_codes_usage(discounted, admin):
    page = logged_in(admin).get("/backoffice/growth/coupons/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-coupon="SPRING20"' in text
    assert "1 / 10" in text
    assert "99.80 USD" in text
    assert "399.20 USD" in text


def test_staff_without_the_permission_cannot_see_or_change_coupons(discounted, support):
    http = logged_in(support)
    assert http.get("/backoffice/growth/coupons/").status_code == 403
    assert http.get("/backoffice/growth/coupons/new/").status_code == 403
    coupon = Coupon.objects.get(code="SPRING20")
    response = post_form(http, f"/backoffice/growth/coupons/{coupon.pk}/enable/", {"enabled": "0"})
    assert response.status_code == 403
    assert Coupon.objects.get(code="SPRING20").enabled


def test_staff_add_edit_and_disable_a_coupon_in_the_back_office(admin, challenge):
    http = logged_in(admin)
    form = {
        "code": "summer-10",
        "kind": "fixed",
        "value": "10",
        "currency": "USD",
        "max_uses_per_client": "1",
        "challenges": [str(challenge.pk)],
        "enabled": "on",
    }
    assert post_form(http, "/backoffice/growth/coupons/new/", form).status_code == 302
    made = Coupon.objects.get(code="SUMMER-10")
    assert [c.pk for c in made.challenges.all()] == [challenge.pk]
    again = post_form(http, "/backoffice/growth/coupons/new/", form)
    assert again.status_code == 422
    assert "A coupon with this code already exists." in again.content.decode()
    edited = post_form(
        http, f"/backoffice/growth/coupons/{made.pk}/", {**form, "value": "15", "valid_from": "x"}
    )
    assert edited.status_code == 422
    assert "Valid from is a day written YYYY-MM-DD." in edited.content.decode()
    assert post_form(http, f"/backoffice/growth/coupons/{made.pk}/", {**form, "value": "15"})
    post_form(http, f"/backoffice/growth/coupons/{made.pk}/enable/", {"enabled": "0"})
    made.refresh_from_db()
    assert (made.value, made.enabled) == (D("15.00"), False)


def used_coupons(admin, client, challenge, codes):
    for code in codes:
        make_coupon(admin, code=code, value="10", client_groups=[], challenges=[challenge.pk])
        participation.start(client, challenge.pk, payment="wallet", coupon=code)


def list_queries(http):
    with CaptureQueriesContext(connection) as seen:
        assert http.get("/backoffice/growth/coupons/").status_code == 200
    return len(seen)


def test_growth_coupons_reads_every_codes_usage_in_a_fixed_number_of_queries(
    admin, finance, active_client, challenge, django_assert_max_num_queries
):
    fund(active_client, finance, "5000.00")
    used_coupons(admin, active_client, challenge, ["C1", "C2"])
    http = logged_in(admin)
    http.get("/backoffice/growth/coupons/")  # the session and the like read once
    with_two = list_queries(http)
    used_coupons(admin, active_client, challenge, ["C3", "C4", "C5", "C6"])
    with django_assert_max_num_queries(with_two):
        page = http.get("/backoffice/growth/coupons/")
    text = page.content.decode()
    assert text.count("data-coupon=") == 6
    assert text.count("49.90 USD") == 6  # each code's discount
    assert text.count("449.10 USD") == 6  # and the fee it took
    assert ledger.check() == []
