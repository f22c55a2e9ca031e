"""Discounts in the reports, to the cent: the transactions report's price of a discounted fee,
the dashboard's discounts over the API, and a coupon whose code looks like a formula."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import services as participation
from propdesk.wallet import ledger
from tests.challenges.factories import definition, fund, make_coupon
from tests.conftest import logged_in

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
    assert "Discount 99.80 USD (price 499.00)" in text
    assert ledger.check() == []
