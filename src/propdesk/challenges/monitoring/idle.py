"""How an idle monitor waits before it reads the streams again, and what it waits on.

A monitor whose round found nothing does not poll every 10 ms. Until events come, a stage's
day is due or `FULL_ROUND_EVERY` passed, it only looks whether anything came (one indexed
query a server, `news`), and between looks it waits:

- When every enabled server's platform can wake it (the sandbox on PostgreSQL: LISTEN/NOTIFY),
  until a platform says its stream moved, at most `WOKEN_CAP`. A breach is read as soon as its
  event commits.
- Otherwise (SQLite; a platform that cannot tell) it backs off: a quarter of the time the
  streams have been quiet, at least `every` (10 ms) and at most `IDLE_CAP`. While events flow
  (quiet for a few milliseconds between two writes of the feed) that is `every`, as before;
  after a long quiet a breach waits at most `IDLE_CAP` before it is read, and the first batch
  that finds events brings the fast looks back.
- Never past the next day end of a running stage (its `day_end`, plus the grace with which days
  are closed), so that day-end rules act on time with no events at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from propdesk.challenges.models import MonitorCursor
from propdesk.platforms import adapters
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import EventWaiter

logger = logging.getLogger(__name__)

IDLE_CAP = 0.5  # seconds: the longest look-again when no platform can wake the monitor
WOKEN_CAP = 2.0  # seconds: the safety look when every platform can
FULL_ROUND_EVERY = 2.0  # seconds: idle, a whole round (servers, stages' days) at least this often
QUIET_SHARE = 0.25  # idle: wait a quarter of the quiet so far (so at most a quarter is added)


class Backoff:
    """The pause between two looks of an idle monitor: `read` after each round, then `pause`."""

    def __init__(self, *, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.quiet_since = clock()

    def read(self, count: int) -> None:
        """A round read `count` events: any at all make the streams busy again."""
        if count:
            self.quiet_since = self.clock()

    def pause(self, *, woken: bool, due_in: float | None = None) -> float:
        """Seconds to wait: see the module's note. `woken`: every platform wakes the monitor
        when its stream moves. `due_in`: seconds until the next stage's day is due to close
        (negative: overdue), None when no running stage keeps a day."""
        if woken:
            pause = WOKEN_CAP
        else:
            quiet = self.clock() - self.quiet_since
            pause = min(IDLE_CAP, quiet * QUIET_SHARE)
        if due_in is not None:
            pause = min(pause, due_in)
        return max(self.every, pause)


class Waiting:
    """The monitor's waiters, one per server whose platform offers one (made on first use,
    closed by `close`)."""

    def __init__(self) -> None:
        self._waiters: dict[tuple[int, str], EventWaiter | None] = {}

    def waiter(self, server: TradingServer) -> EventWaiter | None:
        key = (server.pk, server.kind)
        if key not in self._waiters:
            try:
                self._waiters[key] = adapters.event_waiter(adapters.platform(server))
            except Exception:  # e.g. no adapter for its kind: the monitor polls it
                logger.exception("monitor: no waiter for server %s", server.name)
                self._waiters[key] = None
        return self._waiters[key]

    def wakes(self, servers: list[TradingServer]) -> bool:
        """Every server's platform wakes the monitor when its stream moves."""
        return bool(servers) and all(self.waiter(server) is not None for server in servers)

    def wait(
        self,
        servers: list[TradingServer],
        timeout: float,
        seen: dict[int, int] | None = None,
        stop: Any = None,
    ) -> bool:
        """Wait `timeout` seconds, or less: until a platform says its stream moved past the
        monitor's cursor (`seen`, by server) (True), or `stop` is set. Several servers that can
        wake the monitor share the time, each waited on in turn; with none, it sleeps."""
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
        for waiter in self._waiters.values():
            try:
                if waiter is not None:
                    waiter.wait(after=0, timeout=0)
            except Exception:
                logger.exception("monitor: draining a waiter")

    def close(self) -> None:
        for waiter in self._waiters.values():
            try:
                if waiter is not None:
                    waiter.close()
            except Exception:
                logger.exception("monitor: closing a waiter")
        self._waiters.clear()


def until_news(
    servers: list[TradingServer],
    *,
    backoff: Backoff,
    waiting: Waiting,
    due_in: float | None,
    stop: Any = None,
) -> None:
    """Idle: wait and look (`news`) until events came, the next day is due (`due_in` seconds,
    as `Backoff.pause` takes it), `FULL_ROUND_EVERY` passed, or `stop` is set."""
    horizon = FULL_ROUND_EVERY if due_in is None else min(FULL_ROUND_EVERY, due_in)
    ends = time.monotonic() + horizon
    woken = waiting.wakes(servers)
    try:
        seen = dict(
            MonitorCursor.objects.filter(server__in=servers).values_list("server_id", "position")
        )
    except Exception:  # the database: the round that follows says what is wrong
        logger.exception("monitor: reading the cursors")
        sleep(backoff.pause(woken=False), stop)
        return
    while stop is None or not stop.is_set():
        pause = backoff.pause(woken=woken, due_in=ends - time.monotonic())
        waiting.wait(servers, pause, seen, stop)
        if time.monotonic() >= ends or news(servers, seen):
            return


def news(servers: list[TradingServer], seen: dict[int, int]) -> bool:
    """Whether a server's stream holds events after the monitor's cursor (`seen`, by server):
    one query each, not a batch's transaction (on the stream's id, not by server: a quiet server
    beside a busy one reads past the busy one's events). True on a fault too: a round looks."""
    for server in servers:
        try:
            platform = adapters.platform(server)
            if adapters.has_events(platform, after=seen.get(server.pk, 0)):
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
