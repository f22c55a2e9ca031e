"""Back office > Settings > Background jobs: what failed for good, what waits to retry."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from propdesk.core.errors import DomainError
from propdesk.core.web import actor, staff_view
from propdesk.jobs import services
from propdesk.jobs.permissions import JOBS_MANAGE, JOBS_VIEW


@staff_view(JOBS_VIEW)
def jobs(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    found = services.problems(me)
    return render(
        request,
        "jobs/jobs.html",
        {
            "gave_up": found[services.GAVE_UP],
            "waiting": found[services.WAITING],
            # The lists stop at 200 each; the headings count them all.
            "gave_up_total": services.gave_up().count(),
            "waiting_total": services.waiting_to_retry().count(),
            "can_manage": me.has_permission(JOBS_MANAGE),
        },
    )


@staff_view(JOBS_VIEW)
def job(request: HttpRequest, job_id: str) -> HttpResponse:
    me = actor(request)
    row, tries = services.detail(job_id, actor=me)
    context = {"job": row, "tries": tries, "can_manage": me.has_permission(JOBS_MANAGE)}
    return render(request, "jobs/job.html", context)


@require_POST
@staff_view(JOBS_MANAGE)
def job_retry(request: HttpRequest, job_id: str) -> HttpResponse:
    try:
        row = services.retry_now(job_id, actor=actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The job {row.task} runs again at the worker's next turn.")
    return redirect("backoffice:jobs")


@require_POST
@staff_view(JOBS_MANAGE)
def job_dismiss(request: HttpRequest, job_id: str) -> HttpResponse:
    try:
        services.dismiss(job_id, actor=actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The job is dismissed; the audit log keeps its last error.")
    return redirect("backoffice:jobs")
