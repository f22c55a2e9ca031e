"""The sandbox's ingestor: its server's stream events reach the account-event log in order,
each once, also when a pull dies half-way or its cursor is set back; one server's never another's;
and the migration that started the log copied the stream under the same ids."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from propdesk.platforms import adapters, eventlog
from propdesk.platforms.models import IngestCursor, LoggedEvent, TradingServer
from propdesk.platforms.sandbox import accounts, stream
from propdesk.platforms.sandbox.ingestor import SandboxIngestor

pytestmark = pytest.mark.django_db


class Crash(Exception):
    """The ingesting process dies before its transaction commits."""


def default():
    return accounts.default_server()


def other():
    made, _ = TradingServer.objects.get_or_create(name="other", defaults={"demo_groups": ["demo"]})
    return made


def open_accounts(server, count=1):
    for _ in range(count):
        accounts.create_account(server, group="demo", leverage=100, balance="5000")


def streamed(server):
    """The server's stream as the log should hold it: (login, payload, source), in order."""
    return [
        (login, payload, f"sandbox:{i}")
        for i, login, payload in stream.rows(after=0, limit=10_000, server=server)
    ]


def logged(server):
    return list(
        LoggedEvent.objects.filter(server=server)
        .order_by("id")
        .values_list("login", "payload", "source")
    )


def stream_position(server):
    return IngestCursor.objects.get(server=server).position["stream"]


def test_a_pull_copies_the_servers_stream_into_the_log_in_order():
    open_accounts(default(), 3)
    ingestor = adapters.platform(default()).ingestor()
    assert ingestor.pull() == len(streamed(default()))
    assert logged(default()) == streamed(default())
    assert stream_position(default()) == stream.rows(limit=10_000, server=default())[-1][0]


def test_a_pull_takes_in_only_what_came_since_the_last():
    open_accounts(default())
    ingestor = SandboxIngestor(default())
    first = ingestor.pull()
    assert ingestor.pull() == 0
    open_accounts(default())
    assert ingestor.pull() == len(streamed(default())) - first
    assert logged(default()) == streamed(default())


def test_a_long_stream_is_taken_in_a_batch_a_pull():
    open_accounts(default(), 3)
    ingestor = SandboxIngestor(default(), batch=2)
    pulled = [ingestor.pull() for _ in range(10)]
    assert pulled[0] == 2
    assert sum(pulled) == len(streamed(default()))
    assert logged(default()) == streamed(default())


def dies_mid_pull(ingestor):
    with eventlog.ingesting(ingestor.server) as cursor:
        assert ingestor.take(cursor) == ingestor.batch  # appended, the cursor moved ...
        raise Crash  # ... and neither committed


def test_a_pull_that_dies_mid_way_leaves_nothing_and_the_next_copies_each_event_once():
    open_accounts(default(), 2)
    ingestor = SandboxIngestor(default(), batch=2)
    ingestor.pull()
    kept = logged(default())
    open_accounts(default(), 3)
    with pytest.raises(Crash):
        dies_mid_pull(ingestor)
    assert logged(default()) == kept
    while ingestor.pull():
        pass
    assert logged(default()) == streamed(default())


def test_a_cursor_set_back_copies_nothing_twice():
    open_accounts(default(), 2)
    SandboxIngestor(default()).pull()
    reached = stream_position(default())
    IngestCursor.objects.filter(server=default()).update(position={"stream": 0})
    assert SandboxIngestor(default()).pull() == 0
    assert logged(default()) == streamed(default())
    assert stream_position(default()) == reached


def test_each_pull_appends_past_every_position_a_reader_may_have_seen():
    ingestor = SandboxIngestor(default())
    reached = 0
    for _ in range(3):
        open_accounts(default())
        open_accounts(other())
        SandboxIngestor(other()).pull()  # the other server's events in between
        before = set(LoggedEvent.objects.filter(server=default()).values_list("id", flat=True))
        ingestor.pull()
        after = set(LoggedEvent.objects.filter(server=default()).values_list("id", flat=True))
        assert min(after - before) > max(before, default=0)
        assert stream_position(default()) > reached
        reached = stream_position(default())


def test_two_servers_events_never_mix():
    open_accounts(default(), 2)
    open_accounts(other(), 1)
    SandboxIngestor(default()).pull()
    assert logged(other()) == []
    SandboxIngestor(other()).pull()
    assert logged(default()) == streamed(default())
    assert logged(other()) == streamed(other())
    theirs = {login for login, _, _ in logged(other())}
    assert theirs.isdisjoint(login for login, _, _ in logged(default()))


def test_on_sqlite_the_ingestor_offers_no_waiter():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's waiter: tests/platforms/test_sandbox_stream_postgres.py")
    assert SandboxIngestor(default()).waiter() is None


def copy_stream():
    """The migration that started the log, run again on what the stream holds now."""
    migration = importlib.import_module(
        "propdesk.platforms.sandbox.migrations.0010_stream_into_event_log"
    )
    migration.copy_stream(apps, SimpleNamespace(connection=connection))


def test_the_migration_copies_the_stream_into_the_log_under_the_same_ids():
    open_accounts(default(), 2)
    open_accounts(other(), 1)
    copy_stream()
    for server in (default(), other()):
        rows = stream.rows(after=0, limit=10_000, server=server)
        copied = LoggedEvent.objects.filter(server=server).order_by("id")
        assert list(copied.values_list("id", "login", "payload", "source")) == [
            (i, login, payload, f"sandbox:{i}") for i, login, payload in rows
        ]
        assert stream_position(server) == rows[-1][0]


def test_after_the_migration_the_ingestor_goes_on_where_the_copy_ended():
    open_accounts(default(), 2)
    copy_stream()
    copied = LoggedEvent.objects.order_by("-id").values_list("id", flat=True).first()
    assert SandboxIngestor(default()).pull() == 0  # nothing copied twice
    open_accounts(default())
    assert SandboxIngestor(default()).pull() >= 1
    assert logged(default()) == streamed(default())
    newest = LoggedEvent.objects.order_by("-id").values_list("id", flat=True).first()
    assert newest > copied  # the log's ids go on after the copied ones
