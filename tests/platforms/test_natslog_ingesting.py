"""The ingestors with the account-event log on NATS: the sandbox's stream reaches the account's
partition once, whatever a crash or a second pull do; `eventlog.append` (Match-Trader's way)
publishes, and nothing goes to the database's table."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from propdesk.platforms import eventlog, natslog
from propdesk.platforms.models import IngestCursor, LoggedEvent
from propdesk.platforms.natsfeed import NatsFeed
from propdesk.platforms.sandbox import accounts, orders, stream, ticks
from propdesk.platforms.sandbox.ingestor import SandboxIngestor

pytestmark = pytest.mark.django_db


class Crash(Exception):
    """The ingesting process dies after publishing, before its cursor's move commits."""


def read_all(feed):
    found, after = [], 0
    while page := feed.read(after=after, limit=1000):
        found += page
        after = page[-1].position
    return found


def streamed(server, login):
    return [
        (payload, f"sandbox:{i}")
        for i, owner, payload in stream.rows(after=0, limit=10_000, server=server)
        if owner == login
    ]


def traded_account():
    account, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="5000"
    )
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08510"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    ticks.apply_tick("EURUSD", D("1.08710"), D("1.08720"))
    return account


def test_a_sandbox_trade_reaches_its_accounts_partition_once(nats_log):
    account = traded_account()
    server = account.server
    ingestor = SandboxIngestor(server)
    expected = streamed(server, account.login)
    assert ingestor.pull() >= len(expected) > 0
    assert ingestor.pull() == 0  # nothing new: nothing published
    with NatsFeed(natslog.partition_of(account.login)) as feed:
        read = [e for e in read_all(feed) if e.login == account.login]
    assert [(e.server_id, e.payload) for e in read] == [(server.pk, p) for p, _ in expected]
    assert not LoggedEvent.objects.exists()  # the database's log is left alone
    last = stream.rows(after=0, limit=10_000, server=server)[-1][0]
    assert IngestCursor.objects.get(server=server).position["stream"] == last


def dies_after_publishing(ingestor):
    with eventlog.ingesting(ingestor.server) as cursor:
        assert ingestor.take(cursor) > 0  # published, acknowledged ...
        raise Crash  # ... and the cursor's move never committed


def test_a_sandbox_pull_that_dies_after_publishing_publishes_nothing_twice(nats_log):
    account = traded_account()
    ingestor = SandboxIngestor(account.server)
    with pytest.raises(Crash):
        dies_after_publishing(ingestor)
    assert ingestor.pull() == 0  # the same batch again: every one a duplicate
    with NatsFeed(natslog.partition_of(account.login)) as feed:
        read = [e for e in read_all(feed) if e.login == account.login]
    assert [e.payload for e in read] == [p for p, _ in streamed(account.server, account.login)]


def test_an_append_publishes_in_nats_mode_and_keeps_each_source_once(nats_log):
    server = accounts.default_server()
    events = [("7001", {"kind": "equity", "equity": str(n)}, f"eq:7001:{n}") for n in range(5)]
    with eventlog.ingesting(server) as cursor:
        assert eventlog.append(cursor, events) == 5
        cursor.position = {"polled": 1}
    with eventlog.ingesting(server) as cursor:
        assert eventlog.append(cursor, events[3:]) == 0
    assert IngestCursor.objects.get(server=server).position == {"polled": 1}
    assert not LoggedEvent.objects.exists()
    with NatsFeed(natslog.partition_of("7001")) as feed:
        assert [e.payload for e in read_all(feed)] == [p for _, p, _ in events]
