"""The monitor on the NATS account-event log (against the real NATS server): the sandbox's
events are published to their account's partition, a monitor process reads the partitions it
holds, two share them, and a dead one's partitions are read by the other from their
checkpoints; staff's reinstatement reads the account's events from its partition."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import checkpoints, idle, monitor, runner
from propdesk.challenges.monitoring.watcher import FeedWatcher
from propdesk.challenges.participation import interventions
from propdesk.platforms import natslog
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from tests.challenges.factories import move, running, stage
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal


def rounds(*monitors: runner.Monitor, times: int = 3) -> None:
    for _ in range(times):
        for each in monitors:
            each.round()


def open_position(attempt: StageAttempt) -> feed.Feed:
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    return feed.Feed()


def test_a_breach_published_to_nats_fails_the_stage_and_disables_the_account(
    nats_log, active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    watching = runner.Monitor(owner="only")
    try:
        rounds(watching)
        move(price_feed, "1.08000", "1.08012")  # below the daily floor
        rounds(watching)
    finally:
        watching.close()
    carry_out_platform_commands()
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert (attempt.status, joined.status) == ("failed", "failed")
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    partition = f"nats:{natslog.partition_of(attempt.login)}"
    assert MonitorCheckpoint.objects.get(key=partition).position >= attempt.concluded_after > 0
    assert not StageAttempt.objects.filter(pk=attempt.pk, concluded_after=None).exists()


def test_two_monitor_processes_share_the_partitions_and_one_takes_over_a_dead_ones(
    nats_log, active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    first, second = runner.Monitor(owner="first"), runner.Monitor(owner="second")
    first.share()
    second.share()
    first.share()  # gives back what is above its share
    second.share()
    assert len(first.watchers) == len(second.watchers) == 4
    assert set(first.watchers).isdisjoint(second.watchers)
    partition = f"nats:{natslog.partition_of(attempt.login)}"
    holder, other = (first, second) if partition in first.watchers else (second, first)
    rounds(holder, other)
    # The holder dies (kill -9: no last checkpoint, no leases given back) just before the
    # breach; once its leases lapse, the other reads its partitions from their checkpoints.
    move(price_feed, "1.08000", "1.08012")
    lapsed = timezone.now() - timedelta(seconds=1)
    MonitorCheckpoint.objects.filter(owner=holder.owner).update(lease_until=lapsed)
    other.shared_at = -1e9  # its next round renews (every second in real time)
    try:
        rounds(other)
        assert partition in other.watchers
        assert len(other.watchers) == 8
    finally:
        other.close()
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert [e["kind"] for e in attempt.verdict["events"]].count("failed") == 1


def test_reinstating_reads_the_accounts_missed_events_from_its_partition(
    nats_log, active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    monitor.process(attempt.server)
    move(price_feed, "1.08000", "1.08012")  # the breach
    monitor.process(attempt.server)
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    move(price_feed, "1.07900", "1.07912")  # a new low while it stood failed
    monitor.process(attempt.server)  # read past it: the failed stage takes none
    reinstated = interventions.reinstate(attempt.pk, actor=admin, reason="A bad price, agreed")
    assert reinstated.status == "failed"  # the missed low breaks the floor again
    assert "93880" in reinstated.explanation.replace(",", "")  # -6,120: the low it missed
    assert checkpoints.applied_through(reinstated) >= reinstated.concluded_after


def test_a_monitor_renews_its_ingest_lease_before_its_partitions_so_a_takeover_moves_both(
    nats_log, active_client, finance, admin
):
    # A dead process's ingest lease lapses no later than its partitions': whoever takes the
    # partitions over takes in their events in the same renewal, not one later (kill -9 drill,
    # benchmarks/monitor_failover.py).
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    only = runner.Monitor(owner="only")
    try:
        only.share()
        only.share()
        ingest = MonitorCheckpoint.objects.get(key=f"ingest:{attempt.server_id}")
        partitions = MonitorCheckpoint.objects.filter(key__startswith="nats:")
        assert ingest.owner == "only"
        assert [s.pk for s in only.ingest] == [attempt.server_id]
        assert ingest.lease_until <= min(p.lease_until for p in partitions)
    finally:
        only.close()


def test_loading_a_partition_reads_the_states_of_its_own_stages_only(
    nats_log, active_client, finance, admin
):
    # A takeover loads several partitions at once: none reads every running stage's state.
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    mine = f"nats:{natslog.partition_of(attempt.login)}"
    other = next(k for k in checkpoints.all_feed_keys([attempt.server_id]) if k != mine)
    elsewhere, own = FeedWatcher(other), FeedWatcher(mine)
    try:
        with CaptureQueriesContext(connection) as read:
            elsewhere.load()
        assert not elsewhere.entries
        assert not [q for q in read.captured_queries if "evaluator_state" in q["sql"]]
        own.load()
        assert list(own.entries) == [(attempt.server_id, attempt.login)]
    finally:
        elsewhere.feed.close()
        own.feed.close()


def test_a_stage_reactivated_before_its_account_is_opened_is_not_set_aside(
    nats_log, active_client, finance, admin
):
    """A stage opened while its client is suspended starts held, before its account exists
    (the platform opens it after the commit, or later when it was away). Reactivated then,
    there is no account whose events to apply: the stage runs on, it is not set aside for an
    account with no login."""
    from django.db import transaction

    from propdesk.accounts import services as accounts_services
    from propdesk.challenges.participation import lifecycle

    joined, _ = running(active_client, finance, admin, stages=[stage(), stage(), stage()])
    accounts_services.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    carry_out_platform_commands()
    with transaction.atomic():
        opened = lifecycle.open_stage(joined, 1)
    assert (opened.login, opened.held_after is not None) == ("", True)
    # The partition an account with no login would fall in is read on meanwhile.
    key = f"nats:{natslog.partition_of('')}"
    MonitorCheckpoint.objects.update_or_create(key=key, defaults={"position": 5})
    accounts_services.set_client_suspended(active_client.pk, suspended=False, actor=admin)
    opened.refresh_from_db()
    assert (opened.status, opened.held_after, opened.monitor_error) == ("in_progress", None, "")


def test_a_firm_switching_its_log_to_nats_has_its_running_stages_breach_on_the_new_log(
    nats_log, settings, active_client, finance, admin
):
    """docs/event-log.md: a firm on the database log sets PROPDESK_EVENT_LOG and restarts. The
    monitor wrote every running stage's state with its position in the database log
    (`fed_through`, a log id); the NATS stream's positions start again at 1. Those old
    positions may not make the new monitor skip the stage's first events on NATS."""
    from tests.conftest import NATS_URL

    settings.EVENT_LOG = "database"
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    for bid in ("1.08450", "1.08400", "1.08450", "1.08400", "1.08450", "1.08400"):
        move(price_feed, bid, str(D(bid) + D("0.00012")))  # the database log grows
    monitor.process(attempt.server)  # read to its end and checkpointed
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert (attempt.fed_through or 0) > 3  # a position in the database log
    settings.EVENT_LOG = NATS_URL  # the switch; the monitor restarted on NATS
    move(price_feed, "1.08000", "1.08012")  # below the daily floor: the first events on NATS
    watching = runner.Monitor(owner="only")
    try:
        rounds(watching)
    finally:
        watching.close()
    attempt.refresh_from_db()
    assert attempt.status == "failed"


