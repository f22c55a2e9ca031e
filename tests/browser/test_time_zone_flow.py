"""A trader's own time zone, in Chromium: the registration form picks the browser's zone by
itself (a script of ours, under the Content-Security-Policy), and once the trader changes it on
their Profile page the challenge page writes the day's close in it, named."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from propdesk.accounts.models import Client
from tests.browser.flows import log_in, register_in_portal
from tests.challenges.factories import next_reset, reach_target, running, stage
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_registration_picks_the_browsers_time_zone(browser, live_server, set_method):
    set_method("trader_registration", "automatic")
    context = browser.new_context(base_url=live_server.url, timezone_id="Asia/Kathmandu")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto("/portal/register/")
        # Not among the common zones: the script adds it, chosen.
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Kathmandu")
        expect(page.locator("select[name=time_zone] option:checked")).to_have_text(
            "Asia/Kathmandu (your browser's)"
        )
        register_in_portal(page, email="kathmandu@example.com")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert Client.objects.get(user__email="kathmandu@example.com").time_zone == (
            "Asia/Kathmandu"
        )
        assert errors == [], "no script is refused by the Content-Security-Policy"
    finally:
        context.close()


def test_the_trader_changes_their_zone_and_the_challenge_page_follows(
    new_page, active_client, finance, admin
):
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(day_reset="00:00"), stage("live")]
    )
    reach_target(attempt)
    close = next_reset(timezone.now(), 0)  # midnight in Prague, the challenge's zone
    firm = close.astimezone(timezone.get_default_timezone())
    tokyo = close.astimezone(ZoneInfo("Asia/Tokyo"))

    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(f"/portal/my-challenges/{joined.pk}/")
    outlook = trader.locator("[data-outlook]")
    named = (
        f" ({settings.TIME_ZONE})" if firm.tzname() != settings.TIME_ZONE else ""
    )  # not UTC (UTC)
    expect(outlook).to_contain_text(
        f"passes at the day's close, {firm:%Y-%m-%d %H:%M} {firm.tzname()}{named}"
    )

    trader.get_by_role("link", name="Profile").click()
    expect(trader.locator("[data-time-zone]")).to_have_text(f"{settings.TIME_ZONE} (the firm's)")
    trader.get_by_label("Time zone").select_option("Asia/Tokyo")
    trader.get_by_role("button", name="Save").click()
    expect(trader.get_by_text("Saved: the portal shows times in Asia/Tokyo.")).to_be_visible()
    expect(trader.locator("[data-time-zone]")).to_have_text("Asia/Tokyo")

    trader.goto(f"/portal/my-challenges/{joined.pk}/")
    expect(outlook).to_contain_text(
        f"Target reached: this stage passes at the day's close, "
        f"{tokyo:%Y-%m-%d %H:%M} JST (Asia/Tokyo), in "
    )
    expect(trader.locator(".day-reset time")).to_have_text(
        f"{tokyo:%Y-%m-%d %H:%M} JST (Asia/Tokyo)"
    )
