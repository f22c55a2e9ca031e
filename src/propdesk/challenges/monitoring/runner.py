"""`propdesk monitor`: the long-running monitor process (`run`).

It reads the feeds of the account-event log it holds the leases of (checkpoints.share: with the
database log one feed per trading server, with NATS one per partition; any number of monitor
processes share them, and a dead one's move to the others within seconds), each through a
`FeedWatcher` that keeps the feed's running stages in memory and checkpoints them about every
second. Each round:

- the ingestors of the servers it takes events in for pull (the database log: the servers whose
  feeds it holds; NATS: the servers whose `ingest:<server>` lease it holds), so a platform's
  events reach the rules within the same round;
- each feed is read (a batch) and its verdicts acted on at once; the access changes they decided
  are carried out on a thread of its own (`monitor.Carrier`);
- the days that ended (and the weekend cutoffs that passed) are closed, a few stages at a time,
  up to the moment the feed was read to: the last time it was read to its end, or, on a feed
  so busy it never is, the time of the last event read (a little behind either:
  `GRACE_SECONDS`), so the clock acts even on a busy feed;
- a feed whose checkpoint is due is checkpointed, a few hundred stages a round so that no
  round stalls on it, then its position and lag (events and seconds behind its end, which
  staff see on the monitor's page);
- the feeds read without an error are marked so (`checkpoints.mark_read`, about every second,
  idle rounds too): /readyz fails on a feed whose reads keep failing, whatever its last lag.

Idle (a round read nothing), it waits as monitoring.idle says: woken by the platforms that can
(the sandbox on PostgreSQL), polling with a back-off otherwise, never past a stage's next due
time (a day's end, a weekend cutoff).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone

from propdesk.challenges.monitoring import checkpoints, decisions, idle
from propdesk.challenges.monitoring.monitor import BATCH, Carrier
from propdesk.challenges.monitoring.watcher import FeedWatcher, LostLease
from propdesk.platforms import feeds, outbox
from propdesk.platforms.models import TradingServer

logger = logging.getLogger(__name__)

GRACE_SECONDS = 5.0  # snapshots are stamped before they commit: days close this much behind
DAYS_AT_ONCE = 100  # stages whose day is closed between two reads of a feed
STUCK_AFTER = 10.0  # seconds without a sign of life from a monitor's loop: its leases lapse
NATS_SLICE = 0.025  # seconds: an idle NATS monitor's turns between its partitions and platforms


class Monitor:
    """One monitor process's feeds and ingestors."""

    def __init__(
        self, *, owner: str | None = None, every: float = 0.01, clock: Any = timezone.now
    ) -> None:
        self.owner = owner or checkpoints.me()
        self.clock = clock
        self.watchers: dict[str, FeedWatcher] = {}
        self.ingest: list[TradingServer] = []  # the servers whose events this process takes in
        self.servers: list[TradingServer] = []
        self.ingestors = idle.Ingestors()
        self.carrier = Carrier()
        self.backoff = idle.Backoff(every=every)
        self.shared_at = self.renewed_at = -1e9
        self.keeper: LeaseKeeper | None = None  # `run`'s: renews the leases on its own thread
        self.read_well: set[str] = set()  # feeds read without an error since the last mark
        self.marked_at = -1e9

    def share(self) -> None:
        """Renew the leases, take or give back feeds (loading a feed taken: its running
        stages, from its checkpoint), and the servers to take events in for.

        With NATS the ingest duties' leases are renewed first and the feeds' loaded last: a dead
        process's ingest lease lapses no later than its feeds', so the process that takes its
        feeds over takes its ingestors in the same renewal, and takes events in again without
        waiting for the feeds' loading (every feed's events, its own ones' too, wait for it)."""
        self.servers = list(TradingServer.objects.filter(enabled=True))
        ids = [s.pk for s in self.servers]
        duties: list[str] | None = None
        if feeds.using_nats():
            duties = checkpoints.share([f"ingest:{pk}" for pk in ids], owner=self.owner)
        held = checkpoints.share(checkpoints.all_feed_keys(ids), owner=self.owner)
        mine = {int(k.split(":")[1]) for k in (held if duties is None else duties)}
        self.ingest = [s for s in self.servers if s.pk in mine]
        dropped = [key for key in self.watchers if key not in held]
        for key in dropped:
            self._drop(key)  # given back or taken over: its reader resumes it
        taken = [key for key in held if key not in self.watchers]
        decisions.feeds_changed(self.owner, taken, dropped)
        for key in taken:
            watcher = FeedWatcher(key, owner=self.owner)
            watcher.load()
            self.watchers[key] = watcher
            checkpoints.renew(owner=self.owner)  # a load may take longer than a lease
            if self.keeper is not None:
                self.keeper.beat()  # ... and the loads, all told, than `STUCK_AFTER`
        self.shared_at = self.renewed_at = time.monotonic()

    def round(self) -> int:
        """Pull, read each feed once, close the days due, checkpoint what is due; returns how
        many events were read."""
        if not self._keep_leases():
            return 0
        began = self.clock()
        for server in self.ingest:
            self.ingestors.pull(server)  # a failing one is logged and rests
            self._renew_if_due()
        count = 0
        for key, watcher in list(self.watchers.items()):
            since = outbox.mark()
            try:
                count += watcher.step(limit=BATCH, began=began)
                reached = _read_to(watcher)
                if reached is not None:
                    watcher.close_days(reached, limit=DAYS_AT_ONCE)
                watcher.write_some(measure=functools.partial(_lag, watcher))
                self.read_well.add(key)
                self._renew_if_due()  # a long round keeps its leases too
            except LostLease as exc:
                self.read_well.discard(key)
                decisions.lease_lost(key, self.owner, exc)
                self._drop(key)
            except Exception:
                logger.exception("monitor: feed %s (loaded again from its checkpoint)", key)
                self.read_well.discard(key)
                self._drop(key)
                self.shared_at = -1e9  # the next round takes it again
                close_old_connections()
            self.carrier(since)
        self._mark_reads()
        self.backoff.read(count)
        if count:
            # What the platforms' waiters were told while this read on anyway: a listener
            # left unread while events keep coming fills the database's notification queue.
            self.ingestors.drain()
        return count

    def _mark_reads(self) -> None:
        """Write which feeds were read without an error, every `READ_MARK_EVERY` seconds (not
        a write a round: an idle round comes every few milliseconds)."""
        if time.monotonic() - self.marked_at < checkpoints.READ_MARK_EVERY:
            return
        read = sorted(key for key in self.read_well if key in self.watchers)
        self.read_well.clear()
        self.marked_at = time.monotonic()
        if not read:
            return
        try:
            checkpoints.mark_read(read, owner=self.owner)
        except Exception:
            logger.exception("monitor: marking the feeds read")
            close_old_connections()

    def _renew_if_due(self) -> None:
        if time.monotonic() - self.renewed_at < checkpoints.RENEW_EVERY:
            return
        if self.keeper is not None:
            self.keeper.beat()  # the keeper renews them, while it hears from this loop
        else:
            checkpoints.renew(owner=self.owner)
        self.renewed_at = time.monotonic()

    def _keep_leases(self) -> bool:
        """Share the feeds again every `SHARE_EVERY` seconds (a dead process's to take over, a
        newcomer's to give), and between two, renew the leases held every `RENEW_EVERY` (one
        UPDATE). False when the database is away (logged; a second's pause)."""
        now = time.monotonic()
        try:
            if now - self.shared_at >= checkpoints.SHARE_EVERY:
                self.share()
            else:
                self._renew_if_due()
        except Exception:  # the database is away: its feeds wait, the monitor goes on
            logger.exception("monitor: renewing the leases")
            close_old_connections()
            time.sleep(1.0)
            return False
        return True

    def wait(self, stop: Any) -> None:
        """Idle: until a feed may have news, a stage is due, the feeds held change or a whole
        round is due (`idle.FULL_ROUND_EVERY`), keeping the leases meanwhile (a quiet monitor's
        feeds are not taken from it; a dead one's are taken over)."""
        started = time.monotonic()
        while stop is None or not stop.is_set():
            now = time.monotonic()
            lease_in = min(
                checkpoints.SHARE_EVERY - (now - self.shared_at),
                checkpoints.RENEW_EVERY - (now - self.renewed_at),
            )
            round_in = idle.FULL_ROUND_EVERY - (now - started)
            due_in = self._next_due_in()
            until = min(lease_in, round_in, round_in if due_in is None else due_in)
            if self._wait_once(max(self.backoff.every, until), stop):
                return
            if time.monotonic() - started >= idle.FULL_ROUND_EVERY:
                return
            if due_in is not None and due_in <= until:
                return  # a stage is due (a day end, a weekend cutoff)
            held = set(self.watchers)
            if not self._keep_leases() or set(self.watchers) != held:
                return  # the feeds held changed: a round now

    def _wait_once(self, timeout: float, stop: Any) -> bool:
        """Wait up to `timeout` seconds; True when a feed may have news."""
        if feeds.using_nats():
            return self._wait_on_nats(timeout, stop)
        seen = {w.feed.server_id: w.position for w in self._log_watchers()}
        servers = [s for s in self.servers if s.pk in seen]
        return idle.until_news(
            servers,
            seen=seen,
            backoff=self.backoff,
            ingestors=self.ingestors,
            due_in=timeout,
            stop=stop,
        )

    def _drop(self, key: str) -> None:
        watcher = self.watchers.pop(key)
        try:
            watcher.feed.close()
        except Exception:
            logger.exception("monitor: closing feed %s", key)

    def _wait_on_nats(self, timeout: float, stop: Any) -> bool:
        """NATS: a process that takes a server's events in must also wake when that platform
        has news (its events reach the partitions only through this process's pull): it
        waits on its partitions and on those platforms in turn, a few tens of milliseconds
        each; platforms that cannot wake it are pulled after each back-off's pause (as
        `idle.news` does with the database log: at most `IDLE_CAP` apart, not a whole round
        every slice)."""
        if not self.ingest:
            return self._wait_on_partitions(timeout, stop)
        wakes = self.ingestors.wakes(self.ingest)
        ends = time.monotonic() + timeout
        while (left := ends - time.monotonic()) > 0 and (stop is None or not stop.is_set()):
            if not wakes:
                pause = self.backoff.pause(woken=False, due_in=left)
                if self._wait_on_partitions(pause, stop):
                    return True
                if any(self.ingestors.pull(server) for server in self.ingest):
                    return True  # events taken in (a failing ingestor's None is no news)
                continue
            if self._wait_on_partitions(min(NATS_SLICE, left), stop):
                return True
            if self.ingestors.wait(self.ingest, min(NATS_SLICE, left), None, stop):
                return True
        return False

    def _wait_on_partitions(self, timeout: float, stop: Any) -> bool:
        """NATS: wait in the server for the next event of a partition held (each in turn, the
        time shared), or sleep when none is held; True when one has news."""
        held = list(self.watchers.values())
        if not held:
            idle.sleep(timeout, stop)
            return False
        each = timeout / len(held)
        for watcher in held:
            if stop is not None and stop.is_set():
                return False
            try:
                if watcher.feed.wait(after=watcher.position, timeout=each):  # type: ignore[attr-defined]
                    return True
            except Exception:
                logger.exception("monitor: waiting on %s", watcher.key)
                idle.sleep(each, stop)
        return False

    def _log_watchers(self) -> list[Any]:
        return [w for w in self.watchers.values() if isinstance(w.feed, feeds.LogFeed)]

    def _next_due_in(self) -> float | None:
        """Seconds until the clock alone next acts on a stage held (a day end, a weekend
        cutoff), with the grace days close behind; None when no stage keeps one."""
        ends = [e for w in self.watchers.values() if (e := w.soonest_due()) is not None]
        if not ends:
            return None
        return (min(ends) - self.clock()).total_seconds() + GRACE_SECONDS

    def close(self) -> None:
        """Checkpoint every feed held and give the leases back (another process takes them
        at once), then close the ingestors and the carrier."""
        for key, watcher in self.watchers.items():
            try:
                watcher.checkpoint()
                watcher.feed.close()
            except Exception:
                logger.exception("monitor: last checkpoint of %s", key)
        try:
            checkpoints.release(list(self.watchers), owner=self.owner)
            checkpoints.release([f"ingest:{s.pk}" for s in self.ingest], owner=self.owner)
        except Exception:
            logger.exception("monitor: giving the leases back")
        self.ingestors.close()
        self.carrier.close()


