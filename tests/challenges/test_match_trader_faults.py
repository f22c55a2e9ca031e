"""A challenge on Match-Trader when things go wrong: the platform away, answering 500, slow, or
refusing; the worker killed in the middle of a call; the business transaction rolled back after
it wrote its command. Each time the trader ends up with one account, funded once, or staff see
why not (the fake Match-Trader platform plays the other side)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from propdesk.accounts import services as accounts
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Participation, Payout, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import services as participation
from propdesk.challenges.participation import stage_accounts
from propdesk.challenges.payouts import services as payouts
from propdesk.platforms import commands, outbox, servers
from propdesk.platforms.matchtrader.fake import FakeMatchTrader
from propdesk.platforms.models import PlatformCommand, TradingServer
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import (
    database_shared_with_processes,
    eventually,
    fund,
    on_platform,
    stage,
    start_worker,
    stop_worker,
)
from tests.platforms.matchtrader.factories import (
    CHALLENGE,
    FUNDED,
    account,
    control,
    holdings,
    password_opens,
    server_for,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
)

pytestmark = pytest.mark.django_db

D = Decimal
Status = PlatformCommand.Status
BALANCE = D("100000")  # each stage of the 2-step challenge starts with it
# The calls of an opening, as the fake's fault controls match them.
USER_CREATION = r"/v1/user-accounts$"
ACCOUNT_CREATION = r"/user-accounts/[^/]+/trading-accounts$"
DEPOSIT = r"/trading-accounts/\d+/deposit$"
WITHDRAWAL = r"/trading-accounts/\d+/withdraw$"  # a payout's balance operation


class Undone(Exception):
    """A fault after the approval wrote its command: the transaction rolls back."""


@pytest.fixture
def fake() -> Iterator[FakeMatchTrader]:
    running = start_fake()
    yield running
    running.stop()


@pytest.fixture
def server(db: None, fake: FakeMatchTrader) -> TradingServer:
    return server_for(fake)


@pytest.fixture
def challenge(server, admin):
    return on_platform(server, admin)


def at(moment):
    """A clock for the outbox's runner that reads `moment`."""
    return lambda: moment


def started(client, finance, challenge):
    fund(client, finance)
    return participation.start(client, challenge.pk, payment="wallet")


def command_of(
    attempt: StageAttempt, kind: str = PlatformCommand.Kind.OPEN_ACCOUNT
) -> PlatformCommand:
    """The stage's command of that kind (its opening by default), as it is now."""
    return PlatformCommand.objects.get(subject=attempt.subject, kind=kind)


def opened_once(fake: FakeMatchTrader, client, attempt: StageAttempt) -> None:
    """The platform holds one user account for the trader, one trading account (the stage's)
    and one deposit of the stage's balance; the stage knows its login and the password the
    platform keeps."""
    attempt.refresh_from_db()
    held = holdings(fake)
    assert held["users"] == [client.user.email]
    assert held["accounts"] == [attempt.login]
    assert held["operations"] == [(attempt.login, "DEPOSIT", BALANCE)]
    shown = participation.credentials(attempt.participation, client)
    assert shown["login"] == attempt.login
    assert password_opens(fake, client.user.email, shown["password"])


# --- the platform away ---------------------------------------------------------------------------


