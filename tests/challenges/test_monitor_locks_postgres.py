"""The monitor's lock order on PostgreSQL: the feeds' checkpoint rows are taken before any
stage or participation, by staff, the suspensions and the stages' openings alike."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from propdesk.accounts import services as accounts
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import checkpoints
from propdesk.challenges.participation import lifecycle
from propdesk.platforms.sandbox import feed
from tests.challenges.factories import D, running, stage
from tests.support import carry_out_platform_commands

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]


def together(*work: Callable[[], None]) -> list[BaseException]:
    """Run each on a thread of its own (its own database connection, closed after), and
    return what they raised (a deadlock PostgreSQL broke, for one)."""
    failures: list[BaseException] = []

    def run(one: Callable[[], None]) -> None:
        try:
            one()
        except BaseException as exc:  # what the thread met, for the assert
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(one,)) for one in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return failures


def suspension_order(
    key: str, first: StageAttempt, second: StageAttempt, staff_locked: threading.Event
) -> Callable[[], None]:
    """A suspension's locks: the feed's row, then the client's stages by id, the first one
    held half a second (the monitor takes what it takes meanwhile)."""

    def work() -> None:
        with transaction.atomic():
            checkpoints.lock(key)
            StageAttempt.objects.select_for_update().get(pk=first.pk)
            staff_locked.set()
            time.sleep(0.5)
            StageAttempt.objects.select_for_update().get(pk=second.pk)

    return work


def test_a_stage_opening_for_a_suspended_client_does_not_deadlock_with_the_reactivation(
    active_client, finance, admin
):
    """An opening holds the participation's lock and holds the new stage (the client is
    suspended); the reactivation takes the feeds' checkpoints, then the stages, then the
    participations. Holding the new stage may not wait for a checkpoint row after the
    participation's lock, or the two wait for each other (PostgreSQL ends one with a
    deadlock)."""
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage(), stage()])
    accounts.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    carry_out_platform_commands()
    opening_locked = threading.Event()
    reactivating = threading.Event()

    def opening() -> None:
        with transaction.atomic():
            # An approval's or the monitor's opening: the participation first, as
            # open_stage takes it (and the approval's request before it).
            Participation.objects.select_for_update().get(pk=joined.pk)
            opening_locked.set()
            reactivating.wait(10)
            time.sleep(0.3)  # the reactivation holds the checkpoints and waits for us
            lifecycle.open_stage(joined, 1)

    def reactivation() -> None:
        opening_locked.wait(10)
        reactivating.set()
        accounts.set_client_suspended(active_client.pk, suspended=False, actor=admin)

    assert together(opening, reactivation) == []
    opened = StageAttempt.objects.get(participation=joined, stage=1)
    # Opened held (the client was suspended then), and released by the reactivation, which
    # reads the stages again once it has the participation's lock.
    assert opened.status == "in_progress"
    assert opened.held_after is None


def test_a_batch_acting_on_two_stages_of_a_client_takes_them_in_the_suspensions_order(
    active_client, finance, admin
):
    """The watcher writes the stages its rules acted on in one transaction; a suspension
    (suspension._lock_all) locks the client's stages by id after the feeds' checkpoints. A
    batch that met the later stage's breach first and took its row first would wait for the
    earlier stage while the suspension, holding it, waits for the later: a deadlock, and a
    stage set aside or a suspension refused for it."""
    from propdesk.challenges.monitoring.watcher import FeedWatcher
    from propdesk.platforms.sandbox import accounts as sandbox_accounts
    from propdesk.platforms.sandbox import orders, ticks
    from propdesk.platforms.sandbox.ingestor import SandboxIngestor
    from tests.challenges.factories import D, move, server

    _, first = running(active_client, finance, admin, stages=[stage(), stage()])
    _, second = running(active_client, finance, admin, stages=[stage(), stage()], name="Other")
    assert first.pk < second.pk
    key = f"log:{server().pk}"
    watcher = FeedWatcher(key)
    watcher.load()
    SandboxIngestor(server()).pull()
    watcher.step(limit=1000)  # the accounts' openings
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    second_account = sandbox_accounts.account_by_login(second.login)
    orders.place_order(second_account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.08000", "1.08012")  # the second stage's breach, first in the feed
    first_account = sandbox_accounts.account_by_login(first.login)
    orders.place_order(first_account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.07500", "1.07512")  # then the first's
    SandboxIngestor(server()).pull()
    staff_locked = threading.Event()

    def batch() -> None:
        staff_locked.wait(10)
        watcher.step(limit=1000)

    assert together(suspension_order(key, first, second, staff_locked), batch) == []
    for attempt in (first, second):
        attempt.refresh_from_db()
        assert (attempt.status, attempt.monitor_error) == ("failed", "")


def test_a_checkpoint_writing_two_stages_of_a_client_takes_them_in_the_suspensions_order(
    active_client, finance, admin
):
    """A checkpoint writes its stages' states in one UPDATE; a suspension locks the client's
    stages by id. Rows the UPDATE takes in another order (the watcher holds its stages in the
    order it loaded them) deadlock with it."""
    from propdesk.challenges.monitoring import checkpoints
    from propdesk.challenges.monitoring.watcher import FeedWatcher
    from propdesk.platforms.sandbox import accounts as sandbox_accounts
    from propdesk.platforms.sandbox import orders, ticks
    from propdesk.platforms.sandbox.ingestor import SandboxIngestor
    from tests.challenges.factories import move, server

    _, first = running(active_client, finance, admin, stages=[stage(), stage()])
    _, second = running(active_client, finance, admin, stages=[stage(), stage()], name="Other")
    key = f"log:{server().pk}"
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    for attempt in (first, second):
        account = sandbox_accounts.account_by_login(attempt.login)
        orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    SandboxIngestor(server()).pull()
    watcher = FeedWatcher(key)
    watcher.load()
    watcher.step(limit=1000)
    watcher.checkpoint()
    with transaction.atomic():  # staff touched the first: the watcher loads it again, last
        checkpoints.lock(key)
        checkpoints.changed(StageAttempt.objects.select_for_update().get(pk=first.pk))
    watcher.step(limit=1000)
    assert [e.attempt.pk for e in watcher.entries.values()] == [second.pk, first.pk]
    move(feed.Feed(), "1.08400", "1.08412")  # both stages change
    SandboxIngestor(server()).pull()
    watcher.step(limit=1000)
    staff_locked = threading.Event()

    def checkpoint() -> None:
        staff_locked.wait(10)
        watcher.checkpoint()

    assert together(suspension_order(key, first, second, staff_locked), checkpoint) == []


def test_a_monitors_lease_keeper_renewing_while_its_loop_shares_the_feeds_does_not_deadlock():
    """The keeper renews on a thread of its own while the loop shares: both lock the feeds'
    rows in the order of their keys (an UPDATE alone took them in the order it found them,
    and PostgreSQL broke a deadlock within a few seconds of the two in a loop)."""
    keys = [f"nats:{p}" for p in range(32)]
    checkpoints.share(keys, owner="a")
    ends = time.monotonic() + 3.0

    def sharing() -> None:
        while time.monotonic() < ends:
            checkpoints.share(keys, owner="a")

    def renewing() -> None:
        while time.monotonic() < ends:
            checkpoints.renew(owner="a")

    assert together(sharing, renewing) == []
