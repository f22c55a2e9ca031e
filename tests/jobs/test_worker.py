"""The worker: failures retried with back-off and kept, abandoned jobs put back, give-ups
left for staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.jobs import leases
from propdesk.jobs.models import Attempt, WorkerProcess
from propdesk.notifications.tasks import send_email
from tests.jobs import factories

pytestmark = pytest.mark.django_db


def row(result) -> DBTaskResult:
    return DBTaskResult.objects.get(pk=result.id)


def time_passes(result) -> None:
    """The back-off is over: the job is due now."""
    DBTaskResult.objects.filter(pk=result.id).update(run_after=timezone.now())


def mail_server_down(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", factories.closed_port()


def test_a_job_that_succeeds_is_done_once(run_jobs):
    result = factories.add.enqueue(2, 3)
    assert run_jobs() == 1
    done = row(result)
    assert (done.status, done.return_value) == ("SUCCESSFUL", 5)
    assert not Attempt.objects.exists()


def test_an_email_while_the_mail_server_is_down_waits_and_is_sent_later(run_jobs, settings):
    mail_server_down(settings)
    settings.JOBS_RETRY_SECONDS = 30
    result = send_email.enqueue("trader@example.com", "Hello", "Body")
    before = timezone.now()
    run_jobs()
    waiting = row(result)
    assert waiting.status == "READY"
    # The first retry comes 15 to 30 s later (30 s, less up to half of it as jitter).
    assert before + timedelta(seconds=15) <= waiting.run_after
    assert waiting.run_after <= timezone.now() + timedelta(seconds=30)
    attempt = Attempt.objects.get(result=waiting)
    assert (attempt.number, attempt.outcome) == (1, "failed")
    assert attempt.error_class == "builtins.ConnectionRefusedError"
    assert attempt.retry_at == waiting.run_after
    assert run_jobs() == 0  # not before its time
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # back up
    time_passes(result)
    run_jobs()
    assert row(result).status == "SUCCESSFUL"
    assert [m.to for m in mail.outbox] == [["trader@example.com"]]
    # A second try of the same email carries the same Message-ID, so a copy is recognised.
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{result.id}@propdesk.jobs>"


def test_each_failed_attempt_keeps_its_error_and_the_last_one_gives_up(run_jobs):
    result = factories.always_fails.enqueue()
    run_jobs()
    assert row(result).status == "READY"
    time_passes(result)
    run_jobs()
    gave_up = row(result)
    assert gave_up.status == "FAILED"
    assert gave_up.exception_class_path == "builtins.ConnectionError"
    tries = list(Attempt.objects.filter(result=gave_up).order_by("number"))
    assert [(a.number, a.message) for a in tries] == [(1, "down"), (2, "down")]
    assert tries[0].retry_at is not None
    assert tries[1].retry_at is None  # the last: nothing planned
    time_passes(result)
    assert run_jobs() == 0  # a job that gave up stays put


def test_the_default_number_of_attempts_is_a_setting(run_jobs, settings):
    mail_server_down(settings)
    settings.JOBS_MAX_ATTEMPTS = 3
    result = send_email.enqueue("trader@example.com", "Hello", "Body")
    for _ in range(3):
        time_passes(result)
        run_jobs()
    assert row(result).status == "FAILED"
    assert len(row(result).worker_ids) == 3


def test_a_permanent_failure_gives_up_at_once(run_jobs):
    result = factories.refuse.enqueue()
    run_jobs()
    assert row(result).status == "FAILED"
    assert Attempt.objects.get(result_id=result.id).retry_at is None


def test_a_job_whose_code_is_gone_gives_up_at_once(run_jobs):
    result = factories.add.enqueue(1, 1)
    DBTaskResult.objects.filter(pk=result.id).update(task_path="tests.jobs.factories.gone")
    run_jobs()
    assert row(result).status == "FAILED"


def abandon(result, *, worker: str = "dead-host:123:abcdefgh", ago: timedelta | None = None):
    """The worker was killed mid-job: the row stays RUNNING under a worker that never beats."""
    started = timezone.now() - (ago or timedelta(hours=1))
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING", started_at=started, worker_ids=[worker]
    )


def test_a_job_of_a_killed_worker_is_put_back_after_the_lease_and_then_done(run_jobs, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.JOBS_LEASE_SECONDS = 300
    result = send_email.enqueue("trader@example.com", "Hello", "Body")
    abandon(result, ago=timedelta(seconds=301))
    run_jobs()  # the worker puts it back at start-up, then runs it
    done = row(result)
    assert done.status == "SUCCESSFUL"
    assert done.worker_ids[0] == "dead-host:123:abcdefgh"
    assert len(done.worker_ids) == 2  # the abandoned attempt counts
    attempt = Attempt.objects.get(result=done)
    assert (attempt.number, attempt.outcome) == (1, "abandoned")
    assert "dead-host:123:abcdefgh stopped" in attempt.message
    assert len(mail.outbox) == 1


def test_a_running_job_within_its_lease_is_left_alone(settings):
    settings.JOBS_LEASE_SECONDS = 300
    result = factories.add.enqueue(1, 2)
    abandon(result, ago=timedelta(seconds=200))
    assert leases.reap_abandoned() == 0
    assert row(result).status == "RUNNING"


def test_a_long_job_of_a_live_worker_is_not_taken_from_it(settings):
    settings.JOBS_LEASE_SECONDS = 300
    result = factories.add.enqueue(1, 2)
    abandon(result, worker="alive:1:aaaaaaaa", ago=timedelta(hours=2))
    WorkerProcess.objects.create(worker_id="alive:1:aaaaaaaa", seen_at=timezone.now())
    assert leases.reap_abandoned() == 0
    assert row(result).status == "RUNNING"
    # Once it stops beating for a lease, the job is put back.
    WorkerProcess.objects.update(seen_at=timezone.now() - timedelta(seconds=301))
    assert leases.reap_abandoned() == 1
    assert row(result).status == "READY"


def test_an_abandoned_job_on_its_last_attempt_gives_up(settings):
    settings.JOBS_MAX_ATTEMPTS = 2
    result = factories.add.enqueue(1, 2)
    abandon(result)
    DBTaskResult.objects.filter(pk=result.id).update(worker_ids=["w1", "w2"])
    leases.reap_abandoned()
    assert row(result).status == "FAILED"


def test_a_stalled_worker_does_not_overwrite_what_the_reaper_decided(run_jobs):
    result = factories.stalls_and_is_reaped.enqueue()
    run_jobs()
    after = row(result)
    # The job was put back while its worker stalled: the late result of that worker is
    # dropped; the job waits to run again.
    assert (after.status, after.return_value) == ("READY", None)
    assert [a.outcome for a in Attempt.objects.filter(result=after)] == ["abandoned"]


def test_a_worker_signs_out_when_it_stops(run_jobs):
    factories.add.enqueue(1, 1)
    run_jobs()
    assert not WorkerProcess.objects.exists()


def test_workers_not_seen_for_a_day_are_forgotten():
    WorkerProcess.objects.create(worker_id="old", seen_at=timezone.now() - timedelta(days=2))
    WorkerProcess.objects.create(worker_id="new", seen_at=timezone.now())
    assert leases.prune_workers() == 1
    assert list(WorkerProcess.objects.values_list("worker_id", flat=True)) == ["new"]


def test_an_error_quoting_a_nul_is_kept_and_the_worker_goes_on(run_jobs):
    """PostgreSQL keeps no NUL in text: the error is kept with it escaped, and the next job
    runs (a stored outcome that failed once used to wedge the worker for good)."""
    bad = factories.fails_quoting_a_nul.enqueue()
    later = factories.add.enqueue(1, 1)
    assert run_jobs() == 2
    gave_up = row(bad)
    assert gave_up.status == "FAILED"
    assert "bad\\x00reply" in Attempt.objects.get(result_id=bad.id).message
    assert row(later).status == "SUCCESSFUL"


def test_a_result_the_database_cannot_keep_is_a_failure_and_never_run_again(run_jobs):
    done = factories.returns_a_nul.enqueue()
    later = factories.add.enqueue(2, 2)
    assert run_jobs() == 2
    assert row(later).status == "SUCCESSFUL"
    kept = row(done)
    if kept.status == "SUCCESSFUL":  # SQLite keeps the NUL
        assert kept.return_value == "done\x00"
    else:  # PostgreSQL refuses it: the job ran, so it gives up rather than run twice
        assert kept.status == "FAILED"
        assert "could not be stored" in Attempt.objects.get(result_id=done.id).message
