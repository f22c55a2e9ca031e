"""The monitor's stages in memory (monitoring.watcher): states written at checkpoints, verdicts
at once; a restart from a checkpoint applies every event once; staff's changes reach a running
watcher; feeds shared between monitor processes by leases, a dead one's taken over."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from propdesk.accounts import services as accounts_services
from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import checkpoints, runner
from propdesk.challenges.monitoring import watcher as watcher_module
from propdesk.challenges.monitoring.watcher import FeedWatcher, LostLease
from propdesk.challenges.participation import interventions
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.platforms.sandbox.ingestor import SandboxIngestor
from tests.challenges.factories import move, running, server, stage, trading
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal


def key() -> str:
    return f"log:{server().pk}"


def watching(owner: str | None = None) -> FeedWatcher:
    watcher = FeedWatcher(key(), owner=owner)
    watcher.load()
    return watcher


def take_in() -> None:
    SandboxIngestor(server()).pull()


def open_position(attempt: StageAttempt) -> feed.Feed:
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    return feed.Feed()


def test_a_watcher_keeps_states_in_memory_and_writes_them_at_its_checkpoint(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    move(price_feed, "1.08300", "1.08312")  # -2,120: no floor reached
    take_in()
    watcher = watching()
    before = StageAttempt.objects.get(pk=attempt.pk).evaluator_state
    assert watcher.step(limit=1000) > 0
    assert StageAttempt.objects.get(pk=attempt.pk).evaluator_state == before  # not yet written
    held = watcher.entries[(attempt.server_id, attempt.login)].evaluator.state()
    watcher.checkpoint()
    assert StageAttempt.objects.get(pk=attempt.pk).evaluator_state == held
    assert MonitorCheckpoint.objects.get(key=key()).position == watcher.position


def test_a_breach_is_written_at_once_and_a_restart_from_the_checkpoint_does_not_repeat_it(
    active_client, finance, admin
):
    _joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    take_in()
    first = watching()
    first.step(limit=1000)
    first.checkpoint()
    saved = first.position
    move(price_feed, "1.08000", "1.08012")  # -5,120: below the daily floor
    take_in()
    first.step(limit=1000)  # the breach: acted on at once, no checkpoint after it
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    assert MonitorCheckpoint.objects.get(key=key()).position == saved
    assert attempt.fed_through == attempt.concluded_after > saved
    # A restart (the first watcher died before its checkpoint) reads the breach again.
    again = watching()
    assert again.position == saved
    assert again.step(limit=1000) > 0
    again.checkpoint()
    attempt.refresh_from_db()
    assert [e["kind"] for e in attempt.verdict["events"]].count("failed") == 1
    assert (attempt.server_id, attempt.login) not in again.entries


def test_a_restart_from_an_old_checkpoint_ends_with_the_states_of_an_unbroken_run(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    unbroken = watching()
    for bid in ("1.08400", "1.08300", "1.08450", "1.08350"):
        move(price_feed, bid, str(D(bid) + D("0.00012")))
        take_in()
        unbroken.step(limit=2)  # small batches: the stream is read over several steps
    while unbroken.step(limit=2):
        pass
    expected = unbroken.entries[(attempt.server_id, attempt.login)].evaluator.state()
    restarted = watching()  # nothing was checkpointed: it reads everything again
    while restarted.step(limit=3):
        pass
    restarted.checkpoint()
    assert StageAttempt.objects.get(pk=attempt.pk).evaluator_state == expected


def test_staff_reinstating_a_stage_reaches_the_running_watcher_that_dropped_it(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    take_in()
    watcher = watching()
    watcher.step(limit=1000)
    move(price_feed, "1.08000", "1.08012")  # the breach
    take_in()
    watcher.step(limit=1000)
    assert (attempt.server_id, attempt.login) not in watcher.entries
    interventions.reinstate(attempt.pk, actor=admin, reason="A price spike, agreed")
    watcher.step(limit=1000)  # no event yet: the watcher takes the stage up all the same
    assert (attempt.server_id, attempt.login) in watcher.entries
    move(price_feed, "1.08600", "1.08612")  # a new high: an event for the reinstated stage
    take_in()
    assert watcher.step(limit=1000) > 0
    assert (attempt.server_id, attempt.login) in watcher.entries
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    watcher.checkpoint()  # its state, as loaded after the reinstatement, is written
    attempt.refresh_from_db()
    held = watcher.entries[(attempt.server_id, attempt.login)]
    assert attempt.evaluator_state == held.evaluator.state()
    assert held.attempt.revision == attempt.revision > 0


def test_a_stage_staff_changed_under_the_watcher_is_not_overwritten_by_its_checkpoint(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    move(price_feed, "1.08300", "1.08312")
    take_in()
    watcher = watching()
    watcher.step(limit=1000)
    with_staff = StageAttempt.objects.get(pk=attempt.pk)
    checkpoints.changed(with_staff)  # as a staff intervention does, with its own state
    StageAttempt.objects.filter(pk=attempt.pk).update(evaluator_state={"by": "staff"})
    watcher.checkpoint()
    assert StageAttempt.objects.get(pk=attempt.pk).evaluator_state == {"by": "staff"}
    assert (attempt.server_id, attempt.login) not in watcher.entries  # loaded again next time


def test_monitor_processes_share_the_feeds_evenly_and_take_over_a_dead_ones():
    keys = [f"nats:{p}" for p in range(4)]
    assert checkpoints.share(keys, owner="a") == keys  # alone: every feed
    assert checkpoints.share(keys, owner="b") == []  # joined: nothing free yet
    assert len(checkpoints.share(keys, owner="a")) == 2  # a gives back what is above its share
    held_by_b = checkpoints.share(keys, owner="b")
    assert len(held_by_b) == 2
    assert set(held_by_b).isdisjoint(checkpoints.share(keys, owner="a"))
    # b dies: its leases (and its presence) lapse, a takes everything at its next renewal.
    lapsed = timezone.now() - timedelta(seconds=1)
    MonitorCheckpoint.objects.filter(owner="b").update(lease_until=lapsed)
    assert checkpoints.share(keys, owner="a") == keys


def test_a_monitor_that_lost_its_lease_writes_nothing_more(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    move(price_feed, "1.08300", "1.08312")
    take_in()
    checkpoints.share([key()], owner="a")
    watcher = watching(owner="a")
    watcher.step(limit=1000)
    MonitorCheckpoint.objects.filter(key=key()).update(owner="b")  # taken over meanwhile
    before = StageAttempt.objects.get(pk=attempt.pk).evaluator_state
    with pytest.raises(LostLease):
        watcher.checkpoint()
    assert StageAttempt.objects.get(pk=attempt.pk).evaluator_state == before
    assert MonitorCheckpoint.objects.get(key=key()).position == 0


def test_days_close_up_to_the_last_event_read_on_a_feed_too_busy_to_reach_its_end():
    watcher = FeedWatcher(key())
    now = timezone.now()
    watcher.read_to = now  # never drained: read to the time of its last event
    assert runner._read_to(watcher) == now - timedelta(seconds=runner.GRACE_SECONDS)
    watcher.drained_at = now + timedelta(seconds=3)
    assert runner._read_to(watcher) == now + timedelta(seconds=3 - runner.GRACE_SECONDS)


def test_a_suspension_takes_the_stage_from_a_running_watcher_and_reactivation_gives_it_back(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    price_feed = open_position(attempt)
    take_in()
    watcher = watching()
    watcher.step(limit=1000)
    accounts_services.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    watcher.step(limit=1000)
    assert (attempt.server_id, attempt.login) not in watcher.entries  # on hold
    move(price_feed, "1.08000", "1.08012")  # below the floor while on hold (the platform's
    take_in()  # own fault: the positions stay open), read past by the watcher
    watcher.step(limit=1000)
    watcher.checkpoint()
    assert StageAttempt.objects.get(pk=attempt.pk).status == "in_progress"
    # What the account did meanwhile is applied at the reactivation (up to the checkpoint).
    accounts_services.set_client_suspended(active_client.pk, suspended=False, actor=admin)
    assert StageAttempt.objects.get(pk=attempt.pk).status == "failed"
    watcher.step(limit=1000)
    assert (attempt.server_id, attempt.login) not in watcher.entries


def test_a_monitor_stopping_cleanly_checkpoints_and_gives_its_feeds_back(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    open_position(attempt)
    stopping = runner.Monitor(owner="stopping")
    stopping.round()
    position = stopping.watchers[key()].position
    stopping.close()
    checkpoint = MonitorCheckpoint.objects.get(key=key())
    assert (checkpoint.owner, checkpoint.lease_until) == ("", None)
    assert checkpoint.position == position > 0
    assert not MonitorCheckpoint.objects.filter(owner="stopping").exists()
    assert checkpoints.share([key()], owner="next") == [key()]  # at once, no lease to wait out


def test_a_checkpoint_written_a_few_stages_a_round_moves_only_once_all_are_written(
    active_client, register, finance, admin, monkeypatch
):
    monkeypatch.setattr(watcher_module, "WRITE_AT_ONCE", 1)
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 0.0)
    other, _ = register(email="second@example.com")
    stages = [stage(), stage("live")]
    attempts = [running(c, finance, admin, stages=stages)[1] for c in (active_client, other)]
    price_feed = feed.Feed()
    for attempt in attempts:
        open_position(attempt)
    move(price_feed, "1.08300", "1.08312")  # a snapshot for both accounts
    take_in()
    first = watching()
    first.step(limit=1000)
    first.write_some()  # one stage written, with the position its state reached
    assert MonitorCheckpoint.objects.get(key=key()).position == 0  # not moved yet
    fed = sorted(
        StageAttempt.objects.filter(pk__in=[a.pk for a in attempts]).values_list(
            "fed_through", flat=True
        ),
        key=lambda f: f or 0,
    )
    assert fed == [None, first.position]
    expected = {k: e.evaluator.state() for k, e in first.entries.items()}
    # The process dies here: the next reads from the old checkpoint, skipping for the stage
    # already written the events its state holds.
    again = watching()
    while again.step(limit=1000):
        pass
    assert {k: e.evaluator.state() for k, e in again.entries.items()} == expected
    again.write_some()  # the stage not written yet: with it the checkpoint moves
    assert MonitorCheckpoint.objects.get(key=key()).position == again.position


def held_through_a_snapshot(held_client, held, price_feed, admin):
    """A watcher that has read everything so far and checkpointed; then the client of `held` is
    suspended and a snapshot comes for every account, the held one's too, which the watcher
    reads past (the stage is on hold). Returns the watcher and the held stage's account."""
    take_in()
    watcher = watching()
    watcher.step(limit=1000)
    watcher.checkpoint()
    accounts_services.set_client_suspended(
        held_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    move(price_feed, "1.08300", "1.08312")
    take_in()
    watcher.step(limit=1000)
    account = (held.server_id, held.login)
    assert account not in watcher.entries
    return watcher, account


def test_a_stage_taken_up_while_a_checkpoint_is_under_way_is_written_before_it_moves(
    active_client, register, finance, admin, monkeypatch
):
    """A stage the watcher loads between two rounds of a checkpoint (a reactivation, a retry,
    an account opened) and feeds the events it read since the last checkpoint: the checkpoint
    may not move past those events before the stage's state holding them is written, or a
    restart from it never applies them to the stage."""
    monkeypatch.setattr(watcher_module, "WRITE_AT_ONCE", 1)
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 0.0)
    held_client, _ = register(email="held@example.com")
    third, _ = register(email="third@example.com")
    stages = [stage(), stage("live")]
    attempts = [running(c, finance, admin, stages=stages)[1] for c in (active_client, third)]
    _, held = running(held_client, finance, admin, stages=stages)
    for attempt in [*attempts, held]:
        price_feed = open_position(attempt)
    watcher, account = held_through_a_snapshot(held_client, held, price_feed, admin)
    watcher.write_some()  # a checkpoint of two stages begins: one is written
    assert watcher.cycle
    accounts_services.set_client_suspended(held_client.pk, suspended=False, actor=admin)
    watcher.step(limit=1000)  # the reactivated stage is taken up, fed what was read meanwhile
    expected = watcher.entries[account].evaluator.state()
    watcher.write_some()
    while watcher.cycle:  # the checkpoint's last stages: it moves
        watcher.write_some()
    assert MonitorCheckpoint.objects.get(key=key()).position == watcher.position
    # The process dies here: the next reads on from the checkpoint.
    again = watching()
    while again.step(limit=1000):
        pass
    assert again.entries[account].evaluator.state() == expected


