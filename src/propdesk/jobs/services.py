"""Staff's side of the background jobs: what failed for good, what waits to retry, and the
two things a person can do about it (retry now, dismiss), each audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound
from propdesk.core.permissions import require_permission
from propdesk.jobs import retries
from propdesk.jobs.models import Attempt
from propdesk.jobs.permissions import JOBS_MANAGE, JOBS_VIEW

if TYPE_CHECKING:  # the site's user model (AUTH_USER_MODEL) as type checkers see it
    from django.contrib.auth.models import _User as User


class NotRetryable(Conflict):
    code = "job_not_failed"
    default_message = "This job neither failed nor waits to retry: there is nothing to retry."


GAVE_UP = "gave_up"
WAITING = "waiting"


@dataclass(frozen=True)
class JobRow:
    id: str
    task: str
    task_path: str
    state: str  # GAVE_UP or WAITING (or the queue's own status for other jobs)
    attempts: int
    max_attempts: int
    error_class: str
    message: str
    enqueued_at: datetime
    last_attempt_at: datetime | None
    next_try_at: datetime | None
    finished_at: datetime | None


def gave_up() -> QuerySet[DBTaskResult]:
    return DBTaskResult.objects.filter(status=TaskResultStatus.FAILED)


def waiting_to_retry() -> QuerySet[DBTaskResult]:
    # A ready job that carries an error has failed before: it waits for its next try.
    return DBTaskResult.objects.filter(status=TaskResultStatus.READY).exclude(
        exception_class_path=""
    )


def gave_up_count() -> int:
    return gave_up().count()


def _short_name(task_path: str) -> str:
    return task_path.rsplit(".", 1)[-1].replace("_", " ")


def _last_message(row: DBTaskResult, last: Attempt | None) -> str:
    if last is not None:
        return last.message
    lines = [line for line in row.traceback.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _row(row: DBTaskResult, last: Attempt | None) -> JobRow:
    status = row.status
    state = GAVE_UP if status == TaskResultStatus.FAILED else status.lower()
    if status == TaskResultStatus.READY and row.exception_class_path:
        state = WAITING
    ready = status == TaskResultStatus.READY
    return JobRow(
        id=str(row.pk),
        task=_short_name(row.task_path),
        task_path=row.task_path,
        state=state,
        attempts=len(row.worker_ids),
        max_attempts=retries.policy_for(row.task_path).max_attempts,
        error_class=row.exception_class_path.rsplit(".", 1)[-1],
        message=_last_message(row, last),
        enqueued_at=row.enqueued_at,
        last_attempt_at=row.started_at,
        next_try_at=row.run_after if ready and row.run_after.year < 9999 else None,
        finished_at=row.finished_at,
    )


def _rows(results: QuerySet[DBTaskResult], limit: int) -> list[JobRow]:
    chosen = list(results[:limit])
    last: dict[Any, Attempt] = {}
    for attempt in Attempt.objects.filter(result__in=[r.pk for r in chosen]).order_by("number"):
        last[attempt.result_id] = attempt
    return [_row(r, last.get(r.pk)) for r in chosen]


def _allow(actor: User | None, code: str) -> None:
    # None: the operator at the server's command line (`propdesk jobs`), audited as "system".
    if actor is not None:
        require_permission(actor, code)


def problems(actor: User | None, *, limit: int = 200) -> dict[str, list[JobRow]]:
    """The jobs that gave up (newest first) and those waiting to retry (soonest first)."""
    _allow(actor, JOBS_VIEW)
    return {
        GAVE_UP: _rows(gave_up().order_by("-finished_at"), limit),
        WAITING: _rows(waiting_to_retry().order_by("run_after"), limit),
    }


def _find(job_id: Any, *, lock: bool = False) -> DBTaskResult:
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("No such job.") from None
    rows = DBTaskResult.objects.select_for_update() if lock else DBTaskResult.objects.all()
    found = rows.filter(pk=key).first()
    if found is None:
        raise NotFound("No such job.")
    return found


def detail(job_id: Any, *, actor: User | None) -> tuple[JobRow, list[Attempt]]:
    _allow(actor, JOBS_VIEW)
    row = _find(job_id)
    tries = list(Attempt.objects.filter(result=row).order_by("number", "id"))
    return _row(row, tries[-1] if tries else None), tries


def _retryable(row: DBTaskResult) -> bool:
    return row.status == TaskResultStatus.FAILED or (
        row.status == TaskResultStatus.READY and bool(row.exception_class_path)
    )


def retry_now(job_id: Any, *, actor: User | None) -> JobRow:
    """Run a job that gave up (one more attempt) or waits for its back-off, at the next turn
    of a worker."""
    _allow(actor, JOBS_MANAGE)
    with transaction.atomic():
        row = _find(job_id, lock=True)
        if not _retryable(row):
            raise NotRetryable()
        before = audit.snapshot(row, ["status", "run_after"], attempts=len(row.worker_ids))
        row.status = TaskResultStatus.READY
        row.run_after = timezone.now()
        row.finished_at = None
        row.save(update_fields=["status", "run_after", "finished_at"])
        audit.record(
            actor=actor,
            action=AuditAction.JOB_RETRY,
            object_type="job",
            object_id=row.pk,
            summary=f"Background job {_short_name(row.task_path)} retried now "
            f"(after {len(row.worker_ids)} attempts)",
            before=before,
            after=audit.snapshot(row, ["status", "run_after"]),
        )
    return _row(row, None)


def dismiss(job_id: Any, *, actor: User | None) -> None:
    """Forget a job that gave up (its work was done another way); the audit log keeps what
    it was and why it failed."""
    _allow(actor, JOBS_MANAGE)
    with transaction.atomic():
        row = _find(job_id, lock=True)
        if row.status != TaskResultStatus.FAILED:
            raise Conflict("Only a job that gave up can be dismissed.", code="job_not_failed")
        audit.record(
            actor=actor,
            action=AuditAction.JOB_DISMISS,
            object_type="job",
            object_id=row.pk,
            summary=f"Background job {_short_name(row.task_path)} dismissed after "
            f"{len(row.worker_ids)} attempts",
            before={
                "task": row.task_path,
                "attempts": len(row.worker_ids),
                "error": row.exception_class_path,
                "message": _last_message(row, Attempt.objects.filter(result=row).last()),
            },
        )
        row.delete()
