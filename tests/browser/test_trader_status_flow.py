"""The trader always knows where they stand, in Chromium: the portal home's next step moves
from deposit to buy to trade; a reached target says when the stage passes (the instant in the
trader's zone, here the challenge's, and the time left); once it passed and the live step
waits, the challenge page says under review and offers no terminal. (A trader in another zone
than the challenge's: test_time_zone_flow.)"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from propdesk.accounts import services as accounts
from propdesk.challenges.catalogue import services as catalogue
from propdesk.wallet import services
from tests.browser.flows import log_in, reload
from tests.challenges.factories import (
    PRAGUE,
    definition,
    next_reset,
    pass_stage,
    reach_target,
    running,
    stage,
)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_trader_reads_their_next_step_and_each_stages_status(
    new_page, active_client, finance, admin
):
    accounts.set_time_zone(active_client, "Europe/Prague")  # a trader in the challenge's zone
    catalogue.publish(catalogue.create(definition(), actor=admin).pk, actor=admin)
    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto("/portal/")
    step = trader.locator("#next-step")
    expect(step).to_contain_text("Deposit to your wallet")
    expect(step.get_by_role("button", name="Deposit")).to_have_attribute(
        "href", "/portal/wallet/deposit/"
    )

    services.adjust(
        active_client.pk,
        direction="credit",
        amount="600.00",
        currency="USD",
        comment="Top up",
        actor=finance,
    )
    reload(trader)
    expect(step).to_contain_text("Buy your first challenge")

    joined, attempt = running(
        active_client, finance, admin, stages=[stage(day_reset="00:00"), stage("live")]
    )
    reload(trader)
    expect(step).to_contain_text("Trade your challenge")
    step.get_by_role("button", name="Credentials and terminal").click()
    expect(trader).to_have_url(re.compile(rf"/portal/my-challenges/{joined.pk}/$"))
    expect(trader.get_by_role("button", name="Open the web terminal")).to_be_visible()

    reach_target(attempt)
    close = next_reset(timezone.now(), 0).astimezone(PRAGUE)
    instant = f"{close:%Y-%m-%d} 00:00 {close.tzname()} (Europe/Prague)"
    reload(trader)
    expect(trader.locator("[data-outlook]")).to_contain_text(
        f"Target reached: this stage passes at the day's close, {instant}, in "
    )
    trader.goto("/portal/")
    row = trader.locator(f'tr[data-participation="{joined.pk}"]')
    expect(row.locator("[data-status-line]")).to_contain_text(
        f"this stage passes at the day's close, {instant}"
    )

    pass_stage(attempt)  # the day closes: the stage passes, the live step is asked for
    reload(trader)
    expect(step).to_contain_text("Waiting for us")
    expect(step).to_contain_text("is under review, since ")
    expect(row.locator("[data-status]")).to_have_text("Under review")
    row.get_by_role("link", name="Open").click()
    review = trader.locator("#under-review")
    expect(review).to_contain_text("Under review")
    expect(review).to_contain_text("Once approved, your live account's credentials appear here")
    expect(trader.get_by_role("button", name="Open the web terminal")).to_have_count(0)
