"""/healthz and /readyz: whether this web process is alive, and whether the install can do its
work (docs/observability.md).

/healthz asks nothing of the database: a process that answers is alive. /readyz runs each
check and shows its figures: the database reachable, every migration applied, the monitor seen
lately (it holds every feed's lease, renewed within `monitor_seconds`), its lag under
`monitor_lag_seconds` and each feed held read without an error within as long, a job worker
seen within `worker_seconds`. Each is one short query; the migrations' answer, once clean, is
kept for the life of the process (a deploy migrates before it starts new processes). While
migrations are pending the checks that read propdesk's tables are not made (they may not be
there yet), and a check whose query fails says so: the answer is always JSON. The bodies hold
counts, ages and feed keys: no secret, no host name, nothing of a client's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q
from django.db.models.functions import Now
from django.utils import timezone

from propdesk.challenges.models import MonitorCheckpoint
from propdesk.challenges.monitoring import checkpoints
from propdesk.jobs.models import WorkerProcess
from propdesk.ops.config import OpsSettings
from propdesk.processes import unapplied_migrations

logger = logging.getLogger(__name__)

_migrated = False  # this process found every migration applied: it stays so


@dataclass
class Check:
    name: str
    ok: bool
    required: bool = True
    figures: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "required": self.required, **self.figures}


def config() -> OpsSettings:
    found = getattr(settings, "OPS", None)
    return found if isinstance(found, OpsSettings) else OpsSettings()


def alive() -> dict[str, str]:
    return {"status": "ok"}


def ready(require: frozenset[str] | None = None) -> tuple[bool, dict[str, Any]]:
    """Every check with its figures, and whether all the required ones pass. `require`: the
    parts of the install required this time (`/readyz?require=`), instead of the setting's."""
    ops = config()
    if require is not None:
        ops = replace(ops, require=require)
    checks = [_database()]
    if not checks[0].ok:  # nothing more can be asked
        return _answer(checks + _not_checked(ops, ("migrations", *DEPENDENT), "no database"))
    checks += _guarded(ops, ("migrations",), _migrations)
    if not checks[-1].ok:
        # The tables the other checks read may not be there yet (or not as this code reads
        # them): they wait for the migrations.
        return _answer(checks + _not_checked(ops, DEPENDENT, "unapplied migrations"))
    checks += _guarded(ops, ("monitor", "monitor_lag"), lambda: _monitor(ops))
    checks += _guarded(ops, ("worker",), lambda: [_worker(ops)])
    return _answer(checks)


DEPENDENT = ("monitor", "monitor_lag", "worker")  # checks that read propdesk's own tables


def _answer(checks: list[Check]) -> tuple[bool, dict[str, Any]]:
    failing = [c.name for c in checks if c.required and not c.ok]
    body = {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checks": {c.name: c.as_json() for c in checks},
    }
    return not failing, body


def _not_checked(ops: OpsSettings, names: tuple[str, ...], why: str) -> list[Check]:
    """Checks that could not be made: failing (when required), with why."""
    return [
        Check(name, ok=False, required=_required(ops, name), figures={"error": why})
        for name in names
    ]


def _guarded(ops: OpsSettings, names: tuple[str, ...], check: Callable[[], Any]) -> list[Check]:
    """The check's answer; a database error (a table or a column missing, a query cancelled)
    fails it, with the error's class only (a driver's message may name the host or user)."""
    try:
        found = check()
    except DatabaseError as exc:
        logger.warning("readyz: %s: %s", ", ".join(names), type(exc).__name__)
        connection.close_if_unusable_or_obsolete()
        return _not_checked(ops, names, type(exc).__name__)
    return found if isinstance(found, list) else [found]


def _required(ops: OpsSettings, name: str) -> bool:
    part = "monitor" if name.startswith("monitor") else name
    return part not in ("monitor", "worker") or part in ops.require


def _database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("readyz: the database is unreachable: %s", exc)
        connection.close_if_unusable_or_obsolete()
        # The class only: a driver's message may name the host or the user.
        return Check("database", ok=False, figures={"error": type(exc).__name__})
    return Check("database", ok=True)


def _migrations() -> Check:
    global _migrated
    pending = 0 if _migrated else unapplied_migrations()
    _migrated = pending == 0
    return Check("migrations", ok=pending == 0, figures={"unapplied": pending})


