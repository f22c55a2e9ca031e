"""The Prop Trading Dashboard with payouts and the broker's profit fits a 1024-pixel window, in
Chromium: its wide tables scroll in their own box, not the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from propdesk.challenges.catalogue import services as catalogue
from propdesk.wallet import services
from tests.browser.flows import log_in
from tests.challenges.factories import definition
from tests.conftest import PASSWORD
from tests.reports.factories import bought, live_stage, payout, reset, undo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def test_the_dashboard_with_payouts_and_profit_fits_a_1024_pixel_window(
    new_page, admin, finance, register, set_method
):
    set_method("trader_registration", "automatic")
    trader, _ = register(name="Tess Trader")
    now = timezone.now()
    for currency in ("USD", "EUR"):
        services.adjust(
            trader.pk, direction="credit", amount="10000.00", currency=currency,
            comment="Top up", actor=finance,
        )  # fmt: skip
    for changes in ({}, {"name": "2-Step 100K EUR with a long name", "currency": "EUR"}):
        made = catalogue.create(definition(**changes), actor=admin)
        catalogue.publish(made.pk, actor=admin)
        stage = reset(live_stage(bought(trader, made, when=now)), "99.00", when=now)
        paid = payout(stage, "12345.67", requested=now, decided=now, paid=now)
        undo(paid.entry, when=now + timedelta(seconds=1))
        payout(stage, "1000.00", requested=now + timedelta(seconds=2))
    staff = new_page()
    staff.set_viewport_size({"width": 1024, "height": 768})
    log_in(staff, admin.email, PASSWORD)
    staff.goto(reverse("backoffice:prop_dashboard"))
    expect(staff.locator(".overflow-auto > table#payouts")).to_be_visible()
    expect(staff.locator(".overflow-auto > table#profit")).to_be_visible()
    page_width, window = staff.evaluate(FITS)
    assert page_width <= window, f"the dashboard is {page_width} px wide in a {window} px window"
