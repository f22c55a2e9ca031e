"""The go-live walk-through in Chromium on a challenge whose platform is Match-Trader (the fake
Match-Trader server, in this process on a free port): staff approve the participation, the
worker's turn opens the account on the platform, the trader's trades there reach the
participant page, the stage passes, the live step is approved and the live account opens on the
live offer; then a breach on it changes its access on the platform within a second.

The trader trades through the fake's controls (Match-Trader's own terminal is not ours); the
monitor runs in the test's thread (`watch`), its ingestor pulling from the platform as
`propdesk monitor`'s does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor, progress
from propdesk.challenges.participation import services as participation
from propdesk.platforms import adapters
from propdesk.platforms.matchtrader.fake import FakeMatchTrader
from propdesk.platforms.matchtrader.ingestor import MatchTraderIngestor
from propdesk.platforms.models import TradingServer
from tests.browser.flows import credentials_on_page, log_in, open_first_in_queue, reload
from tests.challenges.factories import fund, on_platform, stage
from tests.conftest import PASSWORD
from tests.platforms.matchtrader.factories import (
    CHALLENGE,
    FUNDED,
    account,
    server_for,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
)
from tests.support import carry_out_platform_commands

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


@pytest.fixture
def fake() -> Any:
    running = start_fake()  # prices still: only the test's ticks move them
    yield running
    running.stop()


def watch(
    server: TradingServer,
    ingestor: MatchTraderIngestor,
    until: Callable[[], bool],
    *,
    within: float = 1.0,
) -> float:
    """Run the monitor as `propdesk monitor` does (its ingestor pulls from the platform, then
    it reads the log) until `until()` holds; returns the seconds it took, failing past
    `within`."""
    started = time.monotonic()
    while not until():
        elapsed = time.monotonic() - started
        assert elapsed < within, f"the monitor did not act within {within} s"
        if not monitor.process(server, ingestor=ingestor):
            time.sleep(0.02)
    return time.monotonic() - started


def current(joined: Participation) -> StageAttempt:
    attempt = Participation.objects.get(pk=joined.pk).current_attempt()
    assert attempt is not None
    return attempt


def approve_in_queue(staff: Page, queue: str) -> None:
    open_first_in_queue(staff, queue)
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")


def test_the_go_live_walk_through_on_match_trader(
    new_page, fake: FakeMatchTrader, active_client, admin, finance, set_method
):
    server = server_for(fake)
    ingestor = adapters.platform(server).ingestor()  # the monitor's, paced as its
    assert isinstance(ingestor, MatchTraderIngestor)
    set_method("prop_participation", "manual")
    challenge = on_platform(server, admin, stages=[stage(), stage("live")])
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")

    # Staff approve the participation; the account is being prepared until the worker's turn.
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    approve_in_queue(staff, "Prop Trading Participation")
    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(f"/portal/my-challenges/{joined.pk}/")
    expect(trader.locator("#being-prepared")).to_contain_text("being prepared")
    carry_out_platform_commands()
    first = current(joined)
    opened = account(fake, first.login)
    assert opened["group"] == CHALLENGE.group  # the demo stage's group's offer
    assert opened["accountType"] == "DEMO"
    assert D(str(opened["financeInfo"]["balance"])) == D("100000")
    reload(trader)
    login, _ = credentials_on_page(trader)
    assert login == first.login
    expect(trader.locator("[data-server]")).to_have_text(server.name)

    # The trader buys 10 lots of gold on the platform and closes 9.00 higher: +9,000.
    watch(server, ingestor, lambda: progress.figures(current(joined)).as_of is not None)
    position = trader_opens(fake, first.login, "XAUUSD", volume="10")  # at the ask, 2,350.30
    tick(fake, "XAUUSD", "2359.30")
    trader_closes(fake, first.login, position)
    watch(server, ingestor, lambda: progress.figures(current(joined)).balance == D("109000.00"))
    staff.goto(f"/backoffice/prop-trading/participants/{joined.pk}/")
    figures = staff.locator("#participant-figures")
    expect(figures.locator('[data-figure="balance"]')).to_have_text("109,000.00 USD")
    trades = staff.locator("#trades")
    expect(trades.locator("tr[data-deal]", has_text="XAUUSD")).to_have_count(2)  # in and out
    expect(trades).to_contain_text("9,000.00")
    expect(staff.locator("#equity-chart")).to_have_attribute("data-drawn", "chart")

    # The day closes with the target reached: the stage passes, the firm approves the live step.
    monitor.close_days(timezone.now() + timedelta(days=1))
    assert StageAttempt.objects.get(pk=first.pk).status == "passed"
    approve_in_queue(staff, "Prop Trading Live Step")
    carry_out_platform_commands()
    live = current(joined)
    assert (live.stage, live.kind) == (1, "live")
    funded = account(fake, live.login)
    assert funded["group"] == FUNDED.group  # the live stage's group's offer
    assert funded["accountType"] == "REAL"
    assert D(str(funded["financeInfo"]["balance"])) == D("100000")
    reload(trader)
    expect(trader.locator("#stage")).to_contain_text("2 of 2: Funded (live)")
    assert credentials_on_page(trader)[0] == live.login

    # A breach on the live account: its access on the platform changes within a second.
    watch(server, ingestor, lambda: progress.figures(current(joined)).as_of is not None)
    trader_opens(fake, live.login, "XAUUSD", volume="10")  # at the ask, 2,359.60
    watch(server, ingestor, lambda: progress.figures(current(joined)).open_positions == 1)
    tick(fake, "XAUUSD", "2353.50")  # -6,100: equity 93,900 < the daily floor 95,000
    watch(server, ingestor, lambda: account(fake, live.login)["accessRight"] != "FULL")
    assert StageAttempt.objects.get(pk=live.pk).status == "failed"
    staff.goto(f"/backoffice/prop-trading/participants/{joined.pk}/")
    expect(staff.locator("#explanation")).to_contain_text("93,900.00")
    expect(staff.locator("#explanation")).to_contain_text("95,000.00")