def test_an_approval_while_the_platform_is_down_opens_the_account_once_it_is_back(
    active_client, finance, admin, challenge, fake, set_method
):
    set_method("prop_participation", "manual")
    joined = started(active_client, finance, challenge)
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    start = timezone.now()
    fake.go_down(30)  # back when the test says (`up`): the 30 s are the test's clock

    approvals.approve(request.pk, actor=admin)  # nothing remote in it: it succeeds

    attempt = joined.current_attempt()
    assert participation.credentials(joined, active_client) == {
        "preparing": "yes",
        "server": "Match-Trader",
    }
    assert stage_accounts.being_prepared(attempt) == command_of(attempt)
    waits = []
    for second in (0, 1, 3, 8, 18):  # each run when the last one's back-off is over
        assert outbox.run_due(now=at(start + timedelta(seconds=second))) == 0
        command = command_of(attempt)
        assert command.status == Status.PENDING
        assert "could not be reached" in command.error
        waits.append((command.next_try_at - start).total_seconds() - second)
    assert waits == [1, 2, 5, 10, 30]  # the back-off grows
    outbox.run_due(now=at(start + timedelta(seconds=20)))  # not due yet: not tried
    assert command_of(attempt).attempts == 5

    assert fake.up()  # 30 s after it went down
    assert holdings(fake) == {"users": [], "accounts": [], "operations": []}
    assert outbox.run_due(now=at(start + timedelta(seconds=48))) == 1
    command = command_of(attempt)
    assert (command.status, command.attempts, command.error) == (Status.DONE, 6, "")
    opened_once(fake, active_client, attempt)


# --- one fault, then success ---------------------------------------------------------------------


@pytest.mark.parametrize("call", [USER_CREATION, ACCOUNT_CREATION, DEPOSIT])
def test_a_500_once_is_tried_again_into_one_funded_account(
    active_client, finance, challenge, fake, call
):
    joined = started(active_client, finance, challenge)
    attempt = joined.current_attempt()
    control(fake, "fail", {"count": 1, "status": 500, "method": "POST", "path": call})
    outbox.run_due()
    command = command_of(attempt)
    assert command.status == Status.PENDING
    assert "answered 500" in command.error
    outbox.run_due(now=at(command.next_try_at))
    assert command_of(attempt).status == Status.DONE
    opened_once(fake, active_client, attempt)


@pytest.mark.parametrize("call", [USER_CREATION, ACCOUNT_CREATION, DEPOSIT])
def test_a_call_that_timed_out_once_after_the_platform_did_it_is_not_done_twice(
    active_client, finance, challenge, fake, call, settings
):
    """The platform carries out the slow call, the client has given up: the retry finds what
    it made (by the command's key) and makes nothing twice."""
    settings.MATCH_TRADER_TIMEOUT = 0.3
    joined = started(active_client, finance, challenge)
    attempt = joined.current_attempt()
    control(fake, "delay", {"count": 1, "seconds": 1, "method": "POST", "path": call})
    outbox.run_due()
    command = command_of(attempt)
    assert command.status == Status.PENDING
    assert "did not answer" in command.error
    assert fake.settle()  # the platform has finished the slow call
    outbox.run_due(now=at(command.next_try_at))
    assert command_of(attempt).status == Status.DONE
    opened_once(fake, active_client, attempt)


# --- a payout's balance operation, one fault then success -----------------------------------------


def payout_approved(client, finance, admin, server, fake) -> tuple[StageAttempt, Payout]:
    """A funded stage on the platform (one live stage, 80% profit share, started 30 days ago
    so that a payout may be asked), +3,000.00 of closed profit read by the monitor, a payout of
    it asked and approved: its balance operation is a command, not carried out yet."""
    challenge = on_platform(server, admin, stages=[stage("live")])
    fund(client, finance)
    joined = participation.start(client, challenge.pk, payment="wallet")
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    outbox.run_due()  # the live account, opened on the platform
    live = joined.current_attempt()
    StageAttempt.objects.filter(pk=live.pk).update(started_at=timezone.now() - timedelta(days=30))
    tick(fake, "XAUUSD", "2350.00")
    position = trader_opens(fake, live.login, "XAUUSD", volume="1")
    monitor.process(server)
    tick(fake, "XAUUSD", "2380.30")  # +30.00 on 1 lot of 100 oz, from the ask 2350.30
    trader_closes(fake, live.login, position)
    monitor.process(server)
    payout = payouts.request_payout(client, joined.pk)
    assert payout.profit == D("3000.00")
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.approve(request.pk, actor=admin)
    live.refresh_from_db()
    return live, payout


