"""Where the monitor stands, for staff (Prop Trading > Monitor) and for exporting as metrics:
each feed of the account-event log with the monitor process reading it, its checkpoint and its
lag (events and seconds behind the feed's end, as its reader last measured them), the live
monitor processes, and the stages the monitor set aside, each with why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import checkpoints
from propdesk.platforms.models import TradingServer

STALE_AFTER = 10.0  # seconds: a lag measured longer ago than this is not current


@dataclass(frozen=True)
class FeedStatus:
    key: str
    name: str  # in words: "Sandbox's log", "Partition 3"
    reader: str  # the monitor process holding its lease, "" when none does
    position: int
    events_behind: int
    seconds_behind: float
    measured_at: datetime | None
    stale: bool  # nobody reads it, or its lag was not measured lately


def feeds() -> list[FeedStatus]:
    now = timezone.now()
    names = dict(TradingServer.objects.values_list("id", "name"))
    found = []
    for row in MonitorCheckpoint.objects.exclude(key__startswith=checkpoints.PRESENCE):
        held = bool(row.owner) and row.lease_until is not None and row.lease_until > now
        measured = row.measured_at
        fresh = measured is not None and (now - measured).total_seconds() <= STALE_AFTER
        kind, _, number = row.key.partition(":")
        if kind == "log":
            name = f"{names.get(int(number), 'server #' + number)}'s log"
        elif kind == "nats":
            name = f"Partition {number}"
        else:  # "ingest:<server>": who takes in a server's events (NATS)
            name = f"Taking in {names.get(int(number), 'server #' + number)}'s events"
        found.append(
            FeedStatus(
                key=row.key,
                name=name,
                reader=row.owner if held else "",
                position=row.position,
                events_behind=row.events_behind,
                seconds_behind=row.seconds_behind,
                measured_at=measured,
                stale=kind != "ingest" and (not held or not fresh),
            )
        )
    return found


def processes() -> list[tuple[str, datetime]]:
    """The live monitor processes and until when their presence runs."""
    now = timezone.now()
    rows = MonitorCheckpoint.objects.filter(
        key__startswith=checkpoints.PRESENCE, lease_until__gt=now
    ).order_by("owner")
    return [(r.owner, r.lease_until) for r in rows if r.lease_until is not None]


def set_aside() -> QuerySet[StageAttempt]:
    """The stages the monitor set aside (staff retry them once the cause is put right): running
    ones whose events it could not apply, and passed ones whose next stage it could not open."""
    return (
        StageAttempt.objects.exclude(monitor_error="")
        .filter(status__in=[StageAttempt.Status.IN_PROGRESS, StageAttempt.Status.PASSED])
        .select_related("participation__client__user", "server")
        .order_by("id")
    )
