"""Client portal: the client's home page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from propdesk.core import panels
from propdesk.core.web import actor, client_view


@client_view
def home(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    # What other apps show on the home page: the latest notifications, ...
    shown = panels.collect(panels.PORTAL_HOME, request, client)
    return render(request, "accounts/portal_home.html", {"client": client, "panels": shown})
