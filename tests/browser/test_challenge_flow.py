"""The firm's go-live walk-through in Chromium, as one story: a trader registers, is approved,
verifies identity, deposits, buys a challenge from the wallet, trades the first stage to its
target in the sandbox terminal, passes, trades the next stage, takes the live step and gets live
credentials; the fee shows under Prop Trading Fee. And the failure path: a breach disables the
account within a second and the participant page explains it.

The monitor runs in the test's own thread (`watch`), as `propdesk monitor` would beside the
server; the test moves the sandbox's prices through the feed, as its helpers may.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.platforms.sandbox import accounts, auth, feed, orders, ticks
from tests.browser.flows import (
    credentials_on_page,
    fill_kyc,
    log_in,
    open_first_in_queue,
    register_in_portal,
    reload,
    review_latest_kyc,
    trade_in_terminal,
)
from tests.conftest import PASSWORD
from tests.onboarding.factories import png_bytes
from tests.support import carry_out_platform_commands

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal
RULES = {
    "profit_target_pct": "8",
    "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
    "max_loss": {"pct": "10", "mode": "static"},
}
TWO_STEP = {
    "name": "2-Step 100K",
    "currency": "USD",
    "tags": ["2-step"],
    "time_zone": "UTC",
    "fee": "499.00",
    "payment_ways": ["wallet", "direct"],
    "progression": "automatic",
    "stages": [
        {"name": "Challenge", "kind": "demo", "balance": "100000", "leverage": 100, "rules": RULES},
        {
            "name": "Verification",
            "kind": "demo",
            "balance": "100000",
            "leverage": 100,
            "rules": {**RULES, "profit_target_pct": "5"},
        },
        {
            "name": "Funded",
            "kind": "live",
            "balance": "100000",
            "leverage": 100,
            "profit_share_pct": "80",
            "rules": RULES,
        },
    ],
}


def watch(until: Callable[[], bool], *, within: float = 1.0) -> float:
    """Run the monitor as `propdesk monitor` does until `until()` holds; returns the seconds it
    took, failing past `within`."""
    started = time.monotonic()
    server = accounts.default_server()
    while not until():
        elapsed = time.monotonic() - started
        assert elapsed < within, f"the monitor did not act within {within} s"
        if not monitor.process(server):
            time.sleep(0.02)
    return time.monotonic() - started


def move(prices: feed.Feed, bid: str, ask: str) -> None:
    """The feed moves EURUSD and writes the accounts' equity snapshots."""
    prices.step(feed.Tick("EURUSD", D(bid), D(ask)))
    prices.flush()


def current(participation: Participation) -> StageAttempt:
    attempt = Participation.objects.get(pk=participation.pk).current_attempt()
    assert attempt is not None
    return attempt


def end_the_day() -> None:
    """The day closes (the monitor closes days on the clock): objectives are judged."""
    watch(lambda: not monitor.process(accounts.default_server()))
    monitor.close_days(timezone.now() + timedelta(days=1))


