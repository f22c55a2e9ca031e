"""Client portal: the client's home page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from propdesk.core.web import actor, client_view
from propdesk.notifications.models import Notification


@client_view
def home(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    notes = Notification.objects.filter(user=me)[:5]
    return render(
        request, "accounts/portal_home.html", {"client": me.client, "notifications": notes}
    )
