"""The sandbox's account event stream: appended under one lock, so that ids follow commit order
and a reader that has seen id N has seen everything below it; read from a cursor.

On PostgreSQL every write also NOTIFYs the stream's channel (`announce`), delivered when the
writing transaction commits, so a reader waiting with a `Listener` wakes at once instead of
polling. SQLite has nothing of the kind: its readers poll."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from propdesk.core.validation import FieldErrors
from propdesk.platforms.models import TradingServer
from propdesk.platforms.sandbox.inputs import whole_in
from propdesk.platforms.sandbox.models import Account, Event, StreamLock

logger = logging.getLogger(__name__)

CHANNEL = "propdesk_sandbox_events"  # NOTIFY'd by every write to the stream (PostgreSQL)


def emit(account: Account, payloads: list[dict[str, Any]], *, from_feed: bool = False) -> None:
    """Append events under the stream's lock, so their ids follow commit order."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events are written inside the change's transaction")
    StreamLock.objects.select_for_update().get_or_create(pk=1)
    # An account's events never go back in time: a change timed before its account's latest
    # event (the feed's, say) is stamped at that event's time.
    last = Event.objects.filter(account=account).order_by("-id").values_list("payload", flat=True)
    previous = last.first()
    latest = datetime.fromisoformat(previous["t"]) if previous else None
    for payload in payloads:
        at = datetime.fromisoformat(payload["t"])
        if latest is not None and at < latest:
            payload["t"] = latest.isoformat()
        else:
            latest = at
    Event.objects.bulk_create(
        Event(account=account, payload=p, from_feed=from_feed) for p in payloads
    )
    announce()


def announce() -> None:
    """Tell the stream's listeners that events were appended: on PostgreSQL a NOTIFY, which
    goes out when the writing transaction commits (never if it rolls back; several in one
    transaction go out as one). Call it in the transaction that appends them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Listener:
    """Waits for the stream's NOTIFY on a PostgreSQL connection of its own (autocommit, so a
    notification is received as soon as its writer commits). It is what the sandbox adapter
    hands a reader as its `EventWaiter`; `close` it when done."""

    def __init__(self) -> None:
        self._conn: Any = None

    def wait(self, *, after: int = 0, timeout: float) -> bool:
        """True as soon as a write to the stream was committed since the last call (at once if
        one already was), False after `timeout` seconds without one. The first call (and the
        first after a lost connection) starts listening and returns True at once: events may
        have been committed before it listened, so the reader looks once more. `after` is not
        needed: whatever was committed after the reader last looked is announced here."""
        if self._conn is None:
            try:
                self._conn = self._listen()
            except Exception:
                logger.warning("sandbox stream: cannot listen; polling for now", exc_info=True)
                time.sleep(timeout)
                return False
            return True
        try:
            woken = bool(list(self._conn.notifies(timeout=timeout, stop_after=1)))
            if woken:  # the others already here say nothing more: not one wake-up each
                list(self._conn.notifies(timeout=0))
        except Exception:
            logger.warning("sandbox stream: the listening connection failed", exc_info=True)
            self.close()
            return True  # the reader looks; the next wait listens again
        return woken

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except Exception:
                logger.debug("sandbox stream: closing the listener failed", exc_info=True)

    @staticmethod
    def _listen() -> Any:
        import psycopg
        from psycopg import sql

        params = connection.get_connection_params()
        conn = psycopg.connect(**params, autocommit=True)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        return conn


def events(
    *,
    after: Any = 0,
    limit: Any = 1000,
    server: TradingServer | None = None,
    account: Account | None = None,
) -> list[Event]:
    """The events after the cursor `after`, oldest first (of one server or one account)."""
    errors = FieldErrors()
    cursor = whole_in(errors, "after", after, 0, 2**62)
    size = whole_in(errors, "limit", limit, 1, 10_000)
    errors.raise_if_any()
    return list(_after(cursor, server, account).select_related("account").order_by("id")[:size])


def rows(
    *,
    after: Any = 0,
    limit: Any = 1000,
    server: TradingServer | None = None,
    account: Account | None = None,
) -> list[tuple[int, str, dict[str, Any]]]:
    """`events` as (cursor, login, payload), without building models: what a monitor reads."""
    errors = FieldErrors()
    cursor = whole_in(errors, "after", after, 0, 2**62)
    size = whole_in(errors, "limit", limit, 1, 10_000)
    errors.raise_if_any()
    found = _after(cursor, server, account).order_by("id")
    return list(found.values_list("id", "account__login", "payload")[:size])


def any_after(after: int, server: TradingServer) -> bool:
    """Whether the server's stream holds events after the cursor `after`: one indexed look, in
    plain SQL (an idle reader asks it often; building `rows`' query costs more than running
    it)."""
    event, account = Event._meta.db_table, Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {event} e JOIN {account} a ON a.id = e.account_id "  # noqa: S608  (our own tables' names)
            "WHERE e.id > %s AND a.server_id = %s LIMIT 1",
            [after, server.pk],
        )
        return cursor.fetchone() is not None


def _after(cursor: int | None, server: TradingServer | None, account: Account | None) -> Any:
    found = Event.objects.filter(id__gt=cursor)
    if server is not None:
        found = found.filter(account__server=server)
    if account is not None:
        found = found.filter(account=account)
    return found
