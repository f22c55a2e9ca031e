"""The demo as a newcomer tries it in Chromium: Rosa, 20 USD short of the quick demo challenge's
+1% target, trades gold in the web terminal and passes the stage at the day's close; and staff
see on Settings > Sandbox instruments the spread the feed charges, and change the rollover's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from propdesk.accounts.models import Client
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import services as participation
from propdesk.demo import STAFF_PASSWORD, move_price, seed_demo
from propdesk.platforms.sandbox import accounts
from propdesk.platforms.sandbox.models import Instrument
from tests.browser.flows import log_in, terminal_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INSTRUMENTS = "/backoffice/settings/trading-platforms/sandbox-instruments/"


def test_rosa_trades_gold_in_the_terminal_and_passes_the_quick_demo_stage(new_page):
    seed_demo()
    rosa = Client.objects.get(user__email="rosa@example.com")
    joined = Participation.objects.get(client=rosa)
    shown = participation.credentials(joined, rosa)  # what My challenges shows her
    assert shown is not None
    page = new_page()
    terminal_log_in(page, shown["login"], shown["password"])
    balance = page.locator('[data-account="balance"]')
    expect(balance).to_have_text("10,080.00")

    page.get_by_label("Symbol").select_option("XAUUSD")
    page.get_by_label("Volume").fill("1.00")
    page.get_by_role("button", name="Buy", exact=True).click()
    position = page.locator("#positions tr[data-position]")
    expect(position).to_have_count(1)
    move_price("XAUUSD", Decimal("1.00"))  # gold up a dollar: +100 on one lot, less the spread
    position.get_by_role("button", name="Close").click()
    expect(page.locator("#positions tr[data-position]")).to_have_count(0)
    expect(balance).to_have_text("10,150.00")  # (1.00 - 0.30 spread) x 100 oz = +70

    attempt = joined.current_attempt()
    assert attempt is not None
    monitor.process(accounts.default_server())
    midnight = (timezone.now() + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    monitor.close_days(midnight + timedelta(seconds=1))  # the day's close, 00:00 UTC
    assert StageAttempt.objects.get(pk=attempt.pk).status == "passed"


def test_staff_see_the_charged_spread_and_change_the_rollovers(new_page):
    seed_demo()
    page = new_page()
    log_in(page, "admin@propdesk.demo", STAFF_PASSWORD)
    page.goto(INSTRUMENTS)
    gold = page.locator('#instruments tr[data-symbol="XAUUSD"]')
    expect(gold.locator("[data-spread]")).to_have_text(
        "30 points (0.30); 90 points (0.90) at the rollover, 21:00\u201323:00 UTC (\u00d73)"
    )
    expect(gold.locator("[data-volatility]")).to_contain_text("15% a year")
    gold.get_by_role("link", name="Edit").click()
    page.get_by_label("Spread at the rollover (\u00d7 the spread)").fill("2")
    page.get_by_label("Volatility (% a year)").fill("20")
    page.get_by_role("button", name="Save").click()
    expect(gold.locator("[data-spread]")).to_have_text(
        "30 points (0.30); 60 points (0.60) at the rollover, 21:00\u201323:00 UTC (\u00d72)"
    )
    expect(gold.locator("[data-volatility]")).to_contain_text("20% a year")
    stored = Instrument.objects.get(symbol="XAUUSD")
    assert (stored.rollover_spread_multiplier, stored.volatility) == (2, Decimal("0.2000"))

    page.goto(f"{INSTRUMENTS}XAUUSD/")
    page.get_by_label("Spread at the rollover (\u00d7 the spread)").fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The rollover multiplier is a whole number from 1")).to_be_visible()
    assert Instrument.objects.get(symbol="XAUUSD").rollover_spread_multiplier == 2
