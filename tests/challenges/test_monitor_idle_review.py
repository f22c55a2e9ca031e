"""Reviewer probes (h-review2): the idle monitor's corner cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from propdesk.challenges.models import StageAttempt
from propdesk.challenges.monitoring import idle, monitor
from propdesk.platforms import adapters
from propdesk.platforms.models import TradingServer
from propdesk.platforms.sandbox import accounts, stream
from tests.challenges.factories import running, server, stage
from tests.challenges.test_monitor import Unwoken


def test_an_overdue_stage_on_a_disabled_server_does_not_bring_back_10ms_polling(
    active_client, finance, admin, monkeypatch
):
    """A stage whose server staff disabled keeps its (past) day end: close_days never runs for
    it, but _next_day_in still counts it, so every idle wait is cut to `every`."""
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    monitor.process(server())
    now = timezone.now()
    StageAttempt.objects.filter(pk=attempt.pk).update(day_end=now - timedelta(hours=1))
    TradingServer.objects.filter(pk=server().pk).update(enabled=False)
    TradingServer.objects.create(name="other", demo_groups=["demo"])  # enabled, idle
    waiter = Unwoken()
    monkeypatch.setattr(adapters, "event_waiter", lambda platform: waiter)
    monitor.run(stop=waiter.stop, clock=lambda: now)
    assert waiter.asked
    assert waiter.asked[0] > 1.0, waiter.asked  # a real idle wait, not 10 ms


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
def test_a_listener_whose_connection_was_killed_says_look_and_listens_again():
    listener = stream.Listener()
    try:
        assert listener.wait(after=0, timeout=0) is True
        pid = listener._conn.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert listener.wait(after=0, timeout=30.0) is True  # the failure: "look"
        assert listener._conn is None
        assert listener.wait(after=0, timeout=30.0) is True  # listens again: "look"
        assert listener._conn is not None
        assert listener._conn.info.backend_pid != pid
        accounts.create_account(server(), group="demo", leverage=100, balance="5000")
        assert listener.wait(after=0, timeout=30.0) is True  # woken by the new connection
    finally:
        listener.close()
    assert listener._conn is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
def test_waiting_close_closes_every_listening_connection():
    waiting = idle.Waiting()
    servers = [server()]
    waiting.wait(servers, 0)
    conn = waiting._waiters[(server().pk, server().kind)]._conn
    assert conn is not None
    assert not conn.closed
    waiting.close()
    assert conn.closed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
def test_a_notify_that_came_between_waits_is_not_lost():
    """Committed after one wait ended and before the next began (the monitor was looking)."""
    listener = stream.Listener()
    try:
        listener.wait(after=0, timeout=0)
        assert listener.wait(after=0, timeout=0) is False
        accounts.create_account(server(), group="demo", leverage=100, balance="5000")
        assert listener.wait(after=0, timeout=30.0) is True
        assert listener.wait(after=0, timeout=0) is False  # drained: one wake-up, not one each
    finally:
        listener.close()
