"""The worker's housekeeping: sweeps on their cadence, one failing not stopping the rest, and
the queue table itself kept from growing without end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.jobs import housekeeping
from propdesk.jobs.models import Attempt
from propdesk.wallet.models import WebhookEvent
from tests.jobs import factories

pytestmark = pytest.mark.django_db


def days_pass(days: int) -> None:
    DBTaskResult.objects.update(finished_at=timezone.now() - timedelta(days=days))


def test_successful_jobs_are_deleted_after_the_keep_days_and_failed_ones_stay(run_jobs, settings):
    settings.JOBS_KEEP_DAYS = 14
    done = factories.add.enqueue(1, 1)
    gave_up = factories.refuse.enqueue()
    run_jobs()
    days_pass(13)
    assert housekeeping.prune_finished_jobs() == 0
    days_pass(15)
    assert housekeeping.prune_finished_jobs() == 1
    assert [str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)] == [gave_up.id]
    assert Attempt.objects.filter(result_id=gave_up.id).exists()
    assert not DBTaskResult.objects.filter(pk=done.id).exists()


def test_a_failing_sweep_does_not_stop_the_others(monkeypatch):
    ran = []

    def broken() -> int:
        raise RuntimeError("the sweep's own bug")

    def fine() -> int:
        ran.append(True)
        return 0

    monkeypatch.setattr(housekeeping, "_sweeps", {})
    housekeeping.register("a.broken", every=60)(broken)
    housekeeping.register("b.fine", every=60)(fine)
    assert housekeeping.run_due(force=True) == {"b.fine": 0}
    assert ran == [True]


def test_a_sweep_runs_again_only_when_its_time_has_come(monkeypatch):
    runs = []
    monkeypatch.setattr(housekeeping, "_sweeps", {})
    housekeeping.register("a.count", every=60)(lambda: runs.append(1) or 0)
    housekeeping.run_due(clock=lambda: 1000.0)
    housekeeping.run_due(clock=lambda: 1059.0)
    assert len(runs) == 1
    housekeeping.run_due(clock=lambda: 1060.0)
    assert len(runs) == 2


def test_every_app_registers_its_sweeps():
    assert {
        "jobs.reap_abandoned",
        "jobs.prune_finished",
        "jobs.prune_workers",
        "wallet.lapse_unpaid_deposits",
        "wallet.prune_webhook_events",
        "notifications.webhooks",
        "challenges.lapse_unpaid_purchases",
        "accounts.prune_tokens",
        "accounts.clear_sessions",
    } <= set(housekeeping.sweeps())


def test_handled_webhook_events_are_forgotten_after_30_days():
    old = WebhookEvent.objects.create(provider="sandbox", event_id="evt_old")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=31))
    WebhookEvent.objects.create(provider="sandbox", event_id="evt_new")
    housekeeping.run_due(force=True)
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["evt_new"]
