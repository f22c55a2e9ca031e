"""A participation's page in the portal, in tabs: Overview (figures and credentials), Chart (the
current stage's equity curve with its floors and target, as staff see it), Trades (the deals of
the current stage's account, read from its trading platform when the tab is opened) and
Payouts. Only the owner sees any of them; a platform that fails or is too slow leaves the Trades
tab saying the history is unavailable right now, never an error page; the other tabs never ask
the platform."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.test import Client as HttpClient

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import services as participation
from propdesk.platforms.matchtrader.fake import FakeMatchTrader
from propdesk.platforms.models import TradingServer
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from tests.challenges.factories import (
    CURVE_BUCKETS,
    curve_of,
    definition,
    fund,
    move,
    on_platform,
    running,
    server,
    stage,
    trading,
)
from tests.conftest import logged_in
from tests.platforms.matchtrader.factories import control, server_for, start_fake
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db

D = Decimal
UNAVAILABLE = "Your trade history is unavailable right now: the trading platform did not answer."


def page_of(joined, tab: str = "") -> str:
    return f"/portal/my-challenges/{joined.pk}/" + (f"?tab={tab}" if tab else "")


def text(response) -> str:
    return response.content.decode()


def deal_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-deal="([^"]+)">', html)


def chart_json(html: str, chart_id: str = "portal-curve") -> dict:
    found = re.search(
        rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, f"no {chart_id} JSON on the page"
    return json.loads(found.group(1))


def traded(client, finance, admin):
    """A running stage whose account bought 10 lots of EURUSD and sold them 30 pips higher."""
    joined, attempt = running(client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.08800", "1.08812")
    orders.close_position(account, position.pk)
    monitor.process(server())
    return joined, attempt, position


# --- the tabs, and whose they are ----------------------------------------------------------------


def test_the_page_has_its_four_tabs_overview_first(active_client, finance, admin):
    joined, _ = trading(active_client, finance, admin)
    html = text(logged_in(active_client.user).get(page_of(joined)))
    tabs = re.search(
        r'<nav class="tabs" aria-label="This challenge" id="challenge-tabs">(.*?)</nav>', html, re.S
    )
    assert tabs
    assert re.findall(r'data-tab="(\w+)"', tabs.group(1)) == [
        "overview",
        "chart",
        "trades",
        "payouts",
    ]
    assert 'data-tab="overview" aria-current="page"' in tabs.group(1)
    assert f'href="{page_of(joined, "chart")}"' in tabs.group(1)
    assert "data-login" in html  # the overview: the credentials


def test_each_tab_is_the_owners_only(active_client, register, finance, admin):
    joined, _ = trading(active_client, finance, admin)
    other, _ = register(email="other@example.com")
    theirs = logged_in(other.user)
    for tab in ("", "overview", "chart", "trades", "payouts"):
        path = page_of(joined, tab)
        assert theirs.get(path).status_code == 404, path
        assert logged_in(admin).get(path).status_code == 403, path  # staff use the back office
        assert HttpClient().get(path).status_code == 302, path  # to log in
        assert logged_in(active_client.user).get(path).status_code == 200, path
    missing = "/portal/my-challenges/999999/?tab=trades"
    assert logged_in(active_client.user).get(missing).status_code == 404


@pytest.mark.parametrize(
    "tab", ["Chart", "trade", "<script>alert(1)</script>", "x" * 5000, "payouts/../overview"]
)
def test_a_tab_the_page_does_not_have_is_not_found(active_client, finance, admin, tab):
    joined, _ = trading(active_client, finance, admin)
    response = logged_in(active_client.user).get(page_of(joined), {"tab": tab})
    assert response.status_code == 404
    assert "<script>alert(1)</script>" not in text(response)


def test_the_payouts_tab_holds_the_payouts_section(active_client, finance, admin):
    joined, _ = trading(active_client, finance, admin)
    html = text(logged_in(active_client.user).get(page_of(joined, "payouts")))
    assert '<section id="tab-payouts">' in html
    assert 'data-tab="payouts" aria-current="page"' in html
    assert "data-login" not in html  # the credentials are the overview's


# --- Chart ---------------------------------------------------------------------------------------


def test_the_chart_tab_carries_the_curve_with_the_floors_and_target_as_staff_see_it(
    active_client, finance, admin
):
    joined, attempt = trading(active_client, finance, admin)
    written = curve_of(attempt)
    monitor.process(server())
    html = text(logged_in(active_client.user).get(page_of(joined, "chart")))
    chart = chart_json(html)
    assert chart["currency"] == "USD"
    assert [p["t"] for p in chart["points"][:CURVE_BUCKETS]] == [p["t"] for p in written]
    assert chart["points"][0]["equity"] == "100000.00"
    assert {line["key"]: line["value"] for line in chart["lines"]} == {
        "target": "108000.00",
        "daily": "95000.00",
        "max": "90000.00",
    }
    staff = text(logged_in(admin).get(f"/backoffice/prop-trading/participants/{joined.pk}/"))
    assert chart_json(staff, "participant-curve") == chart  # the same curve, the same lines
    # Drawn by static files (uPlot and our script), no inline script; and said in words.
    assert "/static/vendor/uplot/uPlot.iife.min.js" in html
    assert "/static/challenges/chart.js" in html
    assert "/static/vendor/uplot/uPlot.min.css" in html
    assert not re.search(r"<script(?![^>]*(src=|application/json))[^>]*>", html)
    caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", html, re.S).group(1)
    assert "five-minute buckets, amounts in USD): equity 100,000.00 at first, " in caption
    assert " USD at the last" not in caption  # the currency is said once, not for one figure
    assert "Profit target 108,000.00." in caption
    assert "Daily-loss floor 95,000.00." in caption
    assert "Max-loss floor 90,000.00." in caption
    assert len(re.findall(r'<tr data-day="', html)) >= 2  # the day-by-day table (24 hours)


def test_a_stage_without_figures_yet_says_so_in_words(active_client, finance, admin):
    joined, _ = trading(active_client, finance, admin)  # the monitor has not read the account
    html = text(logged_in(active_client.user).get(page_of(joined, "chart")))
    assert "No equity figures yet" in html
    assert "data-chart=" not in html
    assert "uPlot.iife.min.js" not in html


# --- Trades --------------------------------------------------------------------------------------


def test_the_trades_tab_lists_the_deals_of_the_current_stages_account(
    active_client, finance, admin
):
    joined, attempt, position = traded(active_client, finance, admin)
    html = text(logged_in(active_client.user).get(page_of(joined, "trades")))
    assert len(deal_rows(html)) == 3  # the starting balance, the buy, the sell
    assert "Initial deposit" in html
    row = re.search(r'<tr data-deal="[^"]+">((?:(?!</tr>).)*Close(?:(?!</tr>).)*)</tr>', html, re.S)
    assert row, "the closing deal"
    assert f"#{position.pk}" in row.group(1)
    assert "EURUSD" in row.group(1)
    assert "2,880.00" in row.group(1)  # 30 pips on 10 lots, less the spread
    assert f"account {attempt.login}" in html
    assert UNAVAILABLE not in html


def test_a_page_past_the_last_one_shows_the_last_and_a_bad_page_the_first(
    active_client, finance, admin
):
    joined, *_ = traded(active_client, finance, admin)
    http = logged_in(active_client.user)
    for page in ("999", "abc", "-1", "9" * 400):
        response = http.get(page_of(joined), {"tab": "trades", "page": page})
        assert response.status_code == 200, page
        assert len(deal_rows(text(response))) == 3, page


def test_a_stage_whose_account_is_being_prepared_has_no_trades_yet(active_client, finance, admin):
    made = catalogue.create(definition(stages=[stage(), stage("live")]), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    fund(active_client, finance)
    joined = participation.start(active_client, made.pk, payment="wallet")
    # The platform command that opens the account has not run.
    html = text(logged_in(active_client.user).get(page_of(joined, "trades")))
    assert 'id="no-account"' in html
    assert deal_rows(html) == []


# --- a remote platform that fails or is slow -----------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeMatchTrader]:
    running_fake = start_fake()
    yield running_fake
    running_fake.stop()


@pytest.fixture
def remote(db: None, fake: FakeMatchTrader) -> TradingServer:
    return server_for(fake)


def on_remote(client, finance, admin, remote):
    challenge = on_platform(remote, admin)
    fund(client, finance)
    joined = participation.start(client, challenge.pk, payment="wallet")
    carry_out_platform_commands()  # the account is opened on the platform
    return joined


def test_the_trades_tab_reads_a_remote_platforms_history(
    active_client, finance, admin, remote, fake
):
    joined = on_remote(active_client, finance, admin, remote)
    html = text(logged_in(active_client.user).get(page_of(joined, "trades")))
    assert len(deal_rows(html)) == 1  # the starting balance, deposited on the platform
    assert UNAVAILABLE not in html


@pytest.mark.parametrize("status", [500, 503, 401])
def test_a_platform_that_fails_leaves_the_history_unavailable_not_an_error(
    active_client, finance, admin, remote, fake, status
):
    joined = on_remote(active_client, finance, admin, remote)
    control(fake, "fail", {"count": 5, "status": status})
    response = logged_in(active_client.user).get(page_of(joined, "trades"))
    assert response.status_code == 200
    html = text(response)
    assert UNAVAILABLE in html
    assert 'id="history-unavailable"' in html
    assert deal_rows(html) == []
    assert fake.url not in html  # the platform's address and its answer stay with staff
    assert "Ordered by the fake" not in html


def test_a_platform_too_slow_leaves_the_history_unavailable(
    active_client, finance, admin, remote, fake, settings
):
    joined = on_remote(active_client, finance, admin, remote)
    settings.MATCH_TRADER_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 2})
    response = logged_in(active_client.user).get(page_of(joined, "trades"))
    assert response.status_code == 200
    assert UNAVAILABLE in text(response)
    assert fake.settle()  # the platform finishes the call nobody waits for any more
    # Once it answers again, so does the tab.
    assert len(deal_rows(text(logged_in(active_client.user).get(page_of(joined, "trades"))))) == 1


def test_the_platform_down_the_other_tabs_never_ask_it(active_client, finance, admin, remote, fake):
    joined = on_remote(active_client, finance, admin, remote)
    control(fake, "fail", {"count": 1, "status": 500})  # taken by the first call that comes
    http = logged_in(active_client.user)
    for tab in ("overview", "chart", "payouts"):
        assert http.get(page_of(joined, tab)).status_code == 200
    assert len(fake.faults.pending) == 1  # no page asked the platform
    assert UNAVAILABLE in text(http.get(page_of(joined, "trades")))
    assert fake.faults.pending == []


def test_staff_are_told_the_platform_did_not_answer_rather_than_shown_no_deals(
    active_client, finance, admin, remote, fake
):
    joined = on_remote(active_client, finance, admin, remote)
    control(fake, "fail", {"count": 10, "status": 500})
    response = logged_in(admin).get(f"/backoffice/prop-trading/participants/{joined.pk}/")
    assert response.status_code == 200
    html = text(response)
    history = re.search(r'<p class="muted" id="history-error">(.*?)</p>', html, re.S)
    assert history
    assert "The trading platform did not answer: Match-Trader answered 500" in history.group(1)
    assert "No deals yet." not in html
