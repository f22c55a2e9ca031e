"""Prop Trading > Monitor: where the real-time monitor stands (monitoring.status)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from propdesk.challenges.monitoring import status
from propdesk.challenges.permissions import CHALLENGES_VIEW
from propdesk.core.web import staff_view


@never_cache
@staff_view(CHALLENGES_VIEW)
def monitor_status(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "challenges/monitor_status.html",
        {
            "feeds": status.feeds(),
            "processes": status.processes(),
            "set_aside": status.set_aside()[:200],
        },
    )
