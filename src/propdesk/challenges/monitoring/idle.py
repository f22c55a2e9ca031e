"""How an idle monitor waits before it reads the account-event log again, what it waits on, and
the ingestors that fill the log for it (`Ingestors`).

A monitor whose round found nothing does not poll every 10 ms. Until events come, a stage's
day or weekend cutoff is due or `FULL_ROUND_EVERY` passed, it only looks whether anything came
(`news`: each server's ingestor pulls, a cheap look at its platform when nothing is new, and one
indexed query of the log a server), and between looks it waits:

- When every enabled server's ingestor can wake it (the sandbox on PostgreSQL: LISTEN/NOTIFY),
  until a platform says it has news, at most `WOKEN_CAP`. A breach is read as soon as its
  event commits.
- Otherwise (SQLite; a platform that cannot tell) it backs off: a quarter of the time the
  servers have been quiet, at least `every` (10 ms) and at most `IDLE_CAP`. While events flow
  (quiet for a few milliseconds between two writes of the feed) that is `every`, as before;
  after a long quiet a breach waits at most `IDLE_CAP` before it is read, and the first batch
  that finds events brings the fast looks back.
- Never past the next instant the clock alone acts on a running stage (its evaluator's
  `next_due`: its day's end or a weekend cutoff, plus the grace with which days are closed), so
  that day-end rules and weekend cutoffs act on time with no events at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from propdesk.platforms import adapters, eventlog
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import EventWaiter, Ingestor

logger = logging.getLogger(__name__)

IDLE_CAP = 0.5  # seconds: the longest look-again when no platform can wake the monitor
WOKEN_CAP = 2.0  # seconds: the safety look when every platform can
FULL_ROUND_EVERY = 2.0  # seconds: idle, a whole round (servers, stages' days) at least this often
QUIET_SHARE = 0.25  # idle: wait a quarter of the quiet so far (so at most a quarter is added)
REST_FIRST = 1.0  # seconds: a failing ingestor is not asked again before this, then twice as long
REST_CAP = 30.0  # ... up to this, until it pulls again


class Backoff:
    """The pause between two looks of an idle monitor: `read` after each round, then `pause`."""

    def __init__(self, *, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.quiet_since = clock()
        self.looked_at = time.monotonic()  # the last look whether events came (`news`)

    def read(self, count: int) -> None:
        """A round read `count` events: any at all make the servers busy again."""
        if count:
            self.quiet_since = self.clock()

    def pause(self, *, woken: bool, due_in: float | None = None) -> float:
        """Seconds to wait: see the module's note. `woken`: every platform wakes the monitor
        when it has news. `due_in`: seconds until the clock next acts on a stage (its day's
        close, a weekend cutoff; negative: overdue), None when no running stage keeps a day."""
        if woken:
            pause = WOKEN_CAP
        else:
            quiet = self.clock() - self.quiet_since
            pause = min(IDLE_CAP, quiet * QUIET_SHARE)
        if due_in is not None:
            pause = min(pause, due_in)
        return max(self.every, pause)


@dataclass
class _Feed:
    """One server's ingestor as the monitor keeps it."""

    made_for: tuple[Any, ...]  # the server's connection settings it was made with
    ingestor: Ingestor | None = None
    waiter: EventWaiter | None = None
    waiter_asked: bool = False
    rest: float = 0.0  # seconds the failing ingestor rests (0: it does not fail)
    rests_until: float = 0.0


