"""Where the trader stands, as the portal shows it: the home's next step and challenges, a stage
waiting for the live step under review (no credentials offered), a reached target with the
instant and time left until the stage passes, and day closes written as the instant they
happen, never as the trading day's internal label: in the client's own time zone (the firm's
when they chose none), the zone named; staff read them in the challenge's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.html import escape

from propdesk.accounts import services as accounts
from propdesk.challenges.models import StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.onboarding import kyc
from propdesk.wallet import services
from tests.challenges.factories import (
    PRAGUE,
    next_reset,
    pass_stage,
    reach_target,
    running,
    stage,
)
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


def home(client) -> str:
    return logged_in(client.user).get("/portal/").content.decode()


def next_step(page: str) -> str:
    found = re.search(r'data-next-step="(\w+)"', page)
    assert found, "the home shows a next step"
    return found.group(1)


def status_line(page: str, participation_id: int) -> str:
    row = re.search(
        rf'<tr data-participation="{participation_id}">.*?<td data-status-line>(.*?)</td>',
        page,
        re.S,
    )
    assert row, "the home lists the challenge"
    return row.group(1)


def when(at, zone: ZoneInfo = PRAGUE) -> str:
    local = at.astimezone(zone)
    named = f" ({zone.key})" if local.tzname() != zone.key else ""  # "UTC", not "UTC (UTC)"
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}{named}"


def test_a_new_trader_with_an_empty_wallet_is_told_to_deposit(active_client, challenge):
    page = home(active_client)
    assert next_step(page) == "deposit"
    assert 'href="/portal/wallet/deposit/"' in page
    assert "You have not started a challenge yet." in page


def test_a_trader_whose_wallet_pays_a_fee_is_told_to_buy(active_client, finance, challenge):
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="600",
        currency="USD",
        comment="x",
        actor=finance,
    )
    page = home(active_client)
    assert next_step(page) == "buy"
    assert 'href="/portal/challenges/" role="button"' in page


def test_a_trader_blocked_by_the_kyc_policy_is_told_to_verify(active_client, admin, challenge):
    kyc.set_policy(["join_challenge"], actor=admin)
    page = home(active_client)
    assert next_step(page) == "verify"
    assert 'href="/portal/kyc/" role="button"' in page


def test_a_running_stage_is_listed_and_the_next_step_is_to_trade(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(min_trading_days=4)])
    page = home(active_client)
    assert next_step(page) == "trade"
    assert f'href="/portal/my-challenges/{joined.pk}/" role="button"' in page
    assert "<td data-stage>1 of 1: Stage 1</td>" in page
    line = status_line(page, joined.pk)
    assert line == "In progress: 0.00% of the profit target, 0 of 4 trading days."


def test_a_stage_the_kyc_policy_stops_trading_sends_the_client_to_verify_not_to_the_terminal(
    active_client, finance, admin
):
    joined, _ = running(active_client, finance, admin, stages=[stage()])
    kyc.set_policy(["trade"], actor=admin)
    assert next_step(home(active_client)) == "verify"
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert 'id="trading-blocked"' in page
    assert "Verify your identity before you trade" in page
    assert "Open the web terminal" not in page
    kyc.set_policy([], actor=admin)
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert "Open the web terminal" in page
    assert 'id="trading-blocked"' not in page


def test_a_reached_target_says_when_the_stage_passes_in_the_clients_zone(
    active_client, finance, admin
):
    """The challenge's day closes at midnight in Prague; the trader in Tokyo reads 08:00 JST
    (07:00 in summer), named."""
    accounts.set_time_zone(active_client, "Asia/Tokyo")
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(day_reset="00:00"), stage()]
    )
    reach_target(attempt)
    close = next_reset(timezone.now(), 0)
    assert when(close, TOKYO).endswith((" 08:00 JST (Asia/Tokyo)", " 07:00 JST (Asia/Tokyo)"))
    expected = f"Target reached: this stage passes at the day's close, {when(close, TOKYO)}, in "
    assert status_line(home(active_client), joined.pk).startswith(escape(expected))
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    outlook = re.search(r"<p class=\"notice\" data-outlook>(.*?)</p>", page, re.S)
    assert outlook, "the challenge page says the target is reached"
    assert outlook.group(1).startswith(escape(expected))


def test_a_reached_target_with_days_missing_says_how_many(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(min_trading_days=3)])
    reach_target(attempt)
    line = progress.outlook(attempt)
    assert line.startswith("Target reached: 2 more trading days needed (at least 3)")


def test_a_stage_waiting_for_the_live_step_is_under_review_without_credentials(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)
    me = logged_in(active_client.user)
    page = me.get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert "data-under-review" in page
    assert re.search(r"Your live step \(stage 2: .*?\) is under review</strong>, since ", page)
    assert "Once approved, your live account&#x27;s credentials appear here" in page
    assert "<code data-login>" not in page
    assert "Open the web terminal" not in page
    listing = me.get("/portal/my-challenges/").content.decode()
    assert '<span class="status status-pending" data-under-review>Under review</span>' in listing
    front = home(active_client)
    assert next_step(front) == "wait"
    assert "is under review, since " in front
    assert status_line(front, joined.pk).startswith("Your live step (stage 2:")


def test_a_passed_stage_reads_as_the_instant_of_its_close_not_the_day_label(
    active_client, finance, admin
):
    """A 21:30 reset: trading on the 4th before 21:30 belongs to trading day "the 3rd", which
    closes on the 4th at 21:30; the trader (in Prague) reads the 4th, 21:30."""
    accounts.set_time_zone(active_client, "Europe/Prague")
    started = timezone.now()
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(day_reset="21:30"), stage()]
    )
    pass_stage(attempt)
    attempt.refresh_from_db()
    assert attempt.status == StageAttempt.Status.PASSED
    close = next_reset(started, 21, 30)
    line = progress.headline(attempt)
    assert line == f"Passed at the day's close, {when(close)}: every objective was met."
    label = (close - timedelta(days=1)).date().isoformat()  # the trading day's own label
    assert label not in line
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert escape(line) in page


def test_staff_read_the_next_day_reset_and_the_pass_time_as_instants(active_client, finance, admin):
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(day_reset="00:00"), stage()]
    )
    reach_target(attempt)
    close = next_reset(timezone.now(), 0)
    page = (
        logged_in(admin).get(f"/backoffice/prop-trading/participants/{joined.pk}/").content.decode()
    )
    assert f"<dd data-next-reset>{when(close)}</dd>" in page
    passes = escape(f"this stage passes at the day's close, {when(close)}, in ")
    assert re.search(r"<dd data-outlook>Target reached: " + re.escape(passes), page)


def test_an_ib_sees_no_challenge_panel_until_they_run_one(register, set_method, finance, admin):
    set_method("ib_registration", "automatic")
    ib, _ = register(kind="ib")
    page = home(ib)
    assert "You are registered as an IB." in page
    assert "data-next-step" not in page
    joined, _ = running(ib, finance, admin, stages=[stage()])
    assert f'<tr data-participation="{joined.pk}">' in home(ib)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (-5, "any moment now"),
        (0, "any moment now"),
        (30, "in 1 min"),
        (3 * 3600, "in 3 h"),
        (3 * 3600 + 301, "in 3 h 6 min"),
        (26 * 3600, "in 1 day 2 h"),
        (3 * 86400, "in 3 days"),
    ],
)
def test_the_time_left_reads_in_hours_and_minutes(seconds, words):
    now = timezone.now()
    assert progress.relative_text(now + timedelta(seconds=seconds), now) == words


def test_an_instant_is_written_in_the_challenges_zone_with_its_name():
    at = datetime(2026, 12, 4, 20, 30, tzinfo=UTC)
    assert progress.instant_text(at, PRAGUE) == "2026-12-04 21:30 CET (Europe/Prague)"


def test_a_client_without_a_zone_of_their_own_reads_the_firms(
    active_client, finance, admin, settings
):
    assert active_client.time_zone == ""
    firm = ZoneInfo(settings.TIME_ZONE)  # the books' days are counted in it: not changed here
    assert firm != PRAGUE
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(day_reset="00:00"), stage()]
    )
    reach_target(attempt)
    close = next_reset(timezone.now(), 0)
    expected = f"this stage passes at the day's close, {when(close, firm)}, in "
    assert escape(expected) in status_line(home(active_client), joined.pk)


def test_the_time_waited_is_written_in_the_clients_zone(active_client, finance, admin):
    accounts.set_time_zone(active_client, "Asia/Tokyo")
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)  # the live step waits for the firm's review
    line = status_line(home(active_client), joined.pk)
    assert re.search(
        r"is under review, since \d{4}-\d\d-\d\d \d\d:\d\d JST \(Asia/Tokyo\), "
        r"(just now|\d+ min ago)\.$",
        line,
    ), line


def test_the_day_reset_and_the_pages_dates_are_in_the_clients_zone(active_client, finance, admin):
    accounts.set_time_zone(active_client, "Asia/Tokyo")
    joined, _ = running(active_client, finance, admin, stages=[stage(day_reset="21:30")])
    close = next_reset(timezone.now(), 21, 30)
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert f'">{when(close, TOKYO)}</time>' in page
    started = re.search(r"</span>, started (.*?)</dd>", page)
    assert started
    assert started.group(1).endswith(" JST"), "the page's dates follow the client"
