"""A feed the monitor cannot read well must show: each round that reads a feed without an error
marks it read (`read_at`, what /readyz and /metrics look at), and one event whose time is no
date does not stop the feed: its stage is set aside for staff, the rest is read on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import runner
from propdesk.challenges.monitoring import watcher as watcher_module
from propdesk.platforms.models import LoggedEvent
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.platforms.sandbox.ingestor import SandboxIngestor
from tests.challenges.factories import move, running, server, stage

pytestmark = pytest.mark.django_db
D = Decimal


def key() -> str:
    return f"log:{server().pk}"


def test_an_event_whose_time_is_no_date_is_skipped_and_the_feed_reads_on(
    active_client, finance, admin, monkeypatch, caplog
):
    """The last event read has `"t": "2026-02-30T10:00:00+00:00"`: the rules skip it (a
    warning, as for any event they cannot read), the feed's position moves past it, and the
    events after it are read."""
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 0.0)
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    SandboxIngestor(server()).pull()
    last = LoggedEvent.objects.filter(server=server(), login=attempt.login).last()
    assert last is not None
    bad = LoggedEvent.objects.create(
        server=server(),
        login=attempt.login,
        payload={**last.payload, "t": "2026-02-30T10:00:00+00:00"},  # no such day
        source="bad-time-1",
    )
    monitor = runner.Monitor(owner="reader")
    try:
        for _ in range(3):
            monitor.round()
        assert MonitorCheckpoint.objects.get(key=key()).position == bad.pk
        move(feed.Feed(), "1.08400", "1.08412")  # more events after it
        SandboxIngestor(server()).pull()
        end = LoggedEvent.objects.filter(server=server()).order_by("id").last()
        assert end is not None
        assert end.pk > bad.pk
        for _ in range(3):
            monitor.round()
    finally:
        monitor.close()
    checkpoint = MonitorCheckpoint.objects.get(key=key())
    assert checkpoint.position == end.pk
    assert checkpoint.read_at is not None
    attempt.refresh_from_db()
    assert (attempt.status, attempt.monitor_error) == (StageAttempt.Status.IN_PROGRESS, "")
    assert attempt.fed_through == end.pk  # its later events were applied
    unreadable = [r for r in caplog.records if r.getMessage() == "event time unreadable"]
    assert unreadable
    assert unreadable[0].position == bad.pk  # type: ignore[attr-defined]


def test_a_round_marks_the_feeds_it_read_without_an_error_idle_rounds_too():
    server()
    monitor = runner.Monitor(owner="reader")
    try:
        assert monitor.round() == 0  # nothing to read: a good read all the same
        first = MonitorCheckpoint.objects.get(key=key()).read_at
        assert first is not None
        monitor.marked_at = -1e9  # a second later
        monitor.round()
        assert MonitorCheckpoint.objects.get(key=key()).read_at > first
    finally:
        monitor.close()
