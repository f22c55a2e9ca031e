"""The challenge form's Payouts, Retry and Reset sections in Chromium: staff start from the
2-step preset, pay on fixed days with a consistency condition, type a wrong reset fee and are
told so on its field with nothing saved, correct it, save and publish; the challenge's page
says each offer in words, and the client reads the payout terms and the offers before buying."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from propdesk.challenges.models import Challenge
from tests.browser.flows import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
SCHEDULE_WORDS = (
    "Payouts on the 1st and 15th of the month, the first at least 14 days after the live start; "
    "minimum 50.00 USD; conditions: no day above 40% of the period's profit"
)


def test_staff_set_the_offers_in_the_form_and_the_client_reads_them(new_page, admin, active_client):
    staff = new_page()
    staff.set_viewport_size({"width": 1024, "height": 768})
    log_in(staff, admin.email, PASSWORD)
    staff.goto("/backoffice/prop-trading/challenges/new/?preset=two_step")
    payouts = staff.locator("#payouts")
    expect(payouts.get_by_label("First payout after (days)")).to_have_value("14")
    payouts.get_by_label("On fixed days of the month").check()
    payouts.get_by_label("Days of the month", exact=True).fill("15, 1")
    payouts.get_by_label("Consistency %").fill("40")
    staff.get_by_label("Reset fee").fill("-5")
    staff.get_by_role("button", name="Save as draft").click()

    # Refused on its field, listed at the top, what was typed kept, nothing saved.
    expect(staff.locator("#reset-fee-errors")).to_contain_text("more than zero")
    expect(staff.locator("#form-faults")).to_contain_text("Reset, reset fee:")
    expect(payouts.get_by_label("Days of the month", exact=True)).to_have_value("15, 1")
    assert not Challenge.objects.exists()
    width, window = staff.evaluate(FITS)
    assert width <= window, f"the form with its faults is {width} px wide"

    staff.get_by_label("Reset fee").fill("49")
    staff.get_by_role("button", name="Save as draft").click()
    expect(staff.get_by_text("drafted (v1)")).to_be_visible()
    staff.get_by_role("button", name="Publish v1").click()
    published = staff.locator("#published")
    expect(published.locator('[data-offer="payouts"]')).to_have_text(SCHEDULE_WORDS)
    expect(published.locator('[data-offer="retry"]')).to_have_text(
        "Retry: 449.00 USD, 20% off within 7 days of the failure"
    )
    expect(published.locator('[data-offer="reset"]')).to_have_text("Reset: 49.00 USD")

    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    client.goto(f"/portal/challenges/{Challenge.objects.get().pk}/")
    expect(client.locator("#payouts")).to_have_text(
        f"You keep 80% of the profit. {SCHEDULE_WORDS}."
    )
    expect(client.locator("#retry")).to_contain_text("449.00 USD, 20% off within 7 days")
    expect(client.locator("#reset")).to_contain_text("49.00 USD")