class Ingestors:
    """The monitor's ingestors, one per server, made on first use from its adapter (again when
    staff change the server's connection) and closed by `close`, with their waiters. A failing
    ingestor (a `PlatformError`, a fault, no adapter at all) is logged and rests, its server
    skipped, from `REST_FIRST` to `REST_CAP` seconds, so that a platform that is away costs
    neither a call every round nor a traceback every 10 ms."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._feeds: dict[int, _Feed] = {}

    def pull(self, server: TradingServer) -> int | None:
        """Take in the server's new events; how many were appended to the log, or None when its
        ingestor failed now (logged) or still rests after failing."""
        feed = self._feed(server)
        if feed.rest and self.clock() < feed.rests_until:
            return None
        try:
            if feed.ingestor is None:
                feed.ingestor = adapters.platform(server).ingestor()
            pulled = feed.ingestor.pull()
        except Exception:
            feed.rest = min(REST_CAP, feed.rest * 2) if feed.rest else REST_FIRST
            feed.rests_until = self.clock() + feed.rest
            logger.exception(
                "monitor: taking in the events of server %s (next try in %g s)",
                server.name,
                feed.rest,
            )
            return None
        feed.rest = 0.0
        return pulled

    def waiter(self, server: TradingServer) -> EventWaiter | None:
        feed = self._feed(server)
        if not feed.waiter_asked:
            feed.waiter_asked = True
            try:
                if feed.ingestor is None:
                    feed.ingestor = adapters.platform(server).ingestor()
                feed.waiter = feed.ingestor.waiter()
            except Exception:  # e.g. no adapter for its kind: the monitor polls it
                logger.exception("monitor: no waiter for server %s", server.name)
        return feed.waiter

    def _feed(self, server: TradingServer) -> _Feed:
        made_for = (server.kind, server.base_url, server.sealed_api_key, server.offers)
        feed = self._feeds.get(server.pk)
        if feed is not None and feed.made_for != made_for:
            _close(feed)
            feed = None
        if feed is None:
            feed = self._feeds[server.pk] = _Feed(made_for=made_for)
        return feed

    def wakes(self, servers: list[TradingServer]) -> bool:
        """Every server's ingestor wakes the monitor when its platform has news."""
        return bool(servers) and all(self.waiter(server) is not None for server in servers)

    def wait(
        self,
        servers: list[TradingServer],
        timeout: float,
        seen: dict[int, int] | None = None,
        stop: Any = None,
    ) -> bool:
        """Wait `timeout` seconds, or less: until a platform says it has news (True), or `stop`
        is set (`seen`: the monitor's cursor, by server, for the waiters). Several servers that
        can wake the monitor share the time, each waited on in turn; with none, it sleeps."""
        waiting = [(s, w) for s in servers if (w := self.waiter(s)) is not None]
        if not waiting:
            sleep(timeout, stop)
            return False
        positions = seen or {}
        share = timeout / len(waiting)
        for server, waiter in waiting:
            if stop is not None and stop.is_set():
                break
            try:
                if waiter.wait(after=positions.get(server.pk, 0), timeout=share):
                    return True
            except Exception:
                logger.exception("monitor: waiting on server %s", server.name)
                sleep(share, stop)
        return False

    def drain(self) -> None:
        """Take in what the waiters were told while the monitor was busy reading (it reads on
        anyway): a listener left unread while events keep coming would fill the database's
        notification queue."""
        for feed in self._feeds.values():
            try:
                if feed.waiter is not None:
                    feed.waiter.wait(after=0, timeout=0)
            except Exception:
                logger.exception("monitor: draining a waiter")

    def close(self) -> None:
        for feed in self._feeds.values():
            _close(feed)
        self._feeds.clear()


def _close(feed: _Feed) -> None:
    for part in (feed.waiter, feed.ingestor):
        try:
            if part is not None:
                part.close()
        except Exception:
            logger.exception("monitor: closing an ingestor or its waiter")


def until_news(
    servers: list[TradingServer],
    *,
    backoff: Backoff,
    ingestors: Ingestors,
    seen: dict[int, int],
    due_in: float | None,
    stop: Any = None,
) -> bool:
    """Idle: wait and look (`news`) until events came (True), a stage is due (`due_in`
    seconds, as `Backoff.pause` takes it), `FULL_ROUND_EVERY` passed, or `stop` is set.
    `seen`: how far the monitor has read each server's log."""
    horizon = FULL_ROUND_EVERY if due_in is None else min(FULL_ROUND_EVERY, due_in)
    ends = time.monotonic() + horizon
    woken = ingestors.wakes(servers)
    while stop is None or not stop.is_set():
        pause = backoff.pause(woken=woken, due_in=ends - time.monotonic())
        woke = ingestors.wait(servers, pause, seen, stop)
        now = time.monotonic()
        # Platforms that wake the monitor are looked at when they do, and as a safety every
        # WOKEN_CAP (a wait cut short by a lease renewal is no reason to look).
        if woke or not woken or now - backoff.looked_at >= WOKEN_CAP:
            backoff.looked_at = now
            if news(servers, seen, ingestors=ingestors):
                return True
        if now >= ends:
            return False
    return False


def news(servers: list[TradingServer], seen: dict[int, int], *, ingestors: Ingestors) -> bool:
    """Whether a server has events past the monitor's cursor (`seen`, by server): its ingestor
    pulls (when nothing is new a cheap look at the platform, no write), then one indexed query
    of the log, not a batch's transaction. True on the log's fault too: a round looks. A server
    whose ingestor fails is passed over (its round skips it anyway)."""
    for server in servers:
        pulled = ingestors.pull(server)
        if pulled is None:
            continue
        if pulled:
            return True
        try:
            if eventlog.has_events(server, after=seen.get(server.pk, 0)):
                return True
        except Exception:
            logger.exception("monitor: looking at server %s", server.name)
            return True
    return False


def sleep(seconds: float, stop: Any = None) -> None:
    """Sleep, or less if `stop` (a threading.Event) is set meanwhile."""
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)
