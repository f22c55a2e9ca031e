"""What becomes of a job after an attempt that did not succeed: the attempt is kept with its
error, and the job goes back to the queue after its back-off, or gives up (FAILED) after its
last attempt or a permanent failure. The caller holds the job's row lock."""

from __future__ import annotations

import traceback as tb
from dataclasses import dataclass
from datetime import datetime, timedelta

from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from propdesk.jobs import retries
from propdesk.jobs.models import Attempt

TRACEBACK_LIMIT = 20_000  # the end of a traceback is what says what went wrong


@dataclass(frozen=True)
class Failure:
    error_class: str
    message: str
    traceback: str
    permanent: bool

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        kind = type(error)
        return cls(
            error_class=f"{kind.__module__}.{kind.__qualname__}",
            message=storable(str(error) or kind.__name__)[:500],
            traceback=storable("".join(tb.format_exception(error)))[-TRACEBACK_LIMIT:],
            permanent=retries.is_permanent(error),
        )


def storable(text: str) -> str:
    """Text any database keeps: an error may quote bytes with a NUL, which PostgreSQL refuses."""
    return text.replace("\x00", "\\x00")


def attempts_made(row: DBTaskResult) -> int:
    """Each claim of the job appends its worker: that list counts the attempts."""
    return len(row.worker_ids)


def after_failure(
    row: DBTaskResult,
    failure: Failure,
    *,
    outcome: str,
    worker_id: str,
    now: datetime,
    retry_in: float | None = None,
) -> Attempt:
    """Keep the attempt, then re-queue the job or let it give up.

    `retry_in` overrides the back-off (an abandoned job goes back at once: its lease was the
    wait)."""
    number = attempts_made(row)
    policy = retries.policy_for(row.task_path)
    gives_up = failure.permanent or number >= policy.max_attempts
    retry_at = None
    if not gives_up:
        wait = policy.delay(number) if retry_in is None else retry_in
        retry_at = now + timedelta(seconds=wait)
    attempt = Attempt.objects.create(
        result=row,
        number=number,
        worker_id=worker_id[:64],
        started_at=row.started_at,
        finished_at=now,
        outcome=outcome,
        error_class=failure.error_class[:200],
        message=failure.message,
        traceback=failure.traceback,
        retry_at=retry_at,
    )
    row.exception_class_path = failure.error_class
    row.traceback = failure.traceback
    row.return_value = None
    if retry_at is None:
        row.status = TaskResultStatus.FAILED
        row.finished_at = now
    else:
        row.status = TaskResultStatus.READY
        row.run_after = retry_at
        row.finished_at = None
    row.save(
        update_fields=[
            "status",
            "run_after",
            "finished_at",
            "exception_class_path",
            "traceback",
            "return_value",
        ]
    )
    return attempt
