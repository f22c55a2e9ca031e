"""Sweeps the worker runs between jobs: re-queue abandoned jobs, lapse unpaid checkouts,
forget old rows. Each app registers its own (in its `AppConfig.ready`); the jobs app knows
none of them.

A sweep must be safe to run in several workers at once (they each run every sweep) and
returns how many rows it changed, for the log. One failing sweep does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("propdesk.jobs")

MINUTE = 60.0
HOUR = 3600.0


@dataclass
class Sweep:
    name: str
    run: Callable[[], int]
    every: float
    last: float | None = field(default=None)


_sweeps: dict[str, Sweep] = {}


def register(name: str, *, every: float) -> Callable[[Callable[[], int]], Callable[[], int]]:
    def add(func: Callable[[], int]) -> Callable[[], int]:
        _sweeps[name] = Sweep(name=name, run=func, every=every)
        return func

    return add


def sweeps() -> list[str]:
    return sorted(_sweeps)


def run_due(*, force: bool = False, clock: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """Run the sweeps whose time has come (all of them when `force`); what each changed."""
    done: dict[str, int] = {}
    now = clock()
    for sweep in list(_sweeps.values()):
        if not force and sweep.last is not None and now - sweep.last < sweep.every:
            continue
        sweep.last = now
        try:
            done[sweep.name] = sweep.run()
        except Exception:
            logger.exception("housekeeping sweep %s failed; the next turn tries again", sweep.name)
            continue
        if done[sweep.name]:
            logger.info("housekeeping %s: %s", sweep.name, done[sweep.name])
    return done


def prune_finished_jobs() -> int:
    """Successful jobs are kept `JOBS_KEEP_DAYS` days (to look into), then deleted; failed
    ones stay until staff retry or dismiss them."""
    cutoff = timezone.now() - timedelta(days=max(0, int(settings.JOBS_KEEP_DAYS)))
    old = DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL, finished_at__lt=cutoff)
    deleted = 0
    while True:  # in slices: one sweep never holds a long lock on a busy table
        ids = list(old.order_by().values_list("pk", flat=True)[:1000])
        if not ids:
            return deleted
        deleted += (
            DBTaskResult.objects.filter(pk__in=ids).delete()[1].get(DBTaskResult._meta.label, 0)
        )


def register_builtin() -> None:
    from propdesk.jobs import leases

    register("jobs.reap_abandoned", every=MINUTE)(leases.reap_abandoned)
    register("jobs.prune_finished", every=HOUR)(prune_finished_jobs)
    register("jobs.prune_workers", every=HOUR)(leases.prune_workers)
