"""What the monitor reads account events from: a *feed*, one part of the account-event log with a
position of its own, and whose checkpoint (`challenges.MonitorCheckpoint`) is kept under the
feed's `key`.

- The database log (the default): one feed per trading server (`LogFeed`, key `log:<server>`),
  its positions the log's ids.
- NATS JetStream (`PROPDESK_EVENT_LOG=nats://...`): one feed per partition of the accounts
  (`natsfeed.NatsFeed`, key `nats:<partition>`), its positions the stream's sequence numbers;
  an account's events all fall in the partition `natslog.partition_of(login)`.

A feed gives its events in order, each with its position (increasing within the feed), its
trading server, its account's login and the payload of docs/rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from propdesk.platforms import eventlog, natslog
from propdesk.platforms.models import LoggedEvent, TradingServer


class FeedEvent(NamedTuple):
    position: int
    server_id: int
    login: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Lag:
    """How far a reader at some position is behind its feed's end."""

    events: int  # events after the position (counted up to a cap: `at_least` then)
    seconds: float  # since the oldest of them was taken in (0 when none)
    at_least: bool = False


class Feed(Protocol):
    key: str  # the checkpoint's name

    def read(self, *, after: int, limit: int) -> list[FeedEvent]:
        """The events after position `after`, oldest first, about `limit` of them."""
        ...

    def account_events(
        self, server_id: int, login: str, *, after: int, upto: int
    ) -> list[FeedEvent]:
        """One account's events with positions in (after, upto], oldest first."""
        ...

    def lag(self, *, after: int) -> Lag: ...

    def close(self) -> None: ...


def feed_key_for(server_id: int, login: str) -> str:
    """The key of the feed that carries an account's events, with the event log configured
    (settings.EVENT_LOG): its partition's in NATS mode, else its server's."""
    if natslog.enabled():
        return natslog.feed_key(server_id, login)
    return f"log:{server_id}"


LAG_CAP = 1_000_000  # events counted at most when the lag is asked


class LogFeed:
    """A trading server's part of the database's account-event log (platforms.eventlog)."""

    def __init__(self, server: TradingServer | int) -> None:
        self.server_id = server if isinstance(server, int) else server.pk
        self.key = f"log:{self.server_id}"

    def read(self, *, after: int, limit: int) -> list[FeedEvent]:
        return [
            FeedEvent(e.cursor, self.server_id, e.login, e.payload)
            for e in eventlog.events(self.server_id, after=after, limit=limit)
        ]

    def account_events(
        self, server_id: int, login: str, *, after: int, upto: int
    ) -> list[FeedEvent]:
        found: list[FeedEvent] = []
        while after < upto:
            page = eventlog.events(server_id, after=after, limit=5000, login=login)
            found += [FeedEvent(e.cursor, server_id, e.login, e.payload) for e in page]
            if len(page) < 5000:
                break
            after = page[-1].cursor
        return [e for e in found if e.position <= upto]

    def lag(self, *, after: int) -> Lag:
        table = LoggedEvent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} "  # noqa: S608  (our own table)
                "WHERE server_id = %s AND id > %s LIMIT %s) AS pending",
                [self.server_id, after, LAG_CAP],
            )
            (count,) = cursor.fetchone()
        if not count:
            return Lag(0, 0.0)
        first = (
            LoggedEvent.objects.filter(server_id=self.server_id, id__gt=after)
            .order_by("id")
            .values_list("payload", flat=True)
            .first()
        )
        return Lag(count, _seconds_since(first), at_least=count >= LAG_CAP)

    def close(self) -> None:
        pass


def _seconds_since(payload: dict[str, Any] | None) -> float:
    """Seconds since the event's own time (the log keeps no time of its own; an event is taken
    in within moments of it)."""
    try:
        at = parse_datetime(str((payload or {}).get("t") or ""))
    except ValueError:  # a time that is no date (`2026-02-30`): its age is not known
        return 0.0
    if at is None:
        return 0.0
    return max(0.0, (timezone.now() - at).total_seconds())


def using_nats() -> bool:
    return natslog.enabled()


def feed_for(key: str) -> Feed:
    """The feed a checkpoint's key names."""
    kind, _, number = key.partition(":")
    if kind == "log":
        return LogFeed(int(number))
    if kind == "nats":
        from propdesk.platforms.natsfeed import NatsFeed

        return NatsFeed(int(number))
    raise ValueError(f"No feed of the account-event log is named {key!r}.")
