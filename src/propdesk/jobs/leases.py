"""Leases: a job a worker took stays its own while the worker shows signs of life.

Every `propdesk worker` writes down that it is alive (`WorkerProcess.seen_at`) from a
heartbeat thread, every quarter of the lease, also while one long job runs. A job still
RUNNING after a lease (`JOBS_LEASE_SECONDS`) whose worker has not been seen for a lease was
abandoned (the process was killed, the machine died): any worker puts it back in the queue,
counted as an attempt. The heartbeat, rather than "a lease longer than any job", is what lets
a slow job run past the lease without being taken, and a dead worker's job come back after
one lease instead of after the longest a job could ever take.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from propdesk.jobs import attempts
from propdesk.jobs.attempts import Failure
from propdesk.jobs.models import Attempt, WorkerProcess

logger = logging.getLogger("propdesk.jobs")
reclaimed = logging.getLogger("propdesk.worker")  # a decision of the worker's (docs/logging.md)

REAP_BATCH = 100


class Abandoned(Exception):
    """What an abandoned attempt is recorded as."""


def lease() -> timedelta:
    return timedelta(seconds=max(1, int(settings.JOBS_LEASE_SECONDS)))


def new_worker_id() -> str:
    # Readable in the back office (which machine, which process) and unique across restarts.
    host = socket.gethostname().split(".")[0][:30]
    return f"{host}:{os.getpid()}:{get_random_string(8)}"


def sign_in(worker_id: str) -> None:
    WorkerProcess.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "seen_at": Now(),  # the database's clock: hosts' clocks may disagree
        },
    )


def beat(worker_id: str) -> None:
    if not WorkerProcess.objects.filter(worker_id=worker_id).update(seen_at=Now()):
        sign_in(worker_id)  # pruned as dead meanwhile (a long stall): here again


def sign_out(worker_id: str) -> None:
    WorkerProcess.objects.filter(worker_id=worker_id).delete()


class Heartbeat:
    """A thread that beats for the worker until stopped, on its own database connection."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.every = max(1.0, lease().total_seconds() / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    close_old_connections()
                    beat(self.worker_id)
                except Exception:  # the database is away: try again at the next beat
                    logger.exception("job worker %s: heartbeat failed", self.worker_id)
        finally:
            connection.close()


def reap_abandoned(*, now: datetime | None = None) -> int:
    """Put back the jobs whose worker vanished mid-way; returns how many.

    Safe with several workers reaping at once: the rows are taken with SKIP LOCKED, so each
    abandoned job is put back by one of them, once."""
    # Signs of life are judged by the database's clock, which wrote them: a reaper on a host
    # whose clock runs ahead never takes a live worker for a dead one.
    recent = Now() - lease() if now is None else now - lease()
    now = now or timezone.now()
    cutoff = now - lease()
    alive = set(
        WorkerProcess.objects.filter(seen_at__gte=recent).values_list("worker_id", flat=True)
    )
    reaped = 0
    with transaction.atomic():
        stale = (
            DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
            .order_by("started_at")
            .select_for_update(skip_locked=True)[:REAP_BATCH]
        )
        for row in stale:
            worker = row.worker_ids[-1] if row.worker_ids else ""
            if worker in alive:
                continue  # a long job of a live worker: still its own
            gone = Abandoned(
                f"The worker {worker or '(unknown)'} stopped while running this job "
                f"(no sign of life for {int(lease().total_seconds())} s)."
            )
            failure = Failure(
                error_class=f"{Abandoned.__module__}.{Abandoned.__qualname__}",
                message=str(gone),
                traceback=str(gone),
                permanent=False,
            )
            attempts.after_failure(
                row,
                failure,
                outcome=Attempt.Outcome.ABANDONED,
                worker_id=worker,
                now=now,
                retry_in=0,
            )
            reclaimed.warning(
                "abandoned job reclaimed: %s",
                gone,
                extra={"job": str(row.pk), "task": row.task_path, "worker": worker or "-"},
            )
            reaped += 1
    return reaped


def prune_workers(*, now: datetime | None = None) -> int:
    """Forget workers not seen for a day (their jobs were re-queued long since)."""
    cutoff = (now or timezone.now()) - max(lease(), timedelta(days=1))
    deleted, _ = WorkerProcess.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
