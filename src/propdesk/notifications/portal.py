"""Client portal: the client's notifications, and the pop-up of the new ones on every page."""

from __future__ import annotations

from django.db.models import Count, Max, Window
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from propdesk.accounts.models import Client
from propdesk.core.web import actor, client_view
from propdesk.notifications.models import Notification
from propdesk.notifications.services import mark_all_read, mark_seen, unread_count, unseen

POPUP_SHOWS = 3  # the newest ones; the pop-up says how many more


def home_panel(request: HttpRequest, client: Client) -> dict[str, object]:
    """The portal's home page: the latest notifications."""
    return {"notifications": Notification.objects.filter(user=client.user)[:5]}


def popup(request: HttpRequest, user: object) -> dict[str, object]:
    """Every portal page: the notifications that arrived since the client last saw them. The
    notifications page lists them itself."""
    if request.resolver_match is not None and request.resolver_match.url_name == "notifications":
        return {"popup": []}
    # One query on every page: the newest few, with how many there are and the newest id.
    shown = list(
        unseen(actor(request)).annotate(
            unseen_total=Window(Count("pk")), unseen_newest=Window(Max("pk"))
        )[:POPUP_SHOWS]
    )
    if not shown:
        return {"popup": []}
    return {
        "popup": shown,
        "popup_more": shown[0].unseen_total - len(shown),
        # Dismissing marks seen up to the newest one shown: one that came after pops up later.
        "popup_up_to": shown[0].unseen_newest,
        "popup_next": request.get_full_path(),
    }


@client_view
def notifications(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    notes = list(Notification.objects.filter(user=me)[:100])
    context = {"notifications": notes, "unread": unread_count(me)}
    response = render(request, "notifications/notifications.html", context)
    if notes:  # the client has seen what is new: it no longer pops up
        mark_seen(me, up_to=max(n.pk for n in notes))
    return response


@require_POST
@client_view
def notifications_read(request: HttpRequest) -> HttpResponse:
    mark_all_read(actor(request))
    return redirect("portal:notifications")


@require_POST
@client_view
def notifications_seen(request: HttpRequest) -> HttpResponse:
    """The pop-up's Dismiss: what it showed is seen (still unread). htmx removes the pop-up;
    without scripts the browser goes back to the page it was on."""
    try:
        up_to: int | None = int(request.POST.get("up_to", ""))
    except ValueError:
        up_to = None
    mark_seen(actor(request), up_to=up_to)
    if request.headers.get("HX-Request"):
        return HttpResponse("")
    back = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    if not back.startswith("/portal/") or not safe:
        back = "/portal/"
    return redirect(back)
