"""`propdesk worker`: takes due jobs from the queue table one at a time and runs them.

Unlike django-tasks' own `db_worker`, a failure is not the end: the job goes back to the
queue after its back-off (`retries`), its error kept (`Attempt`), until its last attempt; a
job abandoned by a dead worker is put back after its lease (`leases`); and the housekeeping
sweeps (expired checkouts, old rows) run between jobs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connections, transaction
from django.db.utils import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone
from django_tasks import TaskContext
from django_tasks_db.compat import TaskResultStatus, normalize_json, task_finished, task_started
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from propdesk.jobs import attempts, housekeeping, leases
from propdesk.jobs.attempts import Failure, storable
from propdesk.jobs.models import Attempt

# What the worker decides, with the job as fields (docs/logging.md).
logger = logging.getLogger("propdesk.worker")


def _refresh_connections() -> None:
    """Drop a broken or too old database connection between jobs, as a request's end does.

    Never inside a caller's transaction (a batch run from a test or a shell): closing the
    connection would end it. A worker of its own is never inside one."""
    if not any(c.in_atomic_block for c in connections.all(initialized_only=True)):
        close_old_connections()


@dataclass(frozen=True)
class Succeeded:
    value: Any


@dataclass(frozen=True)
class Failed:
    failure: Failure
    retry_in: float | None = None


Outcome = Succeeded | Failed


class Worker:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        queues: Sequence[str] = ("default",),
        backend: str = "default",
        interval: float = 1.0,
        heartbeat: bool = True,
        stop: threading.Event | None = None,
    ) -> None:
        self.worker_id = worker_id or leases.new_worker_id()
        self.queues = list(queues)
        self.backend = backend
        self.interval = interval
        self.heartbeat = heartbeat
        self.stop = stop or threading.Event()
        self._unsettled: list[tuple[Any, datetime, Outcome]] = []

    def run(self, *, batch: bool = False) -> int:
        """Run jobs until stopped (or, in a batch, until none is due); returns how many ran.

        A stop request lets the job in hand finish first. The database going away does not
        stop a long-running worker: it waits and tries again."""
        ran = 0
        leases.sign_in(self.worker_id)
        beating = leases.Heartbeat(self.worker_id) if self.heartbeat else None
        if beating is not None:
            beating.start()
        logger.info(
            "worker started", extra={"worker": self.worker_id, "queues": ",".join(self.queues)}
        )
        try:
            housekeeping.run_due(force=True)  # first of all: what a dead worker left behind
            while not self.stop.is_set():
                try:
                    done = self._turn(batch=batch, beating=beating is not None)
                except DatabaseError:
                    if batch:
                        raise
                    logger.exception("job worker %s: database error; trying again", self.worker_id)
                    _refresh_connections()
                    self.stop.wait(max(self.interval, 1.0))
                    continue
                if done is None:
                    break
                ran += done
        finally:
            if beating is not None:
                beating.stop()
            with contextlib.suppress(DatabaseError):  # its jobs come back after the lease
                leases.sign_out(self.worker_id)
            _refresh_connections()
        return ran

    def _turn(self, *, batch: bool, beating: bool) -> int | None:
        """One look at the queue: 1 if a job ran, 0 if none was due, None when a batch is
        done."""
        _refresh_connections()
        self._settle_unsettled()
        if beating:
            housekeeping.run_due()
        else:
            leases.beat(self.worker_id)
        row = self.claim()
        if row is None:
            if batch:
                return None
            self.stop.wait(self.interval)
            return 0
        self.run_one(row)
        return 1

    def claim(self) -> DBTaskResult | None:
        """The next due job, marked RUNNING under this worker (SKIP LOCKED: two workers never
        take the same one)."""
        due = DBTaskResult.objects.ready().filter(
            backend_name=self.backend, queue_name__in=self.queues
        )
        try:
            with exclusive_transaction(due.db):
                row = due.get_locked()
                if row is not None:
                    row.claim(self.worker_id)
        except OperationalError as exc:
            if is_locked_database_exception(exc):  # SQLite busy: try again at the next turn
                return None
            raise
        return row

    def run_one(self, row: DBTaskResult) -> None:
        claimed_at = row.started_at
        assert claimed_at is not None
        logger.info("job started", extra=_fields(row, attempt=attempts.attempts_made(row)))
        outcome: Outcome
        try:
            task = row.task
            result = row.task_result
            task_started.send(sender=type(task.get_backend()), task_result=result)
            if task.takes_context:
                value = task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
            else:
                value = task.call(*result.args, **result.kwargs)
            outcome = Succeeded(normalize_json(value))
        except (KeyboardInterrupt, SystemExit) as stopped:
            # Told to stop at once (Ctrl-C): the job goes back to the queue now.
            self._record(row.pk, claimed_at, Failed(Failure.of(stopped), retry_in=0))
            raise
        except Exception as error:
            outcome = Failed(Failure.of(error))
        self._record(row.pk, claimed_at, outcome)

    def _record(self, pk: Any, claimed_at: datetime, outcome: Outcome) -> None:
        """Write the attempt's outcome. If the database is away, it is kept and written at the
        next turn: the job stays this live worker's meanwhile, so nobody else runs it. If the
        database refuses the outcome itself (a value it cannot store), a plain failure saying
        so is written instead: one bad outcome never wedges the worker."""
        try:
            if isinstance(outcome, Succeeded):
                self._succeeded(pk, claimed_at, outcome.value)
            else:
                self._after_failure(pk, claimed_at, outcome.failure, outcome.retry_in)
        except (OperationalError, InterfaceError):
            self._unsettled.append((pk, claimed_at, outcome))
            raise
        except DatabaseError as refused:
            logger.exception("job %s: its outcome could not be stored", pk)
            _refresh_connections()
            plain = Failure(
                error_class=f"{type(refused).__module__}.{type(refused).__qualname__}",
                message="The job's outcome could not be stored: "
                + storable(str(refused).splitlines()[0] if str(refused) else "")[:300],
                traceback="",
                permanent=isinstance(outcome, Succeeded),  # it ran: never run it again
            )
            try:
                self._after_failure(pk, claimed_at, plain)
            except (OperationalError, InterfaceError):  # and now the database is away too
                self._unsettled.append((pk, claimed_at, Failed(plain)))
                raise
        finally:
            _refresh_connections()

    def _settle_unsettled(self) -> None:
        while self._unsettled:
            pk, claimed_at, outcome = self._unsettled.pop(0)
            self._record(pk, claimed_at, outcome)

    def _mine(self, pk: Any, claimed_at: datetime) -> DBTaskResult | None:
        """The job's row if it is still this attempt's (a reaper may have put it back after
        a stall; then the reaper's verdict stands)."""
        row = (
            DBTaskResult.objects.select_for_update()
            .filter(pk=pk, status=TaskResultStatus.RUNNING, started_at=claimed_at)
            .first()
        )
        if row is None:
            logger.warning("job %s: lost its lease while running; its outcome is dropped", pk)
        return row

    def _succeeded(self, pk: Any, claimed_at: datetime, value: object) -> None:
        with transaction.atomic():
            row = self._mine(pk, claimed_at)
            if row is None:
                return
            row.status = TaskResultStatus.SUCCESSFUL
            row.finished_at = timezone.now()
            row.return_value = value
            row.exception_class_path = ""
            row.traceback = ""
            row.save(
                update_fields=[
                    "status",
                    "finished_at",
                    "return_value",
                    "exception_class_path",
                    "traceback",
                ]
            )
        took = (row.finished_at - claimed_at).total_seconds()
        logger.info("job succeeded", extra=_fields(row, duration_s=round(took, 3)))
        self._finished(row)

    def _after_failure(
        self, pk: Any, claimed_at: datetime, failure: Failure, retry_in: float | None = None
    ) -> None:
        with transaction.atomic():
            row = self._mine(pk, claimed_at)
            if row is None:
                return
            attempt = attempts.after_failure(
                row,
                failure,
                outcome=Attempt.Outcome.FAILED,
                worker_id=self.worker_id,
                now=timezone.now(),
                retry_in=retry_in,
            )
        fields = _fields(row, attempt=attempt.number, error=failure.error_class)
        if attempt.retry_at is None:
            logger.error(
                "job failed, gave up after %s attempts: %s",
                attempt.number,
                failure.message,
                extra={**fields, "permanent": failure.permanent},
            )
            self._finished(row)
        else:
            logger.warning(
                "job failed, will retry at %s: %s",
                attempt.retry_at.isoformat(),
                failure.message,
                extra={**fields, "retry_at": attempt.retry_at.isoformat()},
            )

    def _finished(self, row: DBTaskResult) -> None:
        try:
            task_finished.send(sender=type(row.task.get_backend()), task_result=row.task_result)
        except Exception:  # a listener's fault is not the job's
            logger.exception("job %s: a task_finished listener failed", row.pk)


def _fields(row: DBTaskResult, **more: Any) -> dict[str, Any]:
    return {"job": str(row.pk), "task": row.task_path, "queue": row.queue_name, **more}


def run_batch(**options: object) -> int:
    """Run every job due now, then return (the tests' and `propdesk jobs run`'s way)."""
    return Worker(heartbeat=False, **options).run(batch=True)  # type: ignore[arg-type]
