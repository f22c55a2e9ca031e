"""The portal's layout in Chromium: a challenge's tabs sit side by side from the left, clear of
the trading account beside them; on a 390-pixel phone a failed challenge's retry button on My
challenges stays in the window though its table scrolls sideways, and a certificate's public
page fits, its long address broken across lines."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from propdesk.challenges.models import Certificate
from tests.browser.flows import log_in
from tests.challenges.factories import failed_with_offers, pass_stage, running, stage
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def test_a_challenges_tabs_sit_side_by_side_above_the_trading_account(
    new_page, active_client, finance, admin
):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    trader = new_page()
    trader.set_viewport_size({"width": 1280, "height": 900})
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(f"/portal/my-challenges/{joined.pk}/")
    expect(trader.locator("#credentials [data-login]")).to_be_visible()
    overview = box(trader, '#challenge-tabs [data-tab="overview"]')
    chart = box(trader, '#challenge-tabs [data-tab="chart"]')
    payouts = box(trader, '#challenge-tabs [data-tab="payouts"]')
    assert chart["x"] - (overview["x"] + overview["width"]) < 40, "the tabs are spread apart"
    assert payouts["x"] + payouts["width"] < 640, "the last tab is pushed to the far right"
    tabs = box(trader, "#challenge-tabs")
    account = box(trader, "#credentials")
    assert account["y"] >= tabs["y"] + tabs["height"], "the trading account covers the tabs"


def test_a_failed_challenges_retry_button_stays_in_a_phones_window(
    new_page, active_client, finance, admin
):
    failed_with_offers(active_client, finance, admin)
    trader = new_page()
    trader.set_viewport_size({"width": 390, "height": 844})
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto("/portal/my-challenges/")
    retry = trader.get_by_role("button", name="Retry for 99.00 USD")
    expect(retry).to_be_visible()
    shown = retry.bounding_box()
    assert shown is not None
    assert shown["x"] >= 0, shown
    assert shown["x"] + shown["width"] <= 390, shown
    # So does the failed stage's figures box below it.
    figures = box(trader, ".figures-row .stage-figures")
    assert figures["x"] + figures["width"] <= 390, figures
    page_width, window = trader.evaluate(FITS)
    assert page_width <= window, f"My challenges is {page_width} px wide"


def test_a_certificates_public_page_fits_a_phone_with_its_address(
    new_page, active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)
    code = "B" * 32  # no hyphen: nowhere the browser would break the address by itself
    Certificate.objects.filter(attempt=attempt).update(code=code)
    visitor = new_page()  # not logged in
    visitor.set_viewport_size({"width": 390, "height": 844})
    visitor.goto(f"/certificates/{code}/")
    expect(visitor.locator("#certificate code")).to_contain_text(code)
    page_width, window = visitor.evaluate(FITS)
    assert page_width <= window, f"the certificate's page is {page_width} px wide"