def test_a_stage_staff_hand_back_just_before_a_checkpoint_moves_misses_no_event(
    active_client, register, finance, admin
):
    """Staff apply a stage's missed events up to the feed's checkpoint (a reactivation here; a
    retry and a reinstatement alike) and hand it back to the watcher. When the watcher's
    checkpoint then moves on before it has looked at staff's change (the change commits in
    the middle of its round), the stage it takes up next must still get the events between the
    checkpoint staff read and the one the watcher wrote."""
    from propdesk.platforms import eventlog

    held_client, _ = register(email="held@example.com")
    stages = [stage(), stage("live")]
    _, attempt = running(active_client, finance, admin, stages=stages)
    _, held = running(held_client, finance, admin, stages=stages)
    open_position(attempt)
    price_feed = open_position(held)
    watcher, account = held_through_a_snapshot(held_client, held, price_feed, admin)
    # The reactivation commits while the watcher's round goes on: its checkpoint moves next.
    accounts_services.set_client_suspended(held_client.pk, suspended=False, actor=admin)
    watcher.checkpoint()
    watcher.step(limit=1000)  # staff's change taken up: the stage loaded again
    logged = eventlog.events(held.server_id, login=held.login, limit=10_000)
    assert watcher.entries[account].evaluator.state()["events"] == len(logged)


