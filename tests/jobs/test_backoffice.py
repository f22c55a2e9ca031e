"""Settings > Background jobs: staff see the jobs that gave up or wait to retry, with their
errors, and retry or dismiss them (audited); the menu and the dashboard count the give-ups."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from propdesk.core.audit import AuditAction
from propdesk.core.errors import Forbidden
from propdesk.core.models import AuditRecord
from propdesk.jobs import services
from propdesk.jobs.models import Attempt
from tests.conftest import logged_in, post_form
from tests.jobs import factories

pytestmark = pytest.mark.django_db

PAGE = "/backoffice/settings/background-jobs/"


@pytest.fixture
def gave_up(run_jobs):
    result = factories.refuse.enqueue()
    run_jobs()
    return result


@pytest.fixture
def waiting(run_jobs):
    result = factories.always_fails.enqueue()
    run_jobs()
    return result


def test_the_page_lists_what_gave_up_and_what_waits_with_the_last_error(admin, gave_up, waiting):
    page = logged_in(admin).get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "refuse" in html
    assert "the other side said no for good" in html
    assert "always fails" in html
    assert "1 of 2" in html  # attempts so far of the job's maximum
    assert html.count("Retry now") == 2


def test_a_jobs_page_shows_every_attempt_with_its_traceback(admin, waiting):
    page = logged_in(admin).get(f"{PAGE}{waiting.id}/")
    assert page.status_code == 200
    assert b"Attempt 1: Failed" in page.content
    assert b"ConnectionError: down" in page.content  # the traceback's last line


def test_retry_now_runs_a_job_that_gave_up_once_more_and_is_audited(admin, gave_up, run_jobs):
    response = post_form(logged_in(admin), f"{PAGE}{gave_up.id}/retry/", {})
    assert response.status_code == 302
    job = DBTaskResult.objects.get(pk=gave_up.id)
    assert job.status == "READY"
    record = AuditRecord.objects.get(action=AuditAction.JOB_RETRY)
    assert (record.actor, record.object_id) == (admin, str(gave_up.id))
    run_jobs()  # it fails again, for good again: one more attempt, not a new series
    assert DBTaskResult.objects.get(pk=gave_up.id).status == "FAILED"
    assert Attempt.objects.filter(result_id=gave_up.id).count() == 2


def test_retry_now_of_a_job_waiting_for_its_back_off_runs_it_at_the_next_turn(
    admin, waiting, run_jobs
):
    assert run_jobs() == 0  # its back-off is not over
    services.retry_now(waiting.id, actor=admin)
    assert run_jobs() == 1


def test_a_job_that_succeeded_cannot_be_retried(admin, run_jobs):
    done = factories.add.enqueue(1, 1)
    run_jobs()
    response = post_form(logged_in(admin), f"{PAGE}{done.id}/retry/", {})
    assert response.status_code == 302
    assert DBTaskResult.objects.get(pk=done.id).status == "SUCCESSFUL"
    assert not AuditRecord.objects.filter(action=AuditAction.JOB_RETRY).exists()


def test_dismiss_forgets_a_job_that_gave_up_and_the_audit_keeps_its_error(admin, gave_up):
    post_form(logged_in(admin), f"{PAGE}{gave_up.id}/dismiss/", {})
    assert not DBTaskResult.objects.filter(pk=gave_up.id).exists()
    record = AuditRecord.objects.get(action=AuditAction.JOB_DISMISS)
    assert record.before["message"] == "the other side said no for good"


def test_the_menu_and_the_dashboard_count_the_jobs_that_gave_up(admin, gave_up):
    page = logged_in(admin).get("/backoffice/").content.decode()
    assert 'id="nav-jobs-gave-up" title="Jobs that gave up">1<' in page
    assert "1 background job gave up" in page


def test_no_count_when_nothing_gave_up(admin, waiting):
    page = logged_in(admin).get("/backoffice/").content.decode()
    assert "nav-jobs-gave-up" not in page
    assert "Background jobs" in page


def test_a_role_without_the_permission_sees_neither_the_page_nor_the_count(support, gave_up):
    http = logged_in(support)
    assert http.get(PAGE).status_code == 403
    assert "Background jobs" not in http.get("/backoffice/").content.decode()
    assert post_form(http, f"{PAGE}{gave_up.id}/retry/", {}).status_code == 403
    with pytest.raises(Forbidden):
        services.retry_now(gave_up.id, actor=support)
    assert DBTaskResult.objects.get(pk=gave_up.id).status == "FAILED"


@pytest.mark.parametrize("job_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", ""])
def test_an_unknown_job_is_not_found(admin, job_id):
    from propdesk.core.errors import NotFound

    with pytest.raises(NotFound):
        services.retry_now(job_id, actor=admin)
    assert logged_in(admin).get(f"{PAGE}00000000-0000-0000-0000-000000000000/").status_code == 404
