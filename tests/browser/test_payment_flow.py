"""A challenge bought through the sandbox payment provider in Chromium: the client pays a part
(credited to the wallet, the purchase waits), then the rest (the fee is taken); Finance refunds
it from the payment's page (the fee's entry reversed, the money gone back to the payer)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.wallet import ledger
from propdesk.wallet.models import Payment
from tests.browser.flows import log_in
from tests.challenges.factories import definition
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_challenge_paid_in_two_parts_then_refunded_by_finance(
    new_page, active_client, sandbox_card, admin, finance, live_server, settings, run_jobs
):
    settings.PROPDESK_SITE_URL = live_server.url
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)

    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    client.goto(f"/portal/challenges/{made.pk}/")
    client.locator('input[name="payment"][value="direct"]').check()
    client.get_by_role("button", name="Start now: pay 499.00 USD").click()
    expect(client.locator("#checkout-amount")).to_have_text("499.00 USD")
    client.locator("#checkout-pay-amount").fill("200.00")
    client.get_by_role("button", name="Pay", exact=True).click()
    expect(client.get_by_text("Payment of 200.00 USD sent")).to_be_visible()
    run_jobs()  # the sandbox's webhook goes out over HTTP to the live server
    assert Participation.objects.get().status == "pending_payment"
    assert ledger.balances(active_client) == {"USD": Decimal("200.00")}

    client.goto(f"/portal/my-challenges/{Participation.objects.get().pk}/")
    expect(client.locator("#paid-so-far")).to_contain_text("200.00 USD")
    client.locator("#pay-now").click()
    expect(client.locator("#checkout-paid")).to_contain_text("200.00 USD")
    expect(client.locator("#checkout-pay-amount")).to_have_value("299.00")
    client.get_by_role("button", name="Pay", exact=True).click()
    run_jobs()
    assert Participation.objects.get().status != "pending_payment"
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}

    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    staff.get_by_role("link", name="Payments").click()
    staff.locator("#payments tbody a").first.click()
    expect(staff.locator("#payment-status")).to_have_text("Paid")
    staff.locator('#refund-form input[name="amount"]').fill("499.00")
    staff.locator('#refund-form input[name="reason"]').fill("Client asked before trading")
    staff.get_by_role("button", name="Refund…").click()
    expect(staff.locator("#refund-confirm-text")).to_contain_text("499.00 USD")
    staff.locator("#refund-confirm").click()
    run_jobs()  # the refund is carried out after the commit
    staff.reload()
    expect(staff.locator("#payment-status")).to_have_text("Refunded")
    expect(staff.locator("#refunds")).to_contain_text("Succeeded")
    joined = Participation.objects.get()
    assert joined.refund_entry is not None
    assert Payment.objects.get().refunded == Decimal("499.00")
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    assert ledger.check() == []
