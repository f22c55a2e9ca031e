"""MetaTrader 5 through the outbox, as propdesk uses it: commands written in a transaction,
carried out after it, retried after a transient fault, stopped for staff on a refusal, once."""

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
from propdesk.platforms.mt5.fake import USER_RIGHT_TRADE_DISABLED
from propdesk.platforms.protocol import Access
from tests.challenges.factories import eventually
from tests.platforms.mt5.factories import (
    CHALLENGE_GROUP,
    control,
    holdings,
    owner,
    trader_opens,
    user,
)

pytestmark = pytest.mark.django_db


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
    settings.MT5_TIMEOUT = 0.3
    command = write_opening(server)
    control(fake, "delay", {"count": 1, "seconds": 1, "path": "/api/trade/balance"})
    outbox.run_due()
    fake.settle()
    outbox.run_due(now=later(5))  # past the back-off
    command.refresh_from_db()
    assert (command.status, command.attempts) == (PlatformCommand.Status.DONE, 2)
    assert holdings(fake) == {
        "users": [(command.login, CHALLENGE_GROUP)],
        "deals": [(command.login, Decimal("100000.00"))],
    }


def test_a_refusal_stops_the_command_for_staff_with_the_platforms_answer(server, fake):
    server.offers = {"challenge": "demo\\nowhere"}
    server.save()
    command = write_opening(server)
    outbox.run_due()
    command.refresh_from_db()
    assert command.status == PlatformCommand.Status.FAILED
    assert "MT5 has no group demo\\nowhere" in command.error
    assert '"retcode": "13 Not found"' in command.answer
    assert holdings(fake)["users"] == []


def test_a_wrong_manager_password_stops_the_command_for_staff(server, fake):
    from propdesk.core import vault

    server.sealed_api_key = vault.seal("Wrong1234")
    server.save()
    command = write_opening(server)
    outbox.run_due()
    command.refresh_from_db()
    assert command.status == PlatformCommand.Status.FAILED
    assert "3006 Invalid account" in command.error


def test_access_and_closing_after_the_opening_reach_the_platform_in_order(server, fake):
    opening = write_opening(server)
    outbox.run_due()
    opening.refresh_from_db()
    trader_opens(fake, opening.login, "EURUSD")
    with transaction.atomic():
        outbox.set_access(server, subject="stage:1", access=Access.NO_TRADING, reason="breach")
        outbox.close_positions(server, subject="stage:1", reason="breach")
    outbox.run_due()
    assert int(user(fake, opening.login)["Rights"]) & USER_RIGHT_TRADE_DISABLED
    assert fake.book.positions_of({int(opening.login)}) == []
    assert not PlatformCommand.objects.exclude(status=PlatformCommand.Status.DONE).exists()


@pytest.mark.django_db(transaction=True)
def test_a_call_longer_than_the_lease_keeps_its_claim_and_no_second_runner_repeats_it(
    server, fake, settings
):
    settings.PLATFORM_COMMAND_LEASE = 0.6
    command = write_opening(server)
    control(fake, "delay", {"count": 1, "seconds": 2, "path": "/api/user/add"})

    def runner() -> None:
        try:
            outbox.run_due()
        finally:
            connection.close()

    first = threading.Thread(target=runner)
    first.start()
    # The first runner holds the command (and is in its call) before the other one looks, however
    # slowly its thread starts on a loaded machine.
    eventually(
        lambda: PlatformCommand.objects.filter(pk=command.pk, claimed_until__isnull=False).exists(),
        what="the first runner to claim the command",
    )
    second_took = []
    for _ in range(8):  # for 1.6 s, well past the lease, another runner looks
        time.sleep(0.2)
        second_took.append(outbox.run_due())
    first.join(timeout=30)
    command.refresh_from_db()
    assert sum(second_took) == 0
    assert (command.status, command.attempts) == ("done", 1)
    assert len(holdings(fake)["users"]) == 1


def test_an_openings_first_attempt_does_not_list_the_groups_users(server, fake):
    command = write_opening(server)
    outbox.run_due()
    command.refresh_from_db()
    assert command.status == PlatformCommand.Status.DONE
    assert "/api/user/get_batch" not in fake.requests


def test_an_opening_whose_user_was_added_but_the_answer_lost_is_retried_into_that_user(
    server, fake, settings
):
    settings.MT5_TIMEOUT = 0.3
    command = write_opening(server)
    control(fake, "delay", {"count": 1, "seconds": 1, "path": "/api/user/add"})
    outbox.run_due()
    fake.settle()
    outbox.run_due(now=later(5))
    command.refresh_from_db()
    assert (command.status, command.attempts) == (PlatformCommand.Status.DONE, 2)
    assert holdings(fake) == {
        "users": [(command.login, CHALLENGE_GROUP)],
        "deals": [(command.login, Decimal("100000.00"))],
    }


def test_a_payouts_first_attempt_reads_no_deal_history_and_a_retry_pays_once(
    server, fake, settings
):
    opening = write_opening(server)
    outbox.run_due()
    opening.refresh_from_db()
    fake.requests.clear()
    with transaction.atomic():
        paid = outbox.balance(
            server, subject="payout:1", amount=Decimal("-500"), comment="Payout", key="payout:1",
            login=opening.login,
        )  # fmt: skip
    outbox.run_due()
    paid.refresh_from_db()
    assert paid.status == PlatformCommand.Status.DONE
    assert "/api/deal/get_batch" not in fake.requests
    settings.MT5_TIMEOUT = 0.3
    with transaction.atomic():
        again = outbox.balance(
            server, subject="payout:2", amount=Decimal("-200"), comment="Payout", key="payout:2",
            login=opening.login,
        )  # fmt: skip
    control(fake, "delay", {"count": 1, "seconds": 1, "path": "/api/trade/balance"})
    outbox.run_due()
    fake.settle()
    outbox.run_due(now=later(5))
    again.refresh_from_db()
    assert (again.status, again.attempts) == (PlatformCommand.Status.DONE, 2)
    assert holdings(fake)["deals"] == [
        (opening.login, Decimal("100000.00")),
        (opening.login, Decimal("-500.00")),
        (opening.login, Decimal("-200.00")),
    ]
