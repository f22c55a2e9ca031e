"""Payouts under races, on PostgreSQL's row locks: two requests at once make one payout, and a
payout's approval racing the breach of its stage moves money at most once (and not at all when
the breach came first)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Payout, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.payouts import services as payouts
from propdesk.core.errors import Conflict, DomainError
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import funded, move, server, take_profit
from tests.support import at_once, carry_out_platform_commands

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal


def test_two_payout_requests_at_once_make_one_payout(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    outcomes = at_once(
        lambda: payouts.request_payout(active_client, live.participation_id, idempotency_key="a"),
        lambda: payouts.request_payout(active_client, live.participation_id, idempotency_key="b"),
    )
    made = [o for o in outcomes if isinstance(o, Payout)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert (len(made), len(refused)) == (1, 1)
    assert isinstance(refused[0], Conflict)
    assert Payout.objects.count() == 1
    assert ApprovalRequest.objects.filter(type_key=payouts.PAYOUT).count() == 1


def test_the_same_request_twice_at_once_is_one_payout(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    outcomes = at_once(
        lambda: payouts.request_payout(active_client, live.participation_id, idempotency_key="k"),
        lambda: payouts.request_payout(active_client, live.participation_id, idempotency_key="k"),
    )
    assert all(isinstance(o, Payout) for o in outcomes)
    assert len({o.pk for o in outcomes}) == 1  # type: ignore[union-attr]
    assert Payout.objects.count() == 1


@pytest.mark.parametrize("repeat", range(3))
def test_an_approval_racing_a_breach_moves_money_at_most_once(
    active_client, finance, admin, repeat
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)  # +2,880.00
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    # 20 lots against the trader: equity 92,640, under the daily-loss floor of 95,000.
    account = accounts.account_by_login(live.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="20.00")
    move(feed.Feed(), "1.08000", "1.08012")

    outcomes = at_once(
        lambda: monitor.process(server()),
        lambda: approvals.approve(request.pk, actor=admin),
    )
    carry_out_platform_commands()
    monitor.process(server())
    live.refresh_from_db()
    payout.refresh_from_db()
    assert live.status == StageAttempt.Status.FAILED  # the breach stands either way
    balance_ops = PlatformCommand.objects.filter(kind="balance", status="done").count()
    shares = JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).count()
    if isinstance(outcomes[1], DomainError):  # the breach committed first
        assert (payout.status, balance_ops, shares) == ("cancelled", 0, 0)  # withdrawn
    else:  # approved first: paid once, the breach after it
        assert (payout.status, balance_ops, shares) == ("paid", 1, 1)


def test_a_payout_request_committing_while_the_client_is_suspended_never_deadlocks(
    active_client, finance, admin
):
    """The request's transaction is held open a moment after it acted, and the suspension comes
    meanwhile: the request commits (its keys check the client's row), then the suspension."""
    from propdesk.accounts import services as accounts_services

    _, live = funded(active_client, finance, admin)
    take_profit(live)
    acted, order = threading.Event(), []

    def ask() -> None:
        try:
            with transaction.atomic():
                payouts.request_payout(active_client, live.participation_id)
                acted.set()
                time.sleep(0.5)  # the suspension arrives before this commits
            order.append("asked")
        finally:
            acted.set()
            connection.close()

    def suspend() -> None:
        try:
            acted.wait(10)
            accounts_services.set_client_suspended(
                active_client.pk, suspended=True, actor=admin, reason="Documents under review"
            )
            order.append("suspended")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask), threading.Thread(target=suspend)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert order == ["asked", "suspended"]  # neither was the victim of a deadlock
    live.refresh_from_db()
    assert live.held_after is not None
    assert Payout.objects.get().status == "requested"
