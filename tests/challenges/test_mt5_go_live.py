"""The go-live walk-through on the fake MT5 Web API, without a browser, with the faults of a
remote platform: staff approve the participation while the platform is down, then it is slow
(it opens the account after propdesk has given up), and the account is opened and funded once;
the trader's trades reach the stage through the ingestor and the log; the stage passes; the
platform restarts (its books kept, its sessions ended) and the live account opens in the live
MT5 group; a breach fails the stage and its rights change on the platform. Each command is
carried out exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.monitoring.progress import figures
from propdesk.challenges.participation import services as participation
from propdesk.platforms import adapters, outbox
from propdesk.platforms.models import LoggedEvent, PlatformCommand
from propdesk.platforms.mt5.adapter import derived_password
from propdesk.platforms.mt5.fake import (
    USER_RIGHT_ENABLED,
    USER_RIGHT_TRADE_DISABLED,
    FakeMT5,
)
from tests.challenges.factories import fund, on_platform, stage
from tests.platforms.mt5.factories import (
    CHALLENGE_GROUP,
    FUNDED_GROUP,
    control,
    holdings,
    ingestor_for,
    server_for,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
    user,
)
from tests.support import carry_out_platform_commands

D = Decimal
pytestmark = pytest.mark.django_db
Status = PlatformCommand.Status


@pytest.fixture
def state(tmp_path: Any) -> Any:
    return tmp_path / "mt5.json"


@pytest.fixture
def fake(state: Any) -> Iterator[FakeMT5]:
    running = start_fake(state_file=state)
    yield running
    running.stop()


def current(joined: Participation) -> StageAttempt:
    attempt = Participation.objects.get(pk=joined.pk).current_attempt()
    assert attempt is not None
    return attempt


def rights(fake: FakeMT5, login: str) -> tuple[bool, bool]:
    value = int(user(fake, login)["Rights"])
    return bool(value & USER_RIGHT_ENABLED), bool(value & USER_RIGHT_TRADE_DISABLED)


def balance_of(fake: FakeMT5, login: str) -> Decimal:
    with fake.book.lock:
        return D(fake.book.account(int(login))["Balance"])


def at(moment):
    return lambda: moment


def test_the_go_live_walk_through_on_mt5_with_its_faults(
    active_client, finance, admin, fake, state, set_method, settings, request
):
    server = server_for(fake)
    set_method("prop_participation", "manual")
    challenge = on_platform(server, admin, stages=[stage(), stage("live")])
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")

    # Approved while the platform is down: nothing remote in the approval, the command waits.
    fake.go_down(30)
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_participation").pk, actor=admin)
    start = timezone.now()
    assert outbox.run_due(now=at(start)) == 0
    command = PlatformCommand.objects.get(kind=PlatformCommand.Kind.OPEN_ACCOUNT)
    assert (command.status, "could not be reached" in command.error) == (Status.PENDING, True)
    assert participation.credentials(joined, active_client)["preparing"] == "yes"

    # Back, but slow: the platform adds the user after propdesk gave up; the retry finds it.
    assert fake.up()
    settings.MT5_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "path": "/api/user/add"})
    command.refresh_from_db()
    assert outbox.run_due(now=at(command.next_try_at)) == 0
    command.refresh_from_db()
    assert (command.status, "did not answer" in command.error) == (Status.PENDING, True)
    assert fake.settle()
    # Then the balance deal answers 500 once: tried again, made once.
    control(fake, "fail", {"count": 1, "status": 500, "path": "/api/trade/balance"})
    assert outbox.run_due(now=at(command.next_try_at)) == 0
    command.refresh_from_db()
    assert outbox.run_due(now=at(command.next_try_at)) == 1
    command.refresh_from_db()
    assert command.status == Status.DONE
    first = current(joined)
    assert holdings(fake) == {
        "users": [(first.login, CHALLENGE_GROUP)],
        "deals": [(first.login, D("100000.00"))],
    }
    assert user(fake, first.login)["Leverage"] == "100"
    shown = participation.credentials(joined, active_client)
    assert (shown["login"], shown["server"]) == (first.login, server.name)
    assert shown["password"] == derived_password(command.key)
    assert rights(fake, first.login) == (True, False)

    # The trader buys 10 lots of gold and closes 9.00 higher: +9,000, through the log.
    ingestor = ingestor_for(server)  # the monitor's, without a pause between its pulls
    monitor.process(server, ingestor=ingestor)
    tick(fake, "XAUUSD", "2350.00")
    position = trader_opens(fake, first.login, "XAUUSD", volume="10")  # at the ask, 2,350.30
    tick(fake, "XAUUSD", "2359.30")
    trader_closes(fake, first.login, position)
    monitor.process(server, ingestor=ingestor)
    assert figures(current(joined)).balance == D("109000.00")
    deals = [
        e.payload["entry"]
        for e in LoggedEvent.objects.filter(server=server, login=first.login).order_by("id")
        if e.payload["type"] == "deal"
    ]
    assert deals == ["in", "out"]

    # The day closes with the target reached: the stage passes.
    monitor.close_days(timezone.now() + timedelta(days=1))
    assert StageAttempt.objects.get(pk=first.pk).status == StageAttempt.Status.PASSED

    # The platform restarts, its books kept, its sessions gone: the live step opens anew.
    port = fake.port
    fake.stop()
    fake = start_fake(state_file=state, port=port)
    request.addfinalizer(fake.stop)
    tick(fake, "XAUUSD", "2359.30")
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    live = current(joined)
    assert (live.stage, live.kind) == (1, "live")
    assert user(fake, live.login)["Group"] == FUNDED_GROUP
    assert balance_of(fake, live.login) == D("100000")
    assert [login for login, _ in holdings(fake)["users"]] == [first.login, live.login]

    # A breach on the live account fails the stage; its rights change on the platform at once
    # (the same ingestor goes on: its session ended with the old server, it opens another).
    monitor.process(server, ingestor=ingestor)
    trader_opens(fake, live.login, "XAUUSD", volume="10")  # at the ask, 2,359.60
    monitor.process(server, ingestor=ingestor)
    tick(fake, "XAUUSD", "2353.50")  # -6,100: equity 93,900 < the daily floor 95,000
    monitor.process(server, ingestor=ingestor)
    assert StageAttempt.objects.get(pk=live.pk).status == StageAttempt.Status.FAILED
    assert rights(fake, live.login) == (True, True)  # may log in and look, not trade
    assert carry_out_platform_commands() == 0  # nothing was left for the worker
    log = control(fake, f"access-log?login={live.login}", method="GET")
    assert [(e["enabled"], e["trade_disabled"]) for e in log] == [(True, False), (True, True)]

    # Every command was carried out exactly once: two accounts, two deposits, one change.
    done = PlatformCommand.objects.filter(status=Status.DONE).count()
    assert done == PlatformCommand.objects.count()
    assert holdings(fake)["deals"] == [(first.login, D("100000.00")), (live.login, D("100000.00"))]


def test_a_breach_under_close_all_closes_the_positions_on_mt5(active_client, finance, admin, fake):
    server = server_for(fake)
    challenge = on_platform(server, admin, on_breach="close")
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    attempt = joined.current_attempt()
    tick(fake, "EURUSD", "1.08500")
    trader_opens(fake, attempt.login, "EURUSD", volume="10")
    monitor.process(server)
    tick(fake, "EURUSD", "1.07900")
    monitor.process(server)
    carry_out_platform_commands()
    assert rights(fake, attempt.login) == (True, True)
    assert fake.book.positions_of({int(attempt.login)}) == []
    assert balance_of(fake, attempt.login) < D("95000")  # the loss, realised


def test_money_moved_into_the_account_on_mt5_does_not_pass_the_stage(
    active_client, finance, admin, fake
):
    """+9,000 on 100,000 would reach the 8% target if it were profit: a balance deal made by the
    firm moves the stage's references instead, and the stage goes on."""
    server = server_for(fake)
    challenge = on_platform(server, admin, stages=[stage(), stage("live")])
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    attempt = joined.current_attempt()
    tick(fake, "XAUUSD", "2350.00")
    position = trader_opens(fake, attempt.login, "XAUUSD", volume="0.01")  # a trading day
    trader_closes(fake, attempt.login, position)  # -0.30, the spread
    monitor.process(server)
    adapters.platform(server).balance_operation(
        attempt.login, D("9000"), "Correction", key="correction:1"
    )
    monitor.process(server)
    monitor.close_days(timezone.now() + timedelta(days=1))
    attempt.refresh_from_db()
    shown = figures(attempt)
    assert attempt.status == StageAttempt.Status.IN_PROGRESS
    assert (shown.balance, shown.moved, shown.profit) == (D("108999.70"), D("9000"), D("-0.30"))
