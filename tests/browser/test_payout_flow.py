"""A funded trader is paid, in Chromium, from the trade to the bank:

1. The trader makes profit on the sandbox in the web terminal.
2. They ask for a payout too early: the Payouts tab says the date and why, nothing is kept.
3. The date comes: they ask again, and Finance approves it after reading the split.
4. The trading account's balance drops by the profit; the wallet shows the trader's share as
   Profit Share.
5. The trader withdraws it to a named bank account; Finance pays it.
6. The dashboard and the transactions report show it; the books balance (checked after every
   test).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from propdesk.challenges.models import Payout, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.platforms.sandbox import accounts
from propdesk.wallet import ledger
from tests.browser.flows import (
    credentials_on_page,
    log_in,
    menu,
    open_first_in_queue,
    trade_in_terminal,
)
from tests.challenges.factories import funded, server
from tests.conftest import PASSWORD
from tests.support import carry_out_platform_commands

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal
IBAN = "DE89370400440532013000"


def payouts_tab(page: Page, participation_id: int) -> None:
    page.goto(reverse("portal:my_challenge", kwargs={"participation_id": participation_id}))
    page.locator('#challenge-tabs [data-tab="payouts"]').click()


def test_a_funded_trader_is_paid_their_share_and_withdraws_it_to_their_bank(
    new_page, active_client, finance, admin, bank_transfer
):
    joined, live = funded(active_client, finance, admin, days_ago=3)
    wallet_before = ledger.wallet(active_client, "USD").balance

    # 1. Profit in the terminal, with the live account's credentials from the portal.
    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(reverse("portal:my_challenge", kwargs={"participation_id": joined.pk}))
    login, password = credentials_on_page(trader)
    assert login == live.login
    trade_in_terminal(new_page(), login, password, close_at="1.08800")  # +2,880.00
    monitor.process(server())

    # 2. Too early: the date and why, and nothing kept.
    payouts_tab(trader, joined.pk)
    due = trader.locator("#payout-not-yet")
    expect(due).to_contain_text("Next payout date: ")
    expect(trader.locator('[data-condition="date"]')).to_have_attribute("data-met", "no")
    expect(trader.locator('[data-condition="profit"]')).to_contain_text("2,880.00 USD")
    expect(trader.locator('[data-payout="trader"]')).to_have_text("2,304.00 USD")
    trader.get_by_role("button", name="Request a payout").click()
    expect(trader.locator("#payout-error")).to_contain_text(
        "A payout cannot be requested yet: Payout date: from "
    )
    expect(trader.locator("#payout-error")).to_contain_text("14 days after the live start")
    assert not Payout.objects.exists()

    # 3. Two weeks on (the stage started 17 days ago): eligible, asked, approved.
    StageAttempt.objects.filter(pk=live.pk).update(started_at=timezone.now() - timedelta(days=17))
    payouts_tab(trader, joined.pk)
    expect(trader.locator("#payout-eligible")).to_have_text("You can ask for a payout now.")
    trader.get_by_role("button", name="Request a payout").click()
    payout = Payout.objects.get()
    expect(trader.get_by_text(f"Payout {payout.reference} requested: 2,304.00 USD")).to_be_visible()
    expect(trader.locator(f'[data-payout-row="{payout.reference}"]')).to_contain_text("Requested")

    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    open_first_in_queue(staff, "^Prop Trading Payout")
    expect(staff.locator('[data-payout="trader"]')).to_have_text("2,304.00 USD")
    expect(staff.locator('[data-payout="firm"]')).to_have_text("576.00 USD")
    expect(staff.locator("#payout-trades")).to_contain_text("EURUSD")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")
    carry_out_platform_commands()  # the worker: the balance operation on the platform

    # 4. The profit is off the trading account; the share is in the wallet as Profit Share.
    assert accounts.account_by_login(live.login).balance == D("100000.00")
    payouts_tab(trader, joined.pk)
    expect(trader.locator(f'[data-payout-row="{payout.reference}"]')).to_contain_text("Paid")
    trader.goto(reverse("portal:wallet"))
    share = trader.locator("tr", has_text="Profit Share").first
    expect(share).to_contain_text("2,304.00")
    expect(share).to_contain_text(payout.reference)
    assert ledger.wallet(active_client, "USD").balance == wallet_before + D("2304.00")

    # 5. Withdrawn to a named bank account, and paid by Finance.
    trader.goto("/portal/wallet/withdraw/")
    trader.get_by_label("Method").select_option(label="Bank transfer")
    trader.get_by_label("Account holder").fill(active_client.user.name)
    trader.get_by_label("IBAN or account number").fill(IBAN)
    trader.get_by_label("BIC").fill("COBADEFFXXX")
    trader.get_by_label("Bank name").fill("Commerzbank")
    trader.get_by_label("Amount").fill("2304.00")
    trader.get_by_role("button", name="Request withdrawal").click()
    expect(trader.locator("#destination")).to_contain_text("DE89 3704 0044 0532 0130 00")
    open_first_in_queue(staff, "^Withdrawal")
    expect(staff.get_by_text("DE89 3704 0044 0532 0130 00").first).to_be_visible()
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")
    assert ledger.wallet(active_client, "USD").balance == wallet_before

    # 6. The firm's figures: the dashboard's payouts and profit, the transactions report.
    menu(staff, "Prop Trading", "Prop Trading Dashboard")
    paid = staff.locator('#payouts tbody[data-total] tr[data-step="paid"]')
    expect(paid.locator("[data-count]")).to_have_text("1")
    expect(paid.locator("[data-trader]")).to_have_text("2,304.00")
    expect(staff.locator("#profit tr[data-total] [data-shares]")).to_have_text("2,304.00")
    menu(staff, "Reports", "CRM Reports", "Transactions")
    report = staff.locator("table", has_text="Profit Share").last
    expect(report).to_contain_text(payout.reference)
    expect(report).to_contain_text("Out -2,304.00 USD")