def test_the_go_live_walk_through(
    new_page, admin, compliance, finance, kyc_form, bank_transfer, set_method
):
    set_method("prop_participation", "manual")
    challenge = catalogue.create(TWO_STEP, actor=admin)
    catalogue.publish(challenge.pk, actor=admin)

    # Register, and the firm approves.
    trader = new_page()
    register_in_portal(trader, email="jana@example.com")
    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    open_first_in_queue(staff, "Trader Registration")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")

    # Verify identity, and the firm approves.
    log_in(trader, "jana@example.com", PASSWORD)
    fill_kyc(trader, identity=png_bytes())
    expect(trader.get_by_text("submitted for review")).to_be_visible()
    staff.goto("/backoffice/")
    review_latest_kyc(staff)
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")

    # Deposit by bank transfer, and finance approves.
    trader.goto("/portal/wallet/deposit/")
    trader.get_by_label("Method").select_option(label="Bank transfer")
    trader.get_by_label("Amount").fill("1000.00")
    trader.get_by_label("Currency").select_option("USD")
    trader.get_by_role("button", name="Request deposit").click()
    money = new_page()
    log_in(money, finance.email, PASSWORD)
    open_first_in_queue(money, "^Deposit")
    money.get_by_label("Bank reference").fill("FT26339JN01")
    money.get_by_role("button", name="Approve").click()
    expect(money.locator("#request-status")).to_have_text("Approved")

    # Buy the challenge from the wallet, and the firm approves the participation.
    trader.goto("/portal/challenges/")
    trader.locator(f'article[data-challenge="{challenge.pk}"]').get_by_role(
        "button", name="Details"
    ).click()
    expect(trader.locator('[data-balance="USD"]')).to_have_text("1,000.00 USD")
    trader.get_by_label("Wallet deduction", exact=False).check()
    trader.get_by_role("button", name="Start now: pay 499.00 USD").click()
    expect(trader.locator("#participation-status")).to_have_text("Waiting for approval")
    open_first_in_queue(money, "Prop Trading Participation")
    expect(money.get_by_text("499.00 USD paid by the wallet", exact=False)).to_be_visible()
    money.get_by_role("button", name="Approve").click()
    expect(money.locator("#request-status")).to_have_text("Approved")
    joined = Participation.objects.get(client__user__email="jana@example.com")
    carry_out_platform_commands()  # the worker opens the stage's account on the platform

    # The trader sees the stage-1 credentials and trades to the 8% target in the terminal.
    reload(trader)
    expect(trader.locator("#participation-status")).to_have_text("Active")
    login, password = credentials_on_page(trader)
    assert login == current(joined).login
    terminal = new_page()
    trade_in_terminal(terminal, login, password, close_at="1.09400")  # +8,880
    end_the_day()
    carry_out_platform_commands()
    assert current(joined).stage == 1  # passed: the verification stage opened

    # The next stage's credentials, a second target, and the live step.
    reload(trader)
    expect(trader.locator("#stage")).to_contain_text("2 of 3: Verification")
    login, password = credentials_on_page(trader)
    assert login == current(joined).login
    trade_in_terminal(new_page(), login, password, close_at="1.09100")  # +5,880
    end_the_day()
    open_first_in_queue(money, "Prop Trading Live Step")
    money.get_by_label("Comment").fill("Consistent trading, welcome aboard.")
    money.get_by_role("button", name="Approve").click()
    expect(money.locator("#request-status")).to_have_text("Approved")
    carry_out_platform_commands()

    # Live credentials, on the live group.
    reload(trader)
    expect(trader.locator("#stage")).to_contain_text("3 of 3: Funded (live)")
    login, password = credentials_on_page(trader)
    assert auth.authenticate(login, password).group == "live"

    # The fee under Prop Trading Fee in Reports > Transactions.
    money.get_by_role("link", name="Transactions").click()
    money.get_by_label("Type").select_option(label="Prop Trading Fee")
    money.get_by_role("button", name="Filter").click()
    expect(money.locator("#transactions tbody tr")).to_have_count(1)
    expect(money.locator("#transactions")).to_contain_text("499.00 USD")
    expect(money.locator('#totals [data-currency="USD"]')).to_contain_text("499.00")


def test_a_breach_disables_the_account_within_a_second_and_is_explained(
    new_page, active_client, admin, finance
):
    from propdesk.approvals.models import ApprovalRequest
    from propdesk.challenges.participation import services as participation
    from propdesk.wallet import services

    services.adjust(
        active_client.pk,
        direction="credit",
        amount="1000.00",
        currency="USD",
        comment="Top up",
        actor=finance,
    )
    challenge = catalogue.create(TWO_STEP, actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    assert not ApprovalRequest.objects.filter(status="pending").exists()  # automatic
    attempt = current(joined)
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    prices = feed.Feed()
    watch(lambda: not monitor.process(accounts.default_server()))

    move(prices, "1.07950", "1.07962")  # -5,620: equity 94,380 < the daily floor 95,000
    took = watch(
        lambda: (
            not accounts.account_by_login(attempt.login).trading_enabled
            and StageAttempt.objects.get(pk=attempt.pk).status == "failed"
        )
    )
    assert took < 1.0

    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    staff.goto("/backoffice/prop-trading/participants/")
    staff.locator(f'tr[data-participation="{joined.pk}"]').get_by_role("link").first.click()
    explanation = staff.locator("#explanation")
    expect(explanation).to_contain_text("94,380.00")
    expect(explanation).to_contain_text("95,000.00")

    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(f"/portal/my-challenges/{joined.pk}/")
    expect(trader.locator("#participation-status")).to_have_text("Failed")
    expect(trader.locator("[data-headline]").first).to_contain_text(
        "fell below the daily floor 95,000.00"
    )
