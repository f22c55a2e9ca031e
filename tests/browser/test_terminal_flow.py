"""The web terminal in Chromium: a trader logs in with the account's own credentials, buys
EURUSD, watches the floating profit follow the feed's prices, closes, and finds the deal in the
history and its profit, to the cent, in the balance."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from propdesk.platforms.sandbox import accounts, ticks
from propdesk.platforms.sandbox.models import Account
from tests.browser.flows import terminal_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal
CONTRACT = 100_000  # EURUSD: units per lot
START = D("100000.00")


def new_account() -> tuple[Account, str]:
    return accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )


def test_a_trader_buys_eurusd_watches_the_profit_move_and_closes_it(new_page):
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    account, password = new_account()
    page = new_page()
    terminal_log_in(page, account.login, password)

    balance = page.locator('[data-account="balance"]')
    equity = page.locator('[data-account="equity"]')
    eurusd = page.locator('#quotes tr[data-symbol="EURUSD"]')
    expect(balance).to_have_text("100,000.00")  # grouped as every page groups money
    expect(page.locator('[data-account="margin"]')).to_have_text("0.00")
    expect(page.locator("#terminal-status")).to_have_text("live")
    expect(eurusd.locator('[data-field="ask"]')).to_have_text("1.08512")

    page.get_by_label("Symbol").select_option("EURUSD")
    page.get_by_label("Volume").fill("1.00")
    page.get_by_role("button", name="Buy", exact=True).click()
    expect(page.get_by_text("Bought 1.00 EURUSD at 1.08512")).to_be_visible()
    position = page.locator("#positions tr[data-position]")
    expect(position).to_have_count(1)
    profit = position.locator('[data-field="profit"]')
    open_ask = D("1.08512")
    expect(profit).to_have_text("-12.00")  # bought at the ask, valued at the bid
    expect(page.locator('[data-account="margin"]')).to_have_text("1,085.12")

    expected = D(0)
    for bid, ask in (("1.08600", "1.08612"), ("1.08475", "1.08487")):
        ticks.apply_tick("EURUSD", D(bid), D(ask))  # as the feed moves the price
        expected = ((D(bid) - open_ask) * CONTRACT).quantize(D("0.01"))
        expect(eurusd.locator('[data-field="bid"]')).to_have_text(bid)
        expect(position.locator('[data-field="current_price"]')).to_have_text(bid)
        expect(profit).to_have_text(f"{expected}")
        expect(equity).to_have_text(f"{START + expected:,}")  # regrouped as it polls
    assert expected == D("-37.00")

    position.get_by_role("button", name="Close").click()
    expect(page.locator("#positions tr[data-position]")).to_have_count(0)
    [deal, *_] = accounts.history(account)
    assert (deal.entry, deal.profit) == ("out", expected)
    out = page.locator('#history tr[data-entry="out"]')
    expect(out).to_have_count(1)
    expect(out.locator('[data-field="price"]')).to_have_text("1.08475")
    expect(out.locator('[data-field="profit"]')).to_have_text(f"{deal.profit}")
    expect(out.locator('[data-field="balance_after"]')).to_have_text(f"{START + deal.profit:,}")
    expect(balance).to_have_text(f"{START + deal.profit:,}")
    expect(equity).to_have_text(f"{START + deal.profit:,}")
    assert Account.objects.get(pk=account.pk).balance == START + deal.profit


def test_a_wrong_password_and_a_refused_order_say_why(new_page):
    account, password = new_account()
    page = new_page()
    terminal_log_in(page, account.login, "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")

    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Volume").fill("0.001")
    page.get_by_role("button", name="Sell", exact=True).click()
    expect(page.locator("#volume-errors")).to_have_text("Volume is between 0.01 and 100.00.")
    expect(page.locator("#positions tr[data-position]")).to_have_count(0)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/terminal/login/$"))
    expect(page.get_by_text("You are logged out of the terminal.")).to_be_visible()


def test_a_stop_loss_hit_by_the_feed_closes_the_position_on_the_open_page(new_page):
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    account, password = new_account()
    page = new_page()
    terminal_log_in(page, account.login, password)
    page.get_by_label("Volume").fill("1.00")
    page.get_by_label("Stop loss").fill("1.08400")
    page.get_by_role("button", name="Buy", exact=True).click()
    expect(page.locator("#positions tr[data-position]")).to_have_count(1)

    # Through the stop (filled at the bid), as the open page polls.
    ticks.apply_tick("EURUSD", D("1.08390"), D("1.08402"))

    expect(page.locator("#positions tr[data-position]")).to_have_count(0)
    out = page.locator('#history tr[data-entry="out"]')
    expect(out).to_contain_text("Stop loss")
    expect(out.locator('[data-field="profit"]')).to_have_text("-122.00")
    expect(page.locator('[data-account="balance"]')).to_have_text("99,878.00")
    expect(page.locator('[data-account="margin"]')).to_have_text("0.00")


def test_the_chart_draws_the_recent_bids_and_follows_the_price(new_page):
    now = timezone.now()
    for seconds_ago, bid in ((90, "1.08400"), (60, "1.08450"), (30, "1.08420")):
        ask = str(D(bid) + D("0.00012"))
        ticks.apply_tick("EURUSD", D(bid), D(ask), at=now - timedelta(seconds=seconds_ago))
    account, password = new_account()
    page = new_page()
    terminal_log_in(page, account.login, password)
    page.get_by_label("Symbol").select_option("EURUSD")

    chart = page.locator("#price-chart")
    expect(page.locator("#chart-symbol")).to_have_text("EURUSD")
    expect(chart).to_have_attribute("data-points", re.compile(r"^[3-9]$"))
    expect(page.locator("#chart-high")).to_have_text("1.08450")
    expect(page.locator("#chart-low")).to_have_text("1.08400")
    drawn = page.locator("#chart-line").get_attribute("points")
    assert drawn is not None
    assert len(drawn.split()) >= 3

    ticks.apply_tick("EURUSD", D("1.08600"), D("1.08612"))  # as the feed moves the price
    expect(page.locator("#chart-last")).to_have_text("1.08600")
    expect(page.locator("#chart-high")).to_have_text("1.08600")
    expect(page.locator("#chart-line")).not_to_have_attribute("points", drawn)

    page.locator('#quotes tr[data-symbol="USDJPY"]').click()  # another symbol: its own line
    expect(page.locator("#chart-symbol")).to_have_text("USDJPY")
