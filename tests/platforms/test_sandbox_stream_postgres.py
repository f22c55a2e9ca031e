"""The sandbox's stream on PostgreSQL wakes its readers: every committed write (a trader's
change, the feed's snapshots) NOTIFYs, and a listener waiting for it returns at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from propdesk.platforms import adapters
from propdesk.platforms.sandbox import accounts, feed, orders, stream, ticks

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's"),
]

D = Decimal
NEVER = 30.0  # a wait this long means nobody woke the listener: the test fails, it never sleeps


@pytest.fixture
def listener():
    made = stream.Listener()
    yield made
    made.close()


def listening(made: stream.Listener) -> stream.Listener:
    assert made.wait(after=0, timeout=0) is True  # the first wait listens, and says "look"
    return made


def test_the_sandboxs_ingestor_hands_its_reader_a_listener_on_postgresql():
    waiter = adapters.platform(accounts.default_server()).ingestor().waiter()
    assert isinstance(waiter, stream.Listener)
    waiter.close()


def test_a_committed_change_wakes_a_waiting_listener(listener):
    listening(listener)
    accounts.create_account(accounts.default_server(), group="demo", leverage=100, balance="5000")
    assert listener.wait(after=0, timeout=NEVER) is True


def test_the_feeds_snapshots_wake_a_waiting_listener(listener):
    account, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    prices = feed.Feed()  # its first word on the account is queued, not yet written
    listening(listener)
    assert prices.flush() >= 1
    assert listener.wait(after=0, timeout=NEVER) is True


def test_a_change_that_rolls_back_wakes_nobody(listener):
    account, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="5000"
    )
    listening(listener)
    snapshot = {"t": timezone.now().isoformat(), "type": "equity", "balance": "1", "equity": "1"}

    def undone():
        with transaction.atomic():
            stream.emit(account, [snapshot])
            raise RuntimeError("undone")

    with pytest.raises(RuntimeError):
        undone()
    assert listener.wait(after=0, timeout=0.2) is False
