"""The go-live walk-through in Chromium on a challenge whose platform is MetaTrader 5 (the fake
MT5 Web API, in this process on a free port): staff approve the participation, the worker's turn
opens the account on the platform (the fake down, then a timeout after the platform did the
work: opened once all the same), the trader's trades there reach the participant page, the
stage passes, the live step is approved and the live account opens in the live MT5 group after
the platform restarts; then a breach on it changes its rights on the platform within a second.

The trader trades through the fake's controls (MetaTrader's own terminal is not ours); the
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
from propdesk.platforms.models import PlatformCommand, TradingServer
from propdesk.platforms.mt5.fake import USER_RIGHT_TRADE_DISABLED, FakeMT5
from propdesk.platforms.mt5.ingestor import MT5Ingestor
from tests.browser.flows import credentials_on_page, log_in, open_first_in_queue, reload
from tests.challenges.factories import fund, on_platform, stage
from tests.conftest import PASSWORD
from tests.platforms.mt5.factories import (
    CHALLENGE_GROUP,
    FUNDED_GROUP,
    control,
    holdings,
    server_for,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
    user,
)
from tests.support import carry_out_platform_commands

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


@pytest.fixture
def state(tmp_path: Any) -> Any:
    return tmp_path / "mt5.json"


@pytest.fixture
def fake(state: Any) -> Any:
    running = start_fake(state_file=state)  # prices still: only the test's ticks move them
    yield running
    running.stop()


def balance_of(fake: FakeMT5, login: str) -> Decimal:
    with fake.book.lock:
        return D(fake.book.account(int(login))["Balance"])


def trading_disabled(fake: FakeMT5, login: str) -> bool:
    return bool(int(user(fake, login)["Rights"]) & USER_RIGHT_TRADE_DISABLED)


def watch(
    server: TradingServer,
    ingestor: MT5Ingestor,
    until: Callable[[], bool],
    *,
    within: float = 20.0,
) -> float:
    """Run the monitor as `propdesk monitor` does (its ingestor pulls from the platform, then
    it reads the log) until `until()` holds; returns the seconds it took. `within` only keeps a
    broken run from hanging: how fast a breach acts is measured by the benchmarks, not here."""
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


def test_the_go_live_walk_through_on_mt5(
    new_page, fake: FakeMT5, state, active_client, admin, finance, set_method, settings, request
):
    server = server_for(fake)
    ingestor = adapters.platform(server).ingestor()  # the monitor's, paced as its
    assert isinstance(ingestor, MT5Ingestor)
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
    # The platform is down at the worker's first turn, then slow once it is back (it opens the
    # account after propdesk has given up): one account, funded once, all the same.
    fake.go_down(30)
    carry_out_platform_commands()
    command = PlatformCommand.objects.get(kind=PlatformCommand.Kind.OPEN_ACCOUNT)
    assert (command.status, "could not be reached" in command.error) == ("pending", True)
    assert fake.up()
    settings.MT5_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "path": "/api/user/add"})
    PlatformCommand.objects.filter(pk=command.pk).update(next_try_at=timezone.now())
    carry_out_platform_commands()
    command.refresh_from_db()
    assert (command.status, "did not answer" in command.error) == ("pending", True)
    assert fake.settle()
    PlatformCommand.objects.filter(pk=command.pk).update(next_try_at=timezone.now())
    carry_out_platform_commands()
    first = current(joined)
    assert holdings(fake) == {
        "users": [(first.login, CHALLENGE_GROUP)],
        "deals": [(first.login, D("100000.00"))],
    }
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
    # The platform restarts (its books kept): the session ends, propdesk opens a new one.
    port = fake.port
    fake.stop()
    fake = start_fake(state_file=state, port=port)
    request.addfinalizer(fake.stop)
    tick(fake, "XAUUSD", "2359.30")  # its prices start again: where they were
    approve_in_queue(staff, "Prop Trading Live Step")
    carry_out_platform_commands()
    live = current(joined)
    assert (live.stage, live.kind) == (1, "live")
    assert user(fake, live.login)["Group"] == FUNDED_GROUP  # the live stage's MT5 group
    assert balance_of(fake, live.login) == D("100000")
    reload(trader)
    expect(trader.locator("#stage")).to_contain_text("2 of 2: Funded (live)")
    assert credentials_on_page(trader)[0] == live.login

    # A breach on the live account: its access on the platform changes within a second.
    watch(server, ingestor, lambda: progress.figures(current(joined)).as_of is not None)
    trader_opens(fake, live.login, "XAUUSD", volume="10")  # at the ask, 2,359.60
    watch(server, ingestor, lambda: progress.figures(current(joined)).open_positions == 1)
    tick(fake, "XAUUSD", "2353.50")  # -6,100: equity 93,900 < the daily floor 95,000
    watch(server, ingestor, lambda: trading_disabled(fake, live.login))
    assert StageAttempt.objects.get(pk=live.pk).status == "failed"
    staff.goto(f"/backoffice/prop-trading/participants/{joined.pk}/")
    expect(staff.locator("#explanation")).to_contain_text("93,900.00")
    expect(staff.locator("#explanation")).to_contain_text("95,000.00")
