"""The platform outbox with the built-in sandbox: commands written in a transaction, carried
out after it once, in order per account, retried or stopped. (The remote faults — a platform
down, a 500, a timeout, a worker killed mid-call — are tested against the fake Match-Trader
server in tests/platforms/matchtrader/.)"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from propdesk.platforms import outbox
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.protocol import Access
from propdesk.platforms.sandbox import accounts
from propdesk.platforms.sandbox.models import Account, Deal
from tests.support import at_once

D = Decimal
pytestmark = pytest.mark.django_db


def open_one(subject: str = "stage:1") -> PlatformCommand:
    with transaction.atomic():
        return outbox.open_account(
            accounts.default_server(),
            subject=subject,
            group="demo",
            leverage=100,
            balance=D("5000"),
            currency="USD",
        )


@pytest.mark.django_db(transaction=True)
def test_a_command_is_written_only_inside_the_transaction_that_decides_it():
    with pytest.raises(RuntimeError, match="inside"):
        outbox.set_access(accounts.default_server(), subject="stage:1", access=Access.FULL)


def test_a_command_whose_transaction_rolls_back_never_runs():
    class Undone(Exception):
        pass

    def open_then_fail():
        with transaction.atomic():
            open_one()
            raise Undone

    with pytest.raises(Undone):
        open_then_fail()
    assert outbox.run_due() == 0
    assert not PlatformCommand.objects.exists()
    assert not Account.objects.exists()


def test_an_opening_is_carried_out_once_and_its_login_given_to_the_later_commands():
    opening = open_one()
    with transaction.atomic():
        access = outbox.set_access(
            accounts.default_server(), subject="stage:1", access=Access.CLOSE_ONLY
        )
    assert access.login == ""  # not known when it was written
    assert outbox.run_due() == 2
    assert outbox.run_due() == 0
    opening.refresh_from_db()
    access.refresh_from_db()
    assert opening.status == access.status == "done"
    assert opening.result == {"login": opening.login, "server": "Sandbox"}
    assert "password" not in str(opening.result)
    assert access.login == opening.login
    account = accounts.account_by_login(opening.login)
    assert (account.trading_enabled, account.may_close) == (False, True)
    assert Account.objects.count() == 1


def test_the_same_opening_written_twice_is_one_command():
    first, again = open_one(), open_one()
    assert first.pk == again.pk
    outbox.run_due()
    assert Account.objects.count() == 1


def test_a_refused_command_stops_its_subject_and_not_the_others():
    with transaction.atomic():
        refused = outbox.balance(
            accounts.default_server(),
            subject="stage:9",
            amount=D("10"),
            comment="Refill",
            key="r1",
            login="nobody",
        )
        later = outbox.balance(
            accounts.default_server(),
            subject="stage:9",
            amount=D("10"),
            comment="Refill",
            key="r2",
            login="nobody",
        )
    other = open_one("stage:10")
    assert outbox.run_due() == 1  # stage:10's opening
    refused.refresh_from_db()
    later.refresh_from_db()
    other.refresh_from_db()
    assert refused.status == "failed"
    assert "No account nobody" in refused.error
    assert refused.attempts == 1
    assert later.status == "pending"  # waits behind the refusal, for staff
    assert later.attempts == 0
    assert other.status == "done"
    assert outbox.run_due() == 0  # nothing retries a refusal on its own


def test_a_command_claimed_by_a_runner_that_died_is_carried_out_once_after_its_lease():
    opening = open_one()
    start = timezone.now()
    assert outbox._claim(opening, start)  # a runner took it, then died before recording
    assert outbox.run_due(now=lambda: start + timedelta(seconds=1)) == 0  # still its claim
    later = start + timedelta(seconds=outbox.lease() + 1)
    assert outbox.run_due(now=lambda: later) == 1
    opening.refresh_from_db()
    assert (opening.status, opening.attempts) == ("done", 2)
    assert Account.objects.count() == 1


def test_a_balance_operation_carried_out_twice_under_its_key_moves_money_once():
    opening = open_one()
    outbox.run_due()
    opening.refresh_from_db()
    with transaction.atomic():
        paid = outbox.balance(
            accounts.default_server(),
            subject="stage:1",
            amount=D("250.00"),
            comment="Refill",
            key="refill-1",
        )
    outbox.run_due()
    # A runner that lost its claim after the call repeats it under the same key.
    PlatformCommand.objects.filter(pk=paid.pk).update(status="pending", done_at=None)
    outbox.run_due()
    account = accounts.account_by_login(opening.login)
    assert account.balance == D("5250.00")
    assert Deal.objects.filter(account=account, comment="Refill").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_carry_out_each_command_once():
    for number in range(6):
        open_one(f"stage:{number}")
    outcomes = at_once(outbox.run_due, outbox.run_due)
    assert sum(outcomes) == 6  # type: ignore[arg-type]
    assert Account.objects.count() == 6
    assert set(PlatformCommand.objects.values_list("attempts", flat=True)) == {1}


def test_after_a_transient_fault_the_servers_other_commands_wait_for_the_next_turn():
    """A platform that times out would hold the worker for each of its commands in turn."""
    from propdesk.core import vault
    from propdesk.platforms.models import TradingServer

    away = TradingServer.objects.create(
        name="Away",
        kind=TradingServer.Kind.MATCH_TRADER,
        base_url="http://127.0.0.1:9",  # nothing listens on the discard port
        sealed_api_key=vault.seal("a-key"),
        demo_groups=["demo"],
        offers={"demo": "3f1c2b9e-8d4a-4c1e-9a7b-2e5d6f7a8b9c"},
    )
    with transaction.atomic():
        first = outbox.set_access(away, subject="stage:1", access=Access.FULL, login="1")
        second = outbox.set_access(away, subject="stage:2", access=Access.FULL, login="2")
    assert outbox.run_due() == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.next_try_at is not None
    assert first.error
    assert second.attempts == 0  # not tried this turn


def test_commands_stopped_behind_a_refusal_never_crowd_out_the_others():
    with transaction.atomic():
        for number in range(3):  # three accounts, each stopped behind a refused command
            for step in range(2):
                outbox.balance(
                    accounts.default_server(),
                    subject=f"stage:gone-{number}",
                    amount=D("10"),
                    comment="Refill",
                    key=f"gone-{number}-{step}",
                    login=f"gone-{number}",
                )
    outbox.run_due()
    opening = open_one("stage:fine")
    assert outbox.run_due(limit=2) == 1
    opening.refresh_from_db()
    assert opening.status == "done"


def test_an_access_change_never_waits_behind_a_refused_balance_operation():
    opening = open_one()
    outbox.run_due()
    opening.refresh_from_db()
    with transaction.atomic():
        refused = outbox.balance(
            accounts.default_server(),
            subject="stage:1",
            amount=D("-999999"),  # more than the free margin: the sandbox refuses
            comment="Too much",
            key="too-much",
        )
        breach = outbox.set_access(
            accounts.default_server(), subject="stage:1", access=Access.CLOSE_ONLY
        )
        refill = outbox.balance(
            accounts.default_server(), subject="stage:1", amount=D("10"), comment="x", key="x"
        )
    outbox.run_due()
    for row in (refused, breach, refill):
        row.refresh_from_db()
    assert refused.status == "failed"
    assert breach.status == "done"  # the breach reached the platform
    assert accounts.account_by_login(opening.login).trading_enabled is False
    assert refill.status == "pending"  # money waits for staff behind the refused money


def test_commands_for_an_account_whose_opening_staff_cancelled_are_cancelled_too(admin):
    from propdesk.platforms import commands

    with transaction.atomic():
        opening = outbox.open_account(
            accounts.default_server(),
            subject="stage:5",
            group="no-such-group",  # the sandbox refuses it
            leverage=100,
            balance=D("5000"),
            currency="USD",
        )
        later = outbox.set_access(
            accounts.default_server(), subject="stage:5", access=Access.NO_LOGIN
        )
    outbox.run_due()
    opening.refresh_from_db()
    assert opening.status == "failed"
    commands.cancel(opening.pk, actor=admin)
    outbox.run_due()
    later.refresh_from_db()
    assert later.status == "cancelled"
    assert "never opened" in later.error


def test_a_command_whose_outcome_cannot_be_recorded_is_failed_for_staff_not_lost():
    """The caller's hook refuses (here: a hook that was never meant to take this command):
    the platform did the thing; staff see it failed and a retry gets the same account."""

    def refuse(command, credentials):
        raise ValueError("the stage is gone")

    outbox.on_done("tests.refusing", refuse)
    with transaction.atomic():
        opening = outbox.open_account(
            accounts.default_server(),
            subject="stage:6",
            group="demo",
            leverage=100,
            balance=D("5000"),
            currency="USD",
            then="tests.refusing",
        )
    assert outbox.run_due() == 0
    opening.refresh_from_db()
    assert opening.status == "failed"
    assert "recording it failed" in opening.error
    assert Account.objects.count() == 1
    outbox.on_done("tests.refusing", lambda command, credentials: None)  # put right
    PlatformCommand.objects.filter(pk=opening.pk).update(status="pending")
    assert outbox.run_due() == 1
    assert Account.objects.count() == 1  # the same account, under the same key


def test_an_opening_whose_outcome_cannot_be_recorded_may_still_be_cancelled(admin):
    """Only a command whose caller is told of its cancelling (a payout's) must be retried
    instead: an opening's caller is not told, and staff may give it up as before."""
    from propdesk.platforms import commands

    outbox.on_done("tests.refusing_again", lambda command, credentials: 1 / 0)
    with transaction.atomic():
        opening = outbox.open_account(
            accounts.default_server(),
            subject="stage:7",
            group="demo",
            leverage=100,
            balance=D("5000"),
            currency="USD",
            then="tests.refusing_again",
        )
    outbox.run_due()
    opening.refresh_from_db()
    assert opening.error.startswith(outbox.RECORDING_FAILED)
    commands.cancel(opening.pk, actor=admin)
    opening.refresh_from_db()
    assert opening.status == "cancelled"
