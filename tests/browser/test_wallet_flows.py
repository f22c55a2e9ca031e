from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.flows import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bank_transfer_deposit_is_approved_with_an_amended_amount(
    new_page, active_client, bank_transfer, finance
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    client.goto("/portal/wallet/deposit/")
    client.get_by_label("Method").select_option(label="Bank transfer")
    client.get_by_label("Amount").fill("1,000.00")  # as the page writes amounts
    client.get_by_label("Currency").select_option("EUR")
    client.get_by_role("button", name="Request deposit").click()
    expect(client.get_by_text("we will confirm it")).to_be_visible()

    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    staff.get_by_role("navigation", name="Back office").get_by_role(
        "link", name=re.compile("^Deposit")
    ).click()
    staff.get_by_role("link", name="Review").first.click()
    expect(staff.get_by_text("Verify that the funds arrived")).to_be_visible()
    staff.get_by_label("Amount to credit").fill("990.00")
    staff.get_by_label("Comment").fill("Bank charged 10 EUR")
    staff.get_by_label("Bank reference").fill("FT26339EU01")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")
    expect(staff.get_by_text("Amount amended from 1,000.00 to 990.00 EUR.")).to_be_visible()

    client.goto("/portal/wallet/")
    expect(client.locator('[data-balance="EUR"]')).to_have_text("990.00")

    staff.get_by_role("link", name="Transactions").click()
    staff.get_by_label("Type").select_option(label="Deposit")
    staff.get_by_role("button", name="Filter").click()
    expect(staff.locator("#transactions tbody tr")).to_have_count(1)
    expect(staff.locator("#transactions")).to_contain_text("990.00 EUR")
    expect(staff.locator('#totals [data-currency="EUR"]')).to_contain_text("990.00")


def test_sandbox_card_with_a_partial_threshold_credits_small_and_queues_large(
    new_page, active_client, sandbox_card, admin, finance, live_server, settings, run_jobs
):
    from propdesk.approvals import services as approvals

    settings.PROPDESK_SITE_URL = live_server.url
    approvals.set_policy("deposit", method="partial", threshold="500", actor=admin)
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    for amount in ("100.00", "800.00"):
        client.goto("/portal/wallet/deposit/")
        client.get_by_label("Method").select_option(label="Card (sandbox)")
        client.get_by_label("Amount").fill(amount)
        client.get_by_role("button", name="Request deposit").click()
        expect(client.locator("#checkout-amount")).to_have_text(f"{amount} USD")
        client.get_by_role("button", name="Pay", exact=True).click()
        expect(client.get_by_text("Payment of")).to_be_visible()
        run_jobs()  # the provider's webhook goes out over HTTP to the live server

    client.goto("/portal/wallet/")
    expect(client.locator('[data-balance="USD"]')).to_have_text("100.00")
    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    queue = staff.get_by_role("navigation", name="Back office").get_by_role(
        "link", name=re.compile("^Deposit")
    )
    expect(queue).to_contain_text("1")