def test_a_pause_another_process_wrote_already_is_not_acted_on_twice(active_client, finance, admin):
    """Two processes may read one feed for a moment (one stalled past its lease): the second to
    reach a pause (the stage runs on, so its status does not stop it) finds the first's
    position saved and leaves the stage alone."""
    daily = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}
    _, attempt = trading(active_client, finance, admin, max_daily_loss=daily)
    price_feed = open_position(attempt)
    take_in()
    stalled, taker = watching(), watching()
    stalled.step(limit=1000)
    taker.step(limit=1000)
    move(price_feed, "1.08000", "1.08012")  # below the daily floor: trading paused
    take_in()
    accesses = PlatformCommand.objects.filter(subject=attempt.subject, kind="set_access")
    before = accesses.count()
    taker.step(limit=1000)  # the process that took the feed over acts
    assert StageAttempt.objects.get(pk=attempt.pk).paused
    assert accesses.count() == before + 1
    stalled.step(limit=1000)  # the stalled one reaches the same pause
    assert accesses.count() == before + 1
    assert StageAttempt.objects.get(pk=attempt.pk).status == "in_progress"


def test_a_lease_keeper_renews_while_its_monitor_shows_life_and_not_once_it_is_stuck():
    lapsing = timezone.now() + timedelta(seconds=0.5)
    checkpoints.share([key()], owner="a")
    MonitorCheckpoint.objects.filter(key=key()).update(lease_until=lapsing)
    keeper = runner.LeaseKeeper("a")
    keeper.beat()
    assert keeper.renew_once()
    renewed = MonitorCheckpoint.objects.get(key=key()).lease_until
    assert renewed > lapsing
    keeper.alive_at -= runner.STUCK_AFTER + 1  # the monitor's loop has not beaten since
    assert not keeper.renew_once()
    assert MonitorCheckpoint.objects.get(key=key()).lease_until == renewed


def test_a_monitor_loading_the_feeds_it_takes_shows_life_to_its_lease_keeper():
    """A takeover's loads may take longer than `STUCK_AFTER` all told (a second or more a
    feed at firm scale): loading is the loop's work, so the keeper goes on renewing."""
    server()
    monitor = runner.Monitor(owner="a")
    keeper = monitor.keeper = runner.LeaseKeeper("a")
    keeper.alive_at -= runner.STUCK_AFTER + 1  # the loads so far took that long
    monitor.share()  # takes and loads its feed
    assert monitor.watchers
    assert keeper.renew_once()
