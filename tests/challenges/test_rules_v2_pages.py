"""What staff and the trader see of version 2's rules (docs/rules.md): the participant page's
figures and bars and the portal's (trading days as counted, open positions and lots against
their limits, the next weekend cutoff, money moved by the firm), the sentences of the new
verdicts with their figures, and each balance event with the references it moved."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.html import escape

from propdesk.accounts import services as accounts
from propdesk.challenges.monitoring import monitor, progress
from propdesk.platforms import services as platform_staff
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import orders, ticks
from propdesk.rules.model import format_time
from tests.challenges.factories import PRAGUE, D, profit_then_loss, running, server, stage, trading
from tests.challenges.pages import bar
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LIMITS = {
    "max_open_positions": 3,
    "max_open_volume": "25",
    "trading_day": {"counts": "opened_and_closed", "min_profit_pct": "0.5"},
}


def cutoff_soon(hours: int = 2) -> tuple[dict, datetime]:
    """A weekend close whose cutoff falls about `hours` from now (Prague, whole minutes), and
    the cutoff."""
    local = (timezone.now().astimezone(PRAGUE) + timedelta(hours=hours, minutes=1)).replace(
        second=0, microsecond=0
    )
    rule = {"day": WEEKDAYS[local.weekday()], "time": local.strftime("%H:%M")}
    return rule, local.astimezone(UTC)


def day_reset_an_hour_ago() -> str:
    """A day reset that makes the current day end almost a day from now (after a cutoff
    soon)."""
    return (timezone.now().astimezone(PRAGUE) - timedelta(hours=1)).strftime("%H:%M")


def portal_page(client, joined) -> str:
    return logged_in(client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()


def staff_page(admin, joined) -> str:
    response = logged_in(admin).get(f"/backoffice/prop-trading/participants/{joined.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def staff_bar(page: str, key: str) -> tuple[str, str]:
    """The participant page's bar: its length and its words."""
    found = re.search(
        rf'data-bar="{key}"[^>]*><progress value="([^"]+)"[^>]*></progress><small>([^<]*)<',
        page,
    )
    assert found, f"the participant page shows the {key} bar"
    return found.group(1), found.group(2)


def tagged(page: str, attribute: str) -> str:
    """The text inside the element carrying `attribute`, tags removed."""
    found = re.search(rf"<(\w+) [^>]*{attribute}[^>]*>(.*?)</\1>", page, re.S)
    assert found, f"the page has {attribute}"
    return re.sub(r"<[^>]+>", "", found.group(2))


@pytest.fixture
def limited(active_client, finance, admin):
    """A running stage with every version-2 limit, one position (10 lots) open after a closed
    one: balance 102,880, equity 97,760; the cutoff about two hours off."""
    accounts.set_time_zone(active_client, "Europe/Prague")
    rule, cutoff = cutoff_soon()
    joined, attempt = trading(active_client, finance, admin, weekend_close=rule, **LIMITS)
    profit_then_loss(attempt)
    return joined, attempt, rule, cutoff


# --- the running stage's figures -----------------------------------------------------------


def test_the_portal_shows_open_positions_and_lots_against_their_limits_and_how_days_count(
    active_client, limited
):
    joined, attempt, _, _ = limited
    f = progress.figures(attempt)
    assert (f.open_positions, f.open_volume, f.trading_days) == (1, D("10.00"), 0)
    page = portal_page(active_client, joined)
    assert bar(page, "open_positions") == ("33.33", "100", "1 of at most 3 open")
    assert bar(page, "open_volume") == ("40.00", "100", "10.00 of at most 25 lots open")
    assert 'data-figure="open_positions">1 of at most 3<' in page
    assert 'data-figure="open_volume">10.00 of at most 25<' in page
    # The day's closed trade made 2,880 but counts only at the day's close (a least profit).
    assert bar(page, "days") == (
        "0",
        "4",
        "0 of 4 trading days; a trading day is a day with a position opened and closed, "
        "and at least 0.5% profit (500.00 USD)",
    )


