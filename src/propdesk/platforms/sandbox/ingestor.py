"""The sandbox's ingestor: copies its server's part of the sandbox's event stream (stream.py,
the platform's own record, which its trading API serves) into the account-event log.

The stream already holds the events in the shapes of docs/rules.md, equity snapshots included
(the sandbox writes one at each change and the feed at every move that matters), so taking them
in is a copy: the events after the stream id the server's `IngestCursor` keeps
(`position["stream"]`), in stream order, in one transaction with the cursor's move
(`eventlog.ingesting`). A crash mid-way loses the whole batch, cursor and events together, and
the next pull copies it again; `source` ("sandbox:<stream id>") keeps an event from being
logged twice even so.

Waiting: on PostgreSQL the stream's writers NOTIFY at their commit, and its `Listener` wakes
the reader at once; SQLite cannot tell anyone (None: the reader polls).
"""

from __future__ import annotations

from django.db import connection

from propdesk.platforms import eventlog
from propdesk.platforms.models import IngestCursor, TradingServer
from propdesk.platforms.protocol import EventWaiter
from propdesk.platforms.sandbox import stream

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
            appended = self.take(cursor)
            reached = _position(cursor.position)
        self._seen = reached  # committed
        return appended

    def take(self, cursor: IngestCursor) -> int:
        """Copy the next batch of the stream after the cursor's position into the log and move
        the position past it, in `ingesting`'s transaction (which saves both at its end)."""
        rows = stream.rows(after=_position(cursor.position), limit=self.batch, server=self.server)
        appended = eventlog.append(
            cursor, [(login, payload, f"sandbox:{i}") for i, login, payload in rows]
        )
        if rows:
            cursor.position = {**cursor.position, "stream": rows[-1][0]}
        return appended

    def waiter(self) -> EventWaiter | None:
        return stream.Listener() if connection.vendor == "postgresql" else None

    def close(self) -> None:
        """Nothing to let go: each pull uses Django's connection, and a waiter is its reader's."""


def _position(position: dict[str, int] | None) -> int:
    return int((position or {}).get("stream", 0))