def forget_migrations() -> None:
    """Ask again at the next /readyz (the tests)."""
    global _migrated
    _migrated = False


def _monitor(ops: OpsSettings) -> list[Check]:
    """The monitor seen: some monitor process renewed its presence, and every feed of the
    enabled servers is held by a process that renewed its lease, within `monitor_seconds` (a
    lease runs `checkpoints.LEASE` past its renewal). A monitor that stops cleanly gives its
    feeds back: they are unread at once. Then its lag: the worst feed's seconds behind, as its
    reader last measured it (a feed read to its end measures 0), and every feed held read
    without an error within `monitor_lag_seconds` (by the database's clock, which stamps
    `read_at`): a feed whose reads keep failing keeps its last measure, not its `read_at`."""
    now = timezone.now()
    since = now - timedelta(seconds=ops.monitor_seconds) + timedelta(seconds=checkpoints.LEASE)
    keys = checkpoints.enabled_feed_keys()
    read_since = Now() - timedelta(seconds=ops.monitor_lag_seconds)
    rows = {
        r.key: r
        for r in MonitorCheckpoint.objects.filter(
            Q(key__in=keys) | Q(key__startswith=checkpoints.PRESENCE)
        )
        .only("key", "owner", "lease_until", "events_behind", "seconds_behind", "read_at")
        .annotate(
            read_lately=ExpressionWrapper(Q(read_at__gte=read_since), output_field=BooleanField())
        )
    }
    presences = [r.lease_until for k, r in rows.items() if k.startswith(checkpoints.PRESENCE)]
    last = max((u for u in presences if u is not None), default=None)
    processes = sum(1 for u in presences if u is not None and u >= since)
    unread = [k for k in keys if not _held_since(rows.get(k), since)]
    renewed = None if last is None else last - timedelta(seconds=checkpoints.LEASE)
    seen = Check(
        "monitor",
        ok=processes > 0 and not unread,
        required="monitor" in ops.require,
        figures={
            "processes": processes,
            "feeds": len(keys),
            "unread": unread,
            "seen_seconds_ago": None if renewed is None else _age(now - renewed),
            "threshold_seconds": ops.monitor_seconds,
        },
    )
    measured = [rows[k] for k in keys if k in rows]
    worst = max(measured, key=lambda r: r.seconds_behind, default=None)
    # Of the feeds held (one no process holds is the check above's).
    held = [k for k in keys if k not in unread]
    stale = [k for k in held if not rows[k].read_lately]
    reads = [rows[k].read_at for k in held]
    oldest = None if None in reads else min((r for r in reads if r is not None), default=None)
    lag = Check(
        "monitor_lag",
        ok=not stale and (worst is None or worst.seconds_behind <= ops.monitor_lag_seconds),
        required="monitor" in ops.require,
        figures={
            "seconds_behind": 0.0 if worst is None else round(worst.seconds_behind, 3),
            "events_behind": max((r.events_behind for r in measured), default=0),
            "feed": None if worst is None else worst.key,
            # The feeds not read without an error lately, and the oldest good read's age
            # (None: a feed never read well).
            "not_read": stale,
            "read_seconds_ago": None if oldest is None else _age(now - oldest),
            "threshold_seconds": ops.monitor_lag_seconds,
        },
    )
    return [seen, lag]


def _held_since(row: MonitorCheckpoint | None, since: datetime) -> bool:
    return (
        row is not None
        and bool(row.owner)
        and row.lease_until is not None
        and (row.lease_until >= since)
    )


def _worker(ops: OpsSettings) -> Check:
    """A job worker seen within `worker_seconds`, by the database's clock (which stamps the
    workers' beats: hosts' clocks may disagree)."""
    recent = Now() - timedelta(seconds=ops.worker_seconds)
    found = WorkerProcess.objects.aggregate(
        last=Max("seen_at"), live=Count("pk", filter=Q(seen_at__gte=recent))
    )
    last = found["last"]
    return Check(
        "worker",
        ok=found["live"] > 0,
        required="worker" in ops.require,
        figures={
            "workers": found["live"],
            "seen_seconds_ago": None if last is None else _age(timezone.now() - last),
            "threshold_seconds": ops.worker_seconds,
        },
    )


def _age(delta: timedelta) -> float:
    return round(max(0.0, delta.total_seconds()), 1)
