"""Notification templates in Chromium: staff write the firm's wording of "Identity verified",
put a placeholder in with a click, preview it with the sample values (htmx, under the
Content-Security-Policy) and save it; the client then sees it pop up on a portal page, dismisses
it, and it does not come back."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from propdesk.notifications import events
from tests.browser.flows import log_in, menu
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def policy_violations(page: Page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def test_staff_preview_and_save_a_template_and_the_client_sees_it_pop_up(
    new_page, admin, active_client
):
    staff = new_page()
    refused = policy_violations(staff)
    log_in(staff, admin.email, PASSWORD)
    menu(staff, "Settings", "Notifications")
    staff.locator('tr[data-event="kyc.approved"] td[data-language="en"] a').click()
    staff.get_by_label("Subject").fill("Verified, {{ client_name }}")
    body = staff.get_by_label("Body")
    body.fill("Your check is done: ")
    body.press("End")
    staff.locator('[data-placeholder="reference"]').click()  # written where the cursor is
    expect(body).to_have_value("Your check is done: {{ reference }}")
    staff.get_by_role("button", name="Preview").click()
    expect(staff.locator("#preview-subject")).to_have_text("Verified, Lena Fischer")
    expect(staff.locator("#preview-body")).to_have_text("Your check is done: KYC-311")
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_text("is saved")).to_be_visible()
    expect(staff.locator('tr[data-event="kyc.approved"] td[data-language="en"]')).to_have_text(
        "Own"
    )
    assert refused == []

    events.emit("kyc.approved", user=active_client.user, data={"reference": "KYC-77"})
    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto("/portal/profile/")
    popup = trader.locator("#notification-popup")
    expect(popup).to_contain_text(f"Verified, {active_client.user.name}")
    popup.get_by_role("button", name="Dismiss").click()
    expect(popup).to_have_count(0)
    trader.goto("/portal/")
    expect(trader.locator("#notification-popup")).to_have_count(0)
    trader.goto("/portal/notifications/")
    expect(trader.get_by_text("Your check is done: KYC-77")).to_be_visible()