def test_an_idle_monitor_taking_a_servers_events_in_wakes_for_that_platforms_news(
    nats_log, active_client, finance, admin
):
    """Its events reach the partitions only through this process's own pull: waiting on the
    partitions alone, it would sleep through them (until a lease renewal, each time)."""
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    watching = runner.Monitor(owner="only")
    try:
        rounds(watching)  # everything so far taken in and read
        assert watching.ingest
        open_position(attempt)  # news at the platform, not yet in any partition
        assert watching._wait_once(30.0, None) is True
    finally:
        watching.close()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the sandbox wakes no one on SQLite")
def test_an_idle_monitor_on_nats_whose_platform_cannot_wake_it_looks_at_the_backoffs_pace(
    nats_log, active_client, finance, admin
):
    """A platform that cannot say it has news is looked at after the back-off's pause (at most
    `IDLE_CAP`), as with the database log: not a whole round every few tens of milliseconds."""
    running(active_client, finance, admin, stages=[stage(), stage("live")])
    watching = runner.Monitor(owner="only")
    try:
        rounds(watching)
        assert watching.ingest
        assert not watching.ingestors.wakes(watching.ingest)
        watching.backoff.quiet_since -= 60  # quiet for a minute
        began = time.monotonic()
        assert watching._wait_once(idle.IDLE_CAP, None) is False  # nothing came
        assert time.monotonic() - began >= idle.IDLE_CAP * 0.9
    finally:
        watching.close()