def paid_once(fake: FakeMatchTrader, client, live: StageAttempt, payout: Payout, wallet) -> None:
    """The platform's ledger holds the opening deposit, the closed trade and one withdrawal of
    the profit; the account's balance is back where it started; the payout is paid with one
    Profit Share entry and the trader's wallet got the share once."""
    assert holdings(fake)["operations"] == [
        (live.login, "DEPOSIT", BALANCE),
        (live.login, "CLOSED_POSITION", D("3000")),
        (live.login, "WITHDRAWAL", D("-3000")),
    ]
    assert D(str(account(fake, live.login)["financeInfo"]["balance"])) == BALANCE
    payout.refresh_from_db()
    assert (payout.status, payout.trader_share) == (Payout.Status.PAID, D("2400.00"))
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).count() == 1
    assert ledger.wallet(client, "USD").balance == wallet + D("2400.00")


def payout_command(payout: Payout) -> PlatformCommand:
    return PlatformCommand.objects.get(key=f"balance:payout:{payout.pk}")


def test_a_payouts_balance_operation_answered_500_once_is_carried_out_once(
    active_client, finance, admin, server, fake
):
    live, payout = payout_approved(active_client, finance, admin, server, fake)
    wallet = ledger.wallet(active_client, "USD").balance
    control(fake, "fail", {"count": 1, "status": 500, "method": "POST", "path": WITHDRAWAL})

    outbox.run_due()  # the worker's sweep

    command = payout_command(payout)
    assert (command.status, command.attempts) == (Status.PENDING, 1)
    assert "answered 500" in command.error
    assert not fake.faults.pending  # the withdrawal was asked, and refused with a 500
    payout.refresh_from_db()
    assert payout.status == Payout.Status.APPROVED  # nothing paid before the platform did it
    outbox.run_due(now=at(command.next_try_at))
    command = payout_command(payout)
    assert (command.status, command.attempts) == (Status.DONE, 2)
    paid_once(fake, active_client, live, payout, wallet)


def test_a_payouts_balance_operation_that_timed_out_after_the_platform_did_it_is_done_once(
    active_client, finance, admin, server, fake, settings
):
    """The platform takes the profit off during the slow call, the worker has given up: the
    retry finds the withdrawal by the command's key and neither takes it twice nor pays the
    share twice."""
    live, payout = payout_approved(active_client, finance, admin, server, fake)
    wallet = ledger.wallet(active_client, "USD").balance
    settings.MATCH_TRADER_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "method": "POST", "path": WITHDRAWAL})

    outbox.run_due()

    command = payout_command(payout)
    assert (command.status, command.attempts) == (Status.PENDING, 1)
    assert "did not answer" in command.error
    assert fake.settle()  # the platform has finished the slow withdrawal
    assert D(str(account(fake, live.login)["financeInfo"]["balance"])) == BALANCE
    outbox.run_due(now=at(command.next_try_at))
    command = payout_command(payout)
    assert (command.status, command.attempts) == (Status.DONE, 2)
    paid_once(fake, active_client, live, payout, wallet)


# --- a worker killed in the middle of a call -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_the_opening_leaves_it_to_the_next_worker_done_once(
    active_client, finance, challenge, fake, tmp_path
):
    # Long enough for the test to kill the worker before the platform answers.
    control(fake, "delay", {"count": 1, "seconds": 3, "method": "POST", "path": ACCOUNT_CREATION})
    log = tmp_path / "workers.log"
    with database_shared_with_processes(tmp_path) as env:
        joined = started(active_client, finance, challenge)
        attempt = joined.current_attempt()
        first = start_worker(env, log, PROPDESK_PLATFORM_COMMAND_LEASE="1")
        try:
            eventually(lambda: not fake.faults.pending, what="the account's creation in flight")
        finally:
            first.kill()  # SIGKILL: no goodbye, its claim left behind
            first.wait()
        command = command_of(attempt)
        assert (command.status, command.attempts) == (Status.PENDING, 1)
        assert command.claimed_until is not None
        assert fake.settle()  # the platform finishes the creation nobody waits for any more
        second = start_worker(env, log, PROPDESK_PLATFORM_COMMAND_LEASE="1")
        try:
            eventually(
                lambda: command_of(attempt).status != Status.PENDING,
                what=f"the opening done by the second worker; its log:\n{log.read_text()}",
            )
        finally:
            stop_worker(second)
        command = command_of(attempt)
        assert (command.status, command.attempts) == (Status.DONE, 2)
        opened_once(fake, active_client, attempt)


