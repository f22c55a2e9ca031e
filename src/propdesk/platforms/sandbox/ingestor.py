"""The sandbox's ingestor: copies its server's part of the sandbox's event stream (stream.py,
the platform's own record, which its trading API serves) into the account-event log.

The stream already holds the events in the shapes of docs/rules.md, equity snapshots included
(the sandbox writes one at each change and the feed at every move that matters), so taking them
in is a copy: the events after the stream id the server's `IngestCursor` keeps
(`position["stream"]`), in stream order, in one transaction with the cursor's move
(`eventlog.ingesting`). A crash mid-way loses the whole batch, cursor and events together, and
the next pull copies it again; `source` ("sandbox:<stream id>") keeps an event from being
logged twice even so.

With the event log on NATS (natslog.py) a pull reads the same stream rows after the cursor (their
ids follow commit order within a server) and publishes them, with the same sources, before the
cursor's move commits: a crash between the two publishes the batch again, and JetStream's
de-duplication (the sources are the messages' ids) keeps each event once.

Waiting: on PostgreSQL the stream's writers NOTIFY at their commit, and its `Listener` wakes
the reader at once; SQLite cannot tell anyone (None: the reader polls).
"""

from __future__ import annotations

from django.db import connection

from propdesk.platforms import eventlog, natslog
from propdesk.platforms.models import IngestCursor, LoggedEvent, TradingServer
from propdesk.platforms.protocol import EventWaiter
from propdesk.platforms.sandbox import stream
from propdesk.platforms.sandbox.models import Account, Event

BATCH = 5000  # stream events copied by one pull (at least the monitor's batch: see monitor.run)


class SandboxIngestor:
    def __init__(self, server: TradingServer, *, batch: int = BATCH) -> None:
        self.server = server
        self.batch = batch
        # The stream id taken in so far, as this ingestor last saw it committed: a cheap first
        # look (is there anything after it?) without a write transaction. Behind the truth it
        # only costs a transaction that finds nothing; the locked cursor decides what is copied.
        self._seen: int | None = None

    def pull(self) -> int:
        if self._seen is None:
            self._seen = _position(
                IngestCursor.objects.filter(server=self.server)
                .values_list("position", flat=True)
                .first()
            )
        if not stream.any_after(self._seen, self.server):
            return 0  # nothing new: no write transaction (on SQLite that would take the lock)
        with eventlog.ingesting(self.server) as cursor:
            _commit_without_waiting_for_the_disk()
            appended = self.take(cursor)
            reached = _position(cursor.position)
        self._seen = reached  # committed
        return appended

    def take(self, cursor: IngestCursor) -> int:
        """Copy the next batch of the stream after the cursor's position into the log and move
        the position past it, in `ingesting`'s transaction (which saves both at its end).

        What `eventlog.append` does, in the database alone: the monitor waits for every pull,
        and with each payload decoded to Python and encoded back (and the sources looked up
        first) a pull of 100 events took 15-20 ms, this way 5 (PostgreSQL, two busy cores).
        The log's ids are handed out in the stream's order, and an event whose source is
        already there is passed over (the log's unique source)."""
        after = _position(cursor.position)
        if natslog.enabled():
            return self.publish(cursor, after)
        event, account = Event._meta.db_table, Account._meta.db_table
        chosen = (
            f"FROM {event} e JOIN {account} a ON a.id = e.account_id "
            "WHERE a.server_id = %s AND e.id > %s"
        )
        with connection.cursor() as db:
            db.execute(
                f"SELECT max(id) FROM (SELECT e.id {chosen} ORDER BY e.id LIMIT %s) AS b",  # noqa: S608  (our own tables' names)
                [self.server.pk, after, self.batch],
            )
            (last,) = db.fetchone() or (None,)
            if last is None:
                return 0
            db.execute(
                f"INSERT INTO {LoggedEvent._meta.db_table} (server_id, login, payload, source) "
                f"SELECT a.server_id, a.login, e.payload, 'sandbox:' || CAST(e.id AS TEXT) "
                f"{chosen} AND e.id <= %s ORDER BY e.id ON CONFLICT DO NOTHING",
                [self.server.pk, after, last],
            )
            appended = max(0, db.rowcount)
        cursor.position = {**cursor.position, "stream": last}
        if appended:
            eventlog.announce()
        return appended

    def publish(self, cursor: IngestCursor, after: int) -> int:
        """The next batch of the stream after `after`, published to the NATS event log (each
        acknowledged), the cursor moved past it."""
        rows = stream.rows(after=after, limit=self.batch, server=self.server)
        if not rows:
            return 0
        published = natslog.publish(
            self.server.pk, [(login, payload, f"sandbox:{i}") for i, login, payload in rows]
        )
        cursor.position = {**cursor.position, "stream": rows[-1][0]}
        return published

    def waiter(self) -> EventWaiter | None:
        return stream.Listener() if connection.vendor == "postgresql" else None

    def close(self) -> None:
        """Nothing to let go: each pull uses Django's connection, and a waiter is its reader's."""


def _commit_without_waiting_for_the_disk() -> None:
    """PostgreSQL: this transaction's commit returns before its WAL is on disk (a flush wait
    less, a few ms, on the path from a breach to its verdict). Safe for a copy: a crash loses
    the copied events and the cursor's move together (the next pull copies them again from the
    stream, which is kept durably), and a reader that acted on them commits durably after,
    which flushes the WAL this commit wrote too."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _position(position: dict[str, int] | None) -> int:
    return int((position or {}).get("stream", 0))
