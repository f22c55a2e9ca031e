"""Discounts in the reports, to the cent: the transactions report's price of a discounted fee
(page and API), and the dashboard's discounts over the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import services as participation
from propdesk.wallet import ledger
from tests.api.conftest import Api
from tests.challenges.factories import definition, fund, make_coupon
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def discounted(admin, finance, active_client):
    made = catalogue.create(definition(), actor=admin)  # 499.00 USD
    catalogue.publish(made.pk, actor=admin)
    make_coupon(admin, value="20")  # 99.80 off: 399.20 paid
    make_coupon(admin, code="FREE", value="100")
    fund(active_client, finance)
    participation.start(active_client, made.pk, payment="wallet", coupon="SPRING20")
    participation.start(active_client, made.pk, payment="wallet", coupon="FREE")
    return made


def test_the_transactions_report_shows_a_discounted_fees_price_to_the_cent(discounted, admin):
    page = logged_in(admin).get("/backoffice/reports/transactions/?type=prop_trading_fee")
    text = page.content.decode()
    assert "Discount 99.80 USD (price 499.00 USD)" in text
    assert ledger.check() == []


def test_the_transactions_api_shows_a_fees_discount(discounted, finance):
    api = Api()
    token = api.token(finance.email, PASSWORD)
    response = api.call("GET", "/reports/transactions?type=prop_trading_fee", token=token)
    assert response.status_code == 200, response.content
    (item,) = response.json()["items"]  # the free purchase made no entry
    assert (item["amount"], item["discount"]) == ("399.20", "99.80")


def test_the_dashboard_api_shows_the_discounts(discounted, support):
    api = Api()
    token = api.token(support.email, PASSWORD)
    response = api.call("GET", "/reports/prop-dashboard", token=token)
    assert response.status_code == 200, response.content
    assert response.json()["discounts"] == [
        {
            "currency": "USD",
            "purchases": 2,
            "gross": "998.00",
            "discount": "598.80",
            "net": "399.20",
        }
    ]


def test_growth_coupons_lists_the_last_valid_day_as_staff_typed_it(admin):
    make_coupon(admin, valid_from="2026-05-01", valid_until="2026-05-31")
    page = logged_in(admin).get("/backoffice/growth/coupons/").content.decode()
    assert "<td data-valid>from 2026-05-01 until 2026-05-31</td>" in page


def test_staff_without_the_permission_cannot_open_or_save_a_coupon(admin, support):
    made = make_coupon(admin)
    http = logged_in(support)
    assert http.get(f"/backoffice/growth/coupons/{made.pk}/").status_code == 403
    answer = post_form(
        http,
        f"/backoffice/growth/coupons/{made.pk}/",
        {"code": "SPRING20", "kind": "percent", "value": "90", "max_uses_per_client": "1"},
    )
    assert answer.status_code == 403
    made.refresh_from_db()
    assert made.value == D("20.00")
