"""A stage with a weekend close, in Chromium: the trader, on a phone, reads the next cutoff and
its countdown beside the open positions against their limit; the clock reaches the cutoff with a
position still open and the stage fails at that instant (no event from the account: the monitor
acts on the clock); the participant page explains it, with the cutoff and the position open at
it, and the trader reads the same."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from propdesk.accounts import services as accounts
from propdesk.challenges.monitoring import monitor, progress
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import orders, ticks
from propdesk.rules.model import format_time
from tests.browser.flows import log_in, reload
from tests.challenges.factories import PRAGUE, D, running, server, stage
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def fits(page: Page) -> None:
    width, window = page.evaluate(FITS)
    assert width <= window, f"{page.url} is {width} px wide in a {window} px window"


def test_a_position_held_at_the_weekend_cutoff_fails_the_stage_and_the_pages_explain_it(
    new_page, active_client, finance, admin
):
    accounts.set_time_zone(active_client, "Europe/Prague")
    now = timezone.now().astimezone(PRAGUE)
    local = (now + timedelta(hours=2, minutes=1)).replace(second=0, microsecond=0)
    cutoff = local.astimezone(UTC)
    rule = {"day": WEEKDAYS[local.weekday()], "time": local.strftime("%H:%M")}
    rules = {
        "day_reset": (now - timedelta(hours=1)).strftime("%H:%M"),  # the day ends after it
        "weekend_close": rule,
        "max_open_positions": 2,
    }
    joined, attempt = running(active_client, finance, admin, stages=[stage(**rules), stage()])
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    monitor.process(server())
    shown = progress.instant_text(cutoff, PRAGUE)
    every_week = f"{rule['day'].title()} {rule['time']} (Europe/Prague)"

    # The trader, on a phone: the cutoff, counting down, and the open positions' limit.
    trader = new_page()
    trader.set_viewport_size({"width": 390, "height": 844})
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(reverse("portal:my_challenge", kwargs={"participation_id": joined.pk}))
    weekend = trader.locator("[data-weekend-close]")
    expect(weekend).to_contain_text(f"Weekend close: every position closed by {shown}")
    expect(weekend).to_contain_text(f"{every_week} each week; 1 open now")
    expect(weekend.locator("[data-countdown-left]")).to_have_text(
        # counted down by the page's script from the server's seconds
        re.compile(r" \(due in (1 h 59|2 h [01]) min\)")
    )
    expect(trader.locator('[data-bar="open_positions"] .bar-words')).to_have_text(
        "1 of at most 2 open"
    )
    fits(trader)

    # Staff see the same cutoff on the participant page.
    staff = new_page()
    staff.set_viewport_size({"width": 1024, "height": 768})
    log_in(staff, admin.email, PASSWORD)
    staff.goto(reverse("backoffice:participant", kwargs={"participation_id": joined.pk}))
    expect(staff.locator("[data-weekend-close]")).to_contain_text(f"{shown}, in 2 h")
    expect(staff.locator("[data-weekend-close]")).to_contain_text("1 open now")
    fits(staff)

    # The clock reaches the cutoff with the position open, before the day's end: no event came
    # from the account.
    monitor.close_days(cutoff - timedelta(seconds=1))
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert cutoff < attempt.day_end
    monitor.close_days(cutoff)
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert attempt.verdict["rule"] == "weekend_holding"
    assert attempt.verdict["at"] == format_time(cutoff)

    reload(staff)
    expect(staff.locator("[data-stage-status]")).to_have_text("Failed")
    expect(staff.locator("#explanation")).to_have_text(
        f"The weekend cutoff came at {shown} with 1 position still open (#{position.pk}; "
        f"10.00 lots): every position must be closed by {every_week} each week."
    )
    staff.get_by_text("The evaluator's full explanation").click()
    arithmetic = staff.locator("#evaluator-explanation")
    expect(arithmetic).to_be_visible()
    expect(arithmetic).to_contain_text(
        f"weekend cutoff: {rule['day']} {rule['time']} in Europe/Prague = {format_time(cutoff)}"
    )
    expect(arithmetic).to_contain_text(f'1 position open at the cutoff ("{position.pk}"; 10')
    fits(staff)

    reload(trader)
    expect(trader.locator("[data-headline]").first).to_contain_text(
        f"The weekend cutoff came at {shown} with 1 position still open"
    )
    expect(trader.locator("[data-weekend-close]")).to_have_count(0)  # decided: no cutoff ahead
    fits(trader)