def test_the_portal_counts_down_to_the_weekend_cutoff_in_the_clients_zone(active_client, limited):
    joined, _, rule, cutoff = limited
    page = portal_page(active_client, joined)
    local = progress.instant_text(cutoff, PRAGUE)
    iso = format_time(cutoff)
    assert f'<time datetime="{iso}">{local}</time>' in page
    seconds = int(re.search(r'data-weekend-close data-countdown="(\d+)"', page).group(1))
    assert 2 * 3600 - 60 <= seconds <= 2 * 3600 + 60
    words = tagged(page, "data-weekend-close")
    assert words.startswith(f"Weekend close: every position closed by {local} (in 2 h")
    assert f"({rule['day'].title()} {rule['time']} (Europe/Prague) each week; 1 open now)" in words


def test_a_stage_without_the_new_rules_shows_none_of_their_figures(active_client, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    page = portal_page(active_client, joined)
    assert 'data-figure="open_positions">1<' in page
    for absent in ('data-bar="open_positions"', 'data-bar="open_volume"', "data-weekend-close"):
        assert absent not in page
    assert "a trading day is" not in page
    assert bar(page, "days")[2] == "1 of 4 trading days"
    staff = staff_page(admin, joined)
    for absent in ("data-weekend-close", 'data-figure="trading_day"', 'data-figure="moved"'):
        assert absent not in staff


def test_the_participant_page_shows_the_limits_the_day_count_and_the_weekend_cutoff(admin, limited):
    joined, _, rule, cutoff = limited
    page = staff_page(admin, joined)
    assert 'data-figure="open_positions">1 <small class="muted">of at most 3</small>' in page
    assert 'data-figure="open_volume">10.00 <small class="muted">of at most 25</small>' in page
    assert staff_bar(page, "open_positions") == ("33.33", "1 of 3")
    assert staff_bar(page, "open_volume") == ("40.00", "10.00 of 25")
    assert tagged(page, 'data-figure="trading_day"') == (
        "is a day with a position opened and closed, and at least 0.5% profit (500.00 USD)"
    )
    days = re.search(r'data-bar="days" title="([^"]*)"', page).group(1)
    assert days.endswith("; a trading day is a day with a position opened and closed, and at "
                         "least 0.5% profit (500.00 USD)")  # fmt: skip
    weekend = tagged(page, "data-weekend-close")
    assert weekend.startswith(f"{progress.instant_text(cutoff, PRAGUE)}, in 2 h")
    assert weekend.endswith(
        f"every {rule['day'].title()} {rule['time']} (Europe/Prague); 1 open now"
    )


# --- money moved by the firm -----------------------------------------------------------------


def test_money_moved_is_shown_apart_from_profit_with_the_references_it_moved(
    active_client, finance, admin
):
    joined, attempt = trading(active_client, finance, admin)
    monitor.process(server())
    platform_staff.balance_operation(attempt.login, amount="-5000", comment="Fix", actor=admin)
    monitor.process(server())
    attempt.refresh_from_db()
    f = progress.figures(attempt)
    assert (f.moved, f.profit, f.balance) == (D("-5000"), D("0"), D("95000"))
    page = portal_page(active_client, joined)
    assert 'data-figure="moved">-5,000.00 USD <small' in page
    assert 'data-figure="profit">0.00 USD<' in page
    staff = staff_page(admin, joined)
    assert 'data-figure="moved">-5,000.00 USD <small' in staff
    (evaluator_move,) = progress.evaluator_for(attempt).moves
    move = re.search(
        rf'<article data-move="{evaluator_move["event"]}">(.*?)</article>', staff, re.S
    ).group(1)
    assert "<strong>5,000.00 USD</strong> taken out by the firm at " in move

    def reference(key: str) -> tuple[str, str]:
        found = re.search(rf'<tr data-reference="{key}"><td>[^<]*</td><td>([^<]*)</td><td>(.*?)'
                          r"</td></tr>", move)  # fmt: skip
        assert found, f"the move shows the {key}"
        return found.group(1), re.sub(r"<[^>]+>", "", found.group(2))

    assert reference("moved") == ("0.00", "-5,000.00")
    assert reference("prev_day_balance") == ("100,000.00", "95,000.00")
    assert reference("daily_loss_floor") == ("95,000.00", "90,000.00")
    assert reference("max_loss_floor") == ("90,000.00", "90,000.00 (unchanged)")  # static
    assert reference("target_balance") == ("108,000.00", "103,000.00")
    assert 'data-reference="peak"' not in move  # a static max loss has no peak


# --- the new verdicts ------------------------------------------------------------------------


def open_two(attempt, volume="10.00"):
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume=volume)
    second = orders.place_order(account, symbol="EURUSD", side="buy", volume=volume)
    monitor.process(server())
    attempt.refresh_from_db()
    return second


