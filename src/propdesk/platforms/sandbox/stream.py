"""The sandbox's account event stream: appended under one lock, so that ids follow commit order
and a reader that has seen id N has seen everything below it; read from a cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from propdesk.core.validation import FieldErrors
from propdesk.platforms.models import TradingServer
from propdesk.platforms.sandbox.inputs import whole_in
from propdesk.platforms.sandbox.models import Account, Event, StreamLock


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


def _after(cursor: int | None, server: TradingServer | None, account: Account | None) -> Any:
    found = Event.objects.filter(id__gt=cursor)
    if server is not None:
        found = found.filter(account__server=server)
    if account is not None:
        found = found.filter(account=account)
    return found