def _read_to(watcher: FeedWatcher) -> datetime | None:
    """The moment up to which the feed's days may close: read to its end then (or its events
    read up to then), less the grace."""
    marks = [m for m in (watcher.drained_at, watcher.read_to) if m is not None]
    if not marks:
        return None
    return max(marks) - timedelta(seconds=GRACE_SECONDS)


def _lag(watcher: FeedWatcher) -> feeds.Lag | None:
    """The feed's lag, measured only when its last read was a full batch: one that came back
    short read the feed to its end a moment ago."""
    if not watcher.behind:
        return feeds.Lag(0, 0.0)
    try:
        return watcher.feed.lag(after=watcher.position)
    except Exception:
        logger.exception("monitor: measuring the lag of %s", watcher.key)
        return None


class LeaseKeeper(threading.Thread):
    """Renews a monitor process's leases every `RENEW_EVERY` on a thread (and a database
    connection) of its own, so that a round or a wait held up by a slow call (a NATS server
    that answers late, a long query) does not lose them; but only while the process's loop
    shows life (`beat`) within `STUCK_AFTER` seconds: a stuck process lets its feeds go."""

    def __init__(self, owner: str) -> None:
        super().__init__(name="monitor-leases", daemon=True)
        self.owner = owner
        self.alive_at = time.monotonic()
        self.stopping = threading.Event()

    def beat(self) -> None:
        self.alive_at = time.monotonic()

    def run(self) -> None:
        try:
            while not self.stopping.wait(checkpoints.RENEW_EVERY):
                try:
                    self.renew_once()
                except Exception:
                    logger.exception("monitor: renewing the leases")
                    close_old_connections()
        finally:
            connections.close_all()

    def renew_once(self) -> bool:
        """Renew the leases unless the loop has not been heard from lately; whether it did."""
        if time.monotonic() - self.alive_at > STUCK_AFTER:
            return False
        checkpoints.renew(owner=self.owner)
        return True

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def run(
    *, every: float = 0.01, stop: Any = None, owner: str | None = None, clock: Any = timezone.now
) -> None:
    """`propdesk monitor`, until `stop` (a threading.Event) is set. `clock`: the time days
    close by (the tests' own)."""
    monitor = Monitor(owner=owner, every=every, clock=clock)
    keeper = LeaseKeeper(monitor.owner)
    monitor.keeper = keeper
    keeper.start()
    try:
        while stop is None or not stop.is_set():
            keeper.beat()
            if not monitor.round():
                monitor.wait(stop)
    finally:
        monitor.close()  # its last checkpoints, its leases renewed meanwhile; then given back
        keeper.stop()