def test_one_position_too_many_is_explained_with_the_count_and_the_limit(
    active_client, finance, admin
):
    accounts.set_time_zone(active_client, "Europe/Prague")
    joined, attempt = trading(active_client, finance, admin, max_open_positions=1)
    second = open_two(attempt)
    assert (attempt.status, attempt.verdict["rule"]) == ("failed", "max_open_positions")
    at = attempt.verdict["at"]
    local = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(PRAGUE)
    headline = (
        f"Opening position #{second.pk} at {local:%Y-%m-%d %H:%M:%S} (Europe/Prague) made 2 "
        "positions open at once, more than the 1 allowed."
    )
    assert progress.headline(attempt) == headline
    staff = staff_page(admin, joined)
    assert f'<p id="explanation">{escape(headline)}</p>' in staff
    assert escape(attempt.explanation) in staff  # the evaluator's arithmetic beneath
    assert f'<p class="headline" data-headline>{escape(headline)}</p>' in portal_page(
        active_client, joined
    )


def test_too_many_lots_are_explained_with_the_position_the_sum_and_the_limit(
    active_client, finance, admin
):
    joined, attempt = trading(active_client, finance, admin, max_open_volume="15")
    second = open_two(attempt)
    assert (attempt.status, attempt.verdict["rule"]) == ("failed", "max_open_volume")
    headline = progress.headline(attempt)
    assert headline.startswith(f"Opening position #{second.pk}, 10.00 lots at ")
    assert headline.endswith("made 20.00 lots open at once, more than the 15 allowed.")
    assert f'<p id="explanation">{escape(headline)}</p>' in staff_page(admin, joined)


def test_a_position_held_at_the_weekend_cutoff_is_explained_with_the_cutoff_and_the_positions(
    active_client, finance, admin
):
    accounts.set_time_zone(active_client, "Asia/Tokyo")  # the trader reads their own zone
    rule, cutoff = cutoff_soon()
    rules = {"day_reset": day_reset_an_hour_ago(), "weekend_close": rule}
    joined, attempt = running(active_client, finance, admin, stages=[stage(**rules), stage()])
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    monitor.process(server())
    attempt.refresh_from_db()
    assert cutoff < attempt.day_end  # the clock alone, at the cutoff, before the day's end
    monitor.close_days(cutoff)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.verdict["rule"]) == ("failed", "weekend_holding")
    assert attempt.verdict["at"] == format_time(cutoff)
    said = (
        f"with 1 position still open (#{position.pk}; 10.00 lots): every position must be "
        f"closed by {rule['day'].title()} {rule['time']} (Europe/Prague) each week."
    )
    staff = staff_page(admin, joined)
    headline = f"The weekend cutoff came at {progress.instant_text(cutoff, PRAGUE)} {said}"
    assert f'<p id="explanation">{escape(headline)}</p>' in staff
    assert escape(attempt.explanation) in staff
    assert format_time(cutoff) in attempt.explanation  # the cutoff instant, in the arithmetic
    tokyo = progress.instant_text(cutoff, ZoneInfo("Asia/Tokyo"))
    portal = portal_page(active_client, joined)
    assert escape(f"The weekend cutoff came at {tokyo} {said}") in portal