# --- the business transaction rolled back ---------------------------------------------------------


def test_an_approval_rolled_back_after_it_wrote_its_command_reaches_nothing(
    active_client, finance, admin, challenge, fake, set_method
):
    set_method("prop_participation", "manual")
    joined = started(active_client, finance, challenge)
    request = ApprovalRequest.objects.get(type_key="prop_participation")

    def approve_then_fail():
        with transaction.atomic():
            approvals.approve(request.pk, actor=admin)
            assert PlatformCommand.objects.exists()  # written, then undone with the rest
            raise Undone

    with pytest.raises(Undone):
        approve_then_fail()
    assert not PlatformCommand.objects.exists()
    joined.refresh_from_db()
    assert joined.status == Participation.Status.PENDING_APPROVAL
    assert outbox.run_due() == 0
    assert holdings(fake) == {"users": [], "accounts": [], "operations": []}


# --- a refusal -----------------------------------------------------------------------------------


def test_a_refused_opening_stops_its_stage_until_staff_retry_it_after_putting_the_mapping_right(
    active_client, finance, admin, challenge, server, fake
):
    unknown = "5d0c6a4e-0000-4000-8000-000000000000"
    server.offers = {"challenge": unknown, "funded": FUNDED.uuid}
    server.save(update_fields=["offers"])
    joined = started(active_client, finance, challenge)
    attempt = joined.current_attempt()
    accounts.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Chargeback under review"
    )  # a later command of the stage: its account to open without login

    outbox.run_due()

    command = command_of(attempt)
    assert command.status == Status.FAILED
    assert f"The offer {unknown} configured for group challenge" in command.error
    later = command_of(attempt, PlatformCommand.Kind.SET_ACCESS)
    assert (later.status, later.attempts) == (Status.PENDING, 0)  # waits behind the refusal
    assert holdings(fake)["accounts"] == []

    servers.save_server(
        server.pk,
        name=server.name,
        kind=server.kind,
        demo_groups=server.demo_groups,
        live_groups=server.live_groups,
        offers={"challenge": CHALLENGE.uuid, "funded": FUNDED.uuid},
        actor=admin,
    )
    commands.retry_now(command.pk, actor=admin)
    outbox.run_due()

    assert command_of(attempt).status == Status.DONE
    later.refresh_from_db()
    assert later.status == Status.DONE
    attempt.refresh_from_db()
    assert account(fake, attempt.login)["accessRight"] == "TRADING_AND_LOGIN_DISABLED"
    assert holdings(fake)["operations"] == [(attempt.login, "DEPOSIT", BALANCE)]


def test_the_platforms_refusal_of_the_creation_is_kept_for_staff_and_a_retry_opens_it_once(
    active_client, finance, admin, challenge, fake
):
    joined = started(active_client, finance, challenge)
    attempt = joined.current_attempt()
    control(fake, "fail", {"count": 1, "status": 422, "method": "POST", "path": ACCOUNT_CREATION})

    outbox.run_due()

    command = command_of(attempt)
    assert command.status == Status.FAILED
    assert "answered 422" in command.error
    answer = json.loads(command.answer)  # the platform's body, as it sent it
    assert (answer["status"], answer["title"]) == (422, "Unprocessable Entity")
    assert participation.credentials(joined, active_client)["preparing"] == "yes"

    commands.retry_now(command.pk, actor=admin)
    outbox.run_due()

    assert command_of(attempt).status == Status.DONE
    opened_once(fake, active_client, attempt)
