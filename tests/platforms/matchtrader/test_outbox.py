"""Match-Trader through the outbox, as propdesk uses it: commands written in a transaction,
carried out after it, retried after a transient fault, once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from propdesk.platforms import outbox
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.protocol import Access
from tests.platforms.matchtrader.factories import account, call, control, ledger, owner


def write_opening(server):
    with transaction.atomic():
        return outbox.open_account(
            server,
            subject="stage:1",
            group="challenge",
            leverage=100,
            balance=Decimal("100000"),
            currency="USD",
            owner=owner(),
        )


def later(minutes):
    return lambda: timezone.now() + timedelta(minutes=minutes)


def test_an_opening_that_timed_out_is_retried_and_opens_one_funded_account(server, fake, settings):
    settings.MATCH_TRADER_TIMEOUT = 0.3
    command = write_opening(server)
    control(
        fake,
        "delay",
        {
            "count": 1,
            "seconds": 1,
            "method": "POST",
            "path": "/user-accounts/[^/]+/trading-accounts$",
        },
    )
    outbox.run_due()
    fake.settle()
    outbox.run_due(now=later(5))  # past the back-off
    command.refresh_from_db()
    assert command.status == PlatformCommand.Status.DONE
    assert command.attempts == 2
    [opened] = call(fake, "GET", "/v1/trading-accounts")[2]["content"]
    assert opened["login"] == command.login
    assert [e["type"] for e in ledger(fake, command.login)] == ["DEPOSIT"]


def test_a_refusal_stops_the_command_for_staff_with_the_platforms_answer(server, fake):
    command = write_opening(server)
    control(
        fake,
        "fail",
        {
            "count": 1,
            "status": 422,
            "method": "POST",
            "path": "/user-accounts/[^/]+/trading-accounts$",
        },
    )
    outbox.run_due()
    command.refresh_from_db()
    assert command.status == PlatformCommand.Status.FAILED
    assert '"status": 422' in command.answer


def test_access_commands_after_the_opening_reach_the_platform_in_order(server, fake):
    opening = write_opening(server)
    with transaction.atomic():
        outbox.set_access(server, subject="stage:1", access=Access.NO_TRADING, reason="breach")
        outbox.close_positions(server, subject="stage:1", reason="breach")
    outbox.run_due()
    opening.refresh_from_db()
    assert account(fake, opening.login)["accessRight"] == "TRADING_DISABLED"
    assert not PlatformCommand.objects.exclude(status=PlatformCommand.Status.DONE).exists()


@pytest.mark.django_db(transaction=True)
def test_a_call_longer_than_the_lease_keeps_its_claim_and_no_second_runner_repeats_it(
    server, fake, settings
):
    """An opening makes several calls; together they may outlast the lease. The runner renews
    its claim while it calls, so a second runner never takes the command over mid-call."""
    settings.PLATFORM_COMMAND_LEASE = 0.6
    command = write_opening(server)
    control(
        fake,
        "delay",
        {
            "count": 1,
            "seconds": 2,
            "method": "POST",
            "path": "/user-accounts/[^/]+/trading-accounts$",
        },
    )

    def runner() -> None:
        try:
            outbox.run_due()
        finally:
            connection.close()

    first = threading.Thread(target=runner)
    first.start()
    second_took = []
    for _ in range(8):  # for 1.6 s, well past the lease, another runner looks
        time.sleep(0.2)
        second_took.append(outbox.run_due())
    first.join(timeout=30)
    command.refresh_from_db()
    assert sum(second_took) == 0
    assert (command.status, command.attempts) == ("done", 1)
    assert len(call(fake, "GET", "/v1/trading-accounts")[2]["content"]) == 1
