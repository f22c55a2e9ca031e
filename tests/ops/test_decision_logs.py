"""The monitor and the worker log what they decide: a breach with its rule and figures, a pass,
a stage set aside, a job's start, success, failure with its next try, and its giving up."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.challenges.models import StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.jobs.models import Attempt
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from tests.challenges.factories import breached, move, pass_stage, running, server, stage
from tests.jobs import factories as jobs

pytestmark = pytest.mark.django_db


def said(caplog, logger: str, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.getMessage().startswith(message)]


def test_the_monitor_logs_a_breach_with_its_rule_and_figures(
    active_client, finance, admin, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        joined, attempt, *_ = breached(active_client, finance, admin)
    [line] = said(caplog, "propdesk.monitor", "stage breached")
    assert line.levelno == logging.WARNING
    assert (line.attempt, line.participation, line.stage) == (attempt.pk, joined.pk, 0)  # type: ignore[attr-defined]
    assert (line.rule, line.outcome, line.login) == ("max_daily_loss", "failed", attempt.login)  # type: ignore[attr-defined]
    assert Decimal(line.equity) == Decimal("94880")  # type: ignore[attr-defined]
    assert Decimal(line.floor) == Decimal("95000")  # type: ignore[attr-defined]
    # ... and the account's access change it decided, carried out on the platform.
    done = said(caplog, "propdesk.platforms.outbox", "platform command done")
    assert any(r.kind == "set_access" and r.login == attempt.login for r in done)  # type: ignore[attr-defined]


class RolledBack(Exception):
    pass


def breach_then_roll_back(attempt: StageAttempt, price_feed: feed.Feed) -> None:
    with transaction.atomic():
        move(price_feed, "1.08000", "1.08012")  # below the daily floor
        monitor.process(server())
        assert StageAttempt.objects.get(pk=attempt.pk).status == "failed"  # decided...
        raise RolledBack  # ... and rolled back


def test_a_breach_rolled_back_is_not_logged_as_taken(
    active_client, finance, admin, caplog, django_capture_on_commit_callbacks
):
    """The monitor decides a breach in a transaction that is then rolled back: the verdict
    is gone, and so is its line (it waits for the commit)."""
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
        account = accounts.account_by_login(attempt.login)
        ticks.apply_tick("EURUSD", Decimal("1.08500"), Decimal("1.08512"))
        orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
        price_feed = feed.Feed()
        monitor.process(server())
        with pytest.raises(RolledBack):
            breach_then_roll_back(attempt, price_feed)
    assert StageAttempt.objects.get(pk=attempt.pk).status == "in_progress"
    assert not said(caplog, "propdesk.monitor", "stage breached")
    # The same breach committed is logged (the line above could not be missed by mistake).
    with django_capture_on_commit_callbacks(execute=True):
        monitor.process(server())
    assert StageAttempt.objects.get(pk=attempt.pk).status == "in_progress"
    with django_capture_on_commit_callbacks(execute=True):
        move(price_feed, "1.07990", "1.08002")
        monitor.process(server())
    assert StageAttempt.objects.get(pk=attempt.pk).status == "failed"
    assert len(said(caplog, "propdesk.monitor", "stage breached")) == 1


def test_the_monitor_logs_a_pass_and_the_days_it_closed(
    active_client, finance, admin, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO)
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage(), stage("live")])
    with django_capture_on_commit_callbacks(execute=True):
        pass_stage(attempt)
    [line] = said(caplog, "propdesk.monitor", "stage passed")
    assert (line.attempt, line.outcome, line.levelno) == (attempt.pk, "passed", logging.INFO)  # type: ignore[attr-defined]
    [closed] = said(caplog, "propdesk.monitor", "days closed")
    assert closed.outcomes == 1  # type: ignore[attr-defined]


def test_the_monitor_logs_a_stage_it_set_aside(active_client, finance, admin, caplog):
    caplog.set_level(logging.INFO)
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])

    def fault() -> None:
        raise RuntimeError("the evaluator's state is unreadable")

    monitor.guarded(attempt, fault, after=7)
    [line] = said(caplog, "propdesk.monitor", "stage set aside")
    assert (line.attempt, line.error, line.levelno) == (attempt.pk, "RuntimeError", logging.ERROR)  # type: ignore[attr-defined]
    assert line.exc_info is not None
    assert StageAttempt.objects.get(pk=attempt.pk).monitor_error.startswith("RuntimeError")


def test_the_worker_logs_a_failed_job_its_retry_and_its_giving_up(run_jobs, caplog):
    caplog.set_level(logging.INFO)
    result = jobs.always_fails.enqueue()  # two attempts, 5 s apart
    run_jobs()
    [started] = said(caplog, "propdesk.worker", "job started")
    assert (started.job, started.attempt) == (str(result.id), 1)  # type: ignore[attr-defined]
    [retry] = said(caplog, "propdesk.worker", "job failed, will retry at")
    first = Attempt.objects.get(result_id=result.id, number=1)
    assert retry.retry_at == first.retry_at.isoformat()  # type: ignore[attr-defined, union-attr]
    assert (retry.task, retry.error) == (  # type: ignore[attr-defined]
        "tests.jobs.factories.always_fails",
        "builtins.ConnectionError",
    )
    assert retry.levelno == logging.WARNING
    DBTaskResult.objects.filter(pk=result.id).update(run_after=timezone.now())
    run_jobs()
    [gave_up] = said(caplog, "propdesk.worker", "job failed, gave up after 2 attempts")
    assert (gave_up.attempt, gave_up.levelno) == (2, logging.ERROR)  # type: ignore[attr-defined]


def test_the_worker_logs_a_success(run_jobs, caplog):
    caplog.set_level(logging.INFO)
    result = jobs.add.enqueue(2, 3)
    run_jobs()
    [done] = said(caplog, "propdesk.worker", "job succeeded")
    assert (done.job, done.task) == (str(result.id), "tests.jobs.factories.add")  # type: ignore[attr-defined]


def test_the_worker_logs_an_abandoned_job_it_takes_back(run_jobs, caplog):
    caplog.set_level(logging.INFO)
    jobs.stalls_and_is_reaped.enqueue()  # its own worker's job, taken back from under it
    run_jobs()
    [line] = said(caplog, "propdesk.worker", "abandoned job reclaimed")
    assert line.task == "tests.jobs.factories.stalls_and_is_reaped"  # type: ignore[attr-defined]
