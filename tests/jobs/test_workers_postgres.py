"""Several workers at once (PostgreSQL row locks): each job is taken by one, each abandoned
job put back once; a live worker's heartbeat keeps its long job its own."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.jobs import leases
from propdesk.jobs.models import Attempt
from propdesk.jobs.worker import Worker
from tests.jobs import factories
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


@pytest.mark.parametrize("attempt", range(3))
def test_reapers_running_at_once_put_each_abandoned_job_back_once(attempt):
    made = [factories.add.enqueue(n, n) for n in range(30)]
    DBTaskResult.objects.update(
        status="RUNNING", started_at=timezone.now() - timedelta(hours=1), worker_ids=["dead"]
    )
    outcomes = at_once(leases.reap_abandoned, leases.reap_abandoned, leases.reap_abandoned)
    assert sum(outcomes) == 30  # type: ignore[arg-type]
    assert Attempt.objects.count() == 30
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"READY"}
    assert len(made) == 30


@pytest.mark.parametrize("attempt", range(3))
def test_workers_running_at_once_each_take_different_jobs(attempt):
    for n in range(20):
        factories.add.enqueue(n, 1)
    outcomes = at_once(*(lambda: Worker(heartbeat=False).run(batch=True) for _ in range(3)))
    assert sum(outcomes) == 20  # type: ignore[arg-type]
    done = DBTaskResult.objects.all()
    assert {j.status for j in done} == {"SUCCESSFUL"}
    assert {len(j.worker_ids) for j in done} == {1}  # nobody ran a job twice


def test_a_worker_keeps_beating_while_a_long_job_runs_so_it_is_not_taken(settings):
    settings.JOBS_LEASE_SECONDS = 4  # a beat every second
    result = factories.waits_for_a_heartbeat.enqueue()
    Worker(heartbeat=True).run(batch=True)
    done = DBTaskResult.objects.get(pk=result.id)
    assert (done.status, done.return_value) == ("SUCCESSFUL", True)
    assert not Attempt.objects.exists()


def test_a_worker_outlives_a_cut_database_connection_and_records_the_outcome_after():
    result = factories.loses_its_database_connection.enqueue()
    stop = threading.Event()
    worker = Worker(heartbeat=False, interval=0.1, stop=stop)

    def run() -> None:
        try:
            worker.run()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        for _ in range(600):  # at most a minute
            done = DBTaskResult.objects.get(pk=result.id)
            if done.status != "RUNNING" and done.status != "READY":
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert (done.status, done.return_value) == ("SUCCESSFUL", "done")
    assert len(done.worker_ids) == 1  # recorded by the worker that ran it, not run again
