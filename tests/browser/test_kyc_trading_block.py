"""Settings > KYC blocks "Trade": a client whose KYC is not approved opens the terminal with
their challenge's credentials, still sees prices and the account, and is told, when they buy,
to verify their identity first; no position opens."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from propdesk.challenges.participation import services as participation
from propdesk.onboarding import kyc
from propdesk.platforms.sandbox import ticks
from propdesk.platforms.sandbox.models import Position
from tests.browser.flows import terminal_log_in
from tests.challenges.factories import running, stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_client_blocked_from_trading_sees_why_in_the_terminal(
    new_page, active_client, finance, admin
):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    kyc.set_policy(["trade"], actor=admin)
    ticks.apply_tick("EURUSD", Decimal("1.08500"), Decimal("1.08512"))
    found = participation.credentials(joined, active_client)
    assert found is not None

    page = new_page()
    terminal_log_in(page, found["login"], found["password"])
    eurusd = page.locator('#quotes tr[data-symbol="EURUSD"]')
    expect(eurusd.locator('[data-field="ask"]')).to_have_text("1.08512")
    page.get_by_label("Symbol").select_option("EURUSD")
    page.get_by_label("Volume").fill("1.00")
    page.get_by_role("button", name="Buy", exact=True).click()
    expect(page.locator("#order-errors")).to_have_text(
        "Verify your identity before you trade: your KYC is not submitted."
    )
    expect(page.locator("#positions tr[data-position]")).to_have_count(0)
    assert not Position.objects.exists()
