"""The account-event log: the one place the monitor reads account events from, whatever the
platform. Each trading server's ingestor (see protocol.Ingestor) appends to it; readers keep a
cursor (an event's id) and read what came after it.

Appending happens in `ingesting(server)`: one transaction holding the server's `IngestCursor`
row, so one ingestor at a time appends a server's events, ids follow commit order within a
server, and the ingestor's own position at the platform moves with what it appended (a crash
loses neither, and repeats nothing). An event appended twice (the same `source`) is kept once.

With `PROPDESK_EVENT_LOG=nats://...` the events go to NATS JetStream instead (natslog.py):
`append` publishes them, and `ingesting` still holds and saves the ingestor's position in the
database, after the stream acknowledged the events (which keeps each once by its source).

On PostgreSQL an append NOTIFYs `CHANNEL` at its commit, so a reader waiting on a `Listener`
wakes at once; SQLite readers poll.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from propdesk.platforms import natslog
from propdesk.platforms.models import IngestCursor, LoggedEvent, TradingServer
from propdesk.platforms.protocol import AccountEvent

CHANNEL = "propdesk_account_events"

Appended = tuple[str, dict[str, Any], str]  # (login, payload, source)


@contextmanager
def ingesting(server: TradingServer | int) -> Iterator[IngestCursor]:
    """A transaction with the server's ingest cursor locked; its `position` (a dict the
    ingestor owns) is saved when the block ends without an error."""
    server_id = server if isinstance(server, int) else server.pk
    with transaction.atomic():
        IngestCursor.objects.get_or_create(server_id=server_id)
        cursor = IngestCursor.objects.select_for_update().get(server_id=server_id)
        yield cursor
        cursor.save()


def append(cursor: IngestCursor, events: Sequence[Appended]) -> int:
    """Append events (in the order given) to the cursor's server's log, inside `ingesting`;
    those whose source is already there are skipped. Returns how many were appended.
    In NATS mode they are published, each acknowledged before this returns (the ones whose
    source the stream saw within its duplicate window are not counted)."""
    if not events:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events are appended inside `ingesting`")
    server_id = cursor.server_id
    if natslog.enabled():
        return natslog.publish(server_id, events)
    sources = [source for _, _, source in events]
    seen = set(
        LoggedEvent.objects.filter(server_id=server_id, source__in=sources).values_list(
            "source", flat=True
        )
    )
    fresh: list[LoggedEvent] = []
    for login, payload, source in events:
        if source in seen:
            continue
        seen.add(source)
        fresh.append(LoggedEvent(server_id=server_id, login=login, payload=payload, source=source))
    LoggedEvent.objects.bulk_create(fresh)
    if fresh:
        announce()
    return len(fresh)


def events(
    server: TradingServer | int, *, after: int = 0, limit: int = 1000, login: str | None = None
) -> list[AccountEvent]:
    """The server's events after the cursor `after`, oldest first (of one account's `login`)."""
    server_id = server if isinstance(server, int) else server.pk
    found = LoggedEvent.objects.filter(server_id=server_id, id__gt=after)
    if login is not None:
        found = found.filter(login=login)
    rows = found.order_by("id").values_list("id", "login", "payload")[:limit]
    return [AccountEvent(cursor=i, login=owner, payload=payload) for i, owner, payload in rows]


def has_events(server: TradingServer | int, *, after: int) -> bool:
    """Whether the server's log holds events after `after`: one indexed look in plain SQL (an
    idle reader asks it often)."""
    server_id = server if isinstance(server, int) else server.pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {LoggedEvent._meta.db_table} "  # noqa: S608  (our own table's name)
            "WHERE server_id = %s AND id > %s LIMIT 1",
            [server_id, after],
        )
        return cursor.fetchone() is not None


def last_position(server: TradingServer | int) -> int:
    server_id = server if isinstance(server, int) else server.pk
    last = (
        LoggedEvent.objects.filter(server_id=server_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return last or 0


def announce() -> None:
    """NOTIFY the log's listeners (PostgreSQL; delivered at commit, never after a rollback)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
