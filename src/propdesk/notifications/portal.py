"""Client portal: the client's notifications."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from propdesk.accounts.models import Client
from propdesk.core.web import actor, client_view
from propdesk.notifications.models import Notification
from propdesk.notifications.services import mark_all_read, unread_count


def home_panel(request: HttpRequest, client: Client) -> dict[str, object]:
    """The portal's home page: the latest notifications."""
    return {"notifications": Notification.objects.filter(user=client.user)[:5]}


@client_view
def notifications(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    notes = list(Notification.objects.filter(user=me)[:100])
    context = {"notifications": notes, "unread": unread_count(me)}
    return render(request, "notifications/notifications.html", context)


@require_POST
@client_view
def notifications_read(request: HttpRequest) -> HttpResponse:
    mark_all_read(actor(request))
    return redirect("portal:notifications")
