"""A challenge on the fake Match-Trader server, end to end without a browser: the account
opened there with the stage's balance and offer, the trader's trades reaching the stage through
the ingestor and the account-event log, money moved there by the firm reaching the stage as
such (not as a trading result), a breach setting the account's access there, and the live step
opening a live account on the live offer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.monitoring.progress import figures
from propdesk.challenges.participation import interventions
from propdesk.challenges.participation import services as participation
from propdesk.platforms import adapters
from propdesk.platforms.matchtrader.fake import FakeMatchTrader
from propdesk.platforms.models import LoggedEvent, TradingServer
from tests.challenges.factories import fund, on_platform, stage
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

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def fake() -> Iterator[FakeMatchTrader]:
    running = start_fake()
    yield running
    running.stop()


@pytest.fixture
def server(db: None, fake: FakeMatchTrader) -> TradingServer:
    return server_for(fake)


def started(client, finance, admin, server, **changes):
    challenge = on_platform(server, admin, **changes)
    fund(client, finance)
    joined = participation.start(client, challenge.pk, payment="wallet")
    carry_out_platform_commands()  # the worker's turn: the account is opened on the platform
    return joined, joined.current_attempt()


def test_the_stages_account_is_opened_on_the_platform_with_its_balance_and_offer(
    active_client, finance, admin, server, fake
):
    _, attempt = started(active_client, finance, admin, server)
    assert attempt.login != ""
    opened = account(fake, attempt.login)
    assert D(str(opened["financeInfo"]["balance"])) == D("100000")
    assert (opened["group"], opened["accountType"]) == (CHALLENGE.group, "DEMO")  # its offer's
    assert opened["accessRight"] == "FULL"


def test_the_traders_trades_on_the_platform_reach_the_stage(
    active_client, finance, admin, server, fake
):
    _, attempt = started(active_client, finance, admin, server)
    tick(fake, "EURUSD", "1.08500")
    position = trader_opens(fake, attempt.login, "EURUSD", volume="1")
    monitor.process(server)
    tick(fake, "EURUSD", "1.08800")
    trader_closes(fake, attempt.login, position)
    monitor.process(server)
    logged = LoggedEvent.objects.filter(server=server, login=attempt.login)
    deals = [e.payload["entry"] for e in logged if e.payload["type"] == "deal"]
    assert deals == ["in", "out"]
    attempt.refresh_from_db()
    shown = figures(attempt)
    assert shown.balance > D("100000")
    assert attempt.status == StageAttempt.Status.IN_PROGRESS


def test_money_moved_into_the_account_on_the_platform_does_not_pass_the_stage(
    active_client, finance, admin, server, fake
):
    """+9,000 on 100,000 would reach the 8% target if it were profit: moved by the firm, it
    moves the stage's references instead, and the stage goes on."""
    _, attempt = started(  # no minimum of trading days: the target alone would pass it
        active_client, finance, admin, server, stages=[stage(), stage("live")]
    )
    tick(fake, "XAUUSD", "2350.00")
    position = trader_opens(fake, attempt.login, "XAUUSD", volume="0.01")  # a trading day
    trader_closes(fake, attempt.login, position)  # -0.30, the spread
    monitor.process(server)
    platform = adapters.platform(server)
    platform.balance_operation(attempt.login, D("9000"), "Correction", key="correction:1")
    monitor.process(server)
    monitor.close_days(timezone.now() + timedelta(days=1))
    attempt.refresh_from_db()
    shown = figures(attempt)
    assert attempt.status == StageAttempt.Status.IN_PROGRESS
    assert (shown.balance, shown.moved, shown.profit) == (D("108999.70"), D("9000"), D("-0.30"))


def test_a_breach_sets_the_accounts_access_on_the_platform(
    active_client, finance, admin, server, fake
):
    _, attempt = started(active_client, finance, admin, server)
    tick(fake, "EURUSD", "1.08500")
    trader_opens(fake, attempt.login, "EURUSD", volume="10")
    monitor.process(server)
    tick(fake, "EURUSD", "1.07900")  # -6,000 on 100,000: past the daily 5%
    monitor.process(server)  # the breach, and its access change carried out at once
    attempt.refresh_from_db()
    assert attempt.status == StageAttempt.Status.FAILED
    assert account(fake, attempt.login)["accessRight"] == "CLOSE_ONLY"


def test_a_breach_under_close_all_closes_the_positions_on_the_platform(
    active_client, finance, admin, server, fake
):
    _, attempt = started(active_client, finance, admin, server, on_breach="close")
    tick(fake, "EURUSD", "1.08500")
    trader_opens(fake, attempt.login, "EURUSD", volume="10")
    monitor.process(server)
    tick(fake, "EURUSD", "1.07900")
    monitor.process(server)
    after = account(fake, attempt.login)
    assert after["accessRight"] == "TRADING_DISABLED"
    assert D(str(after["financeInfo"]["balance"])) < D("95000")  # the loss, realised


def test_the_live_step_opens_a_live_account_on_the_live_offer(
    active_client, finance, admin, server, fake
):
    joined, attempt = started(
        active_client, finance, admin, server, stages=[stage(), stage("live")]
    )
    interventions.advance(attempt.pk, actor=admin, reason="Passed on the old platform")
    step = ApprovalRequest.objects.get(type_key="prop_live_step")
    approvals.approve(step.pk, actor=admin)
    carry_out_platform_commands()
    live = joined.current_attempt()
    assert (live.stage, live.kind) == (1, "live")
    opened = account(fake, live.login)
    assert (opened["group"], opened["accountType"]) == (FUNDED.group, "REAL")  # the live offer's
    shown = participation.credentials(joined, active_client)
    assert shown["login"] == live.login
    assert shown["password"]  # the trader's user account's, kept from the first stage
