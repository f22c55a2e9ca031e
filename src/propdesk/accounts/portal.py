"""Client portal: the client's home page and their profile (who they are, their time zone)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from propdesk.accounts import services, zones
from propdesk.core import panels
from propdesk.core.web import actor, client_view, edit_form

ZONE_HELP = (
    "Day closes, when a stage passes and every other time in the portal are shown in this zone."
)


def time_zone_field(current: str = "", **attrs: str) -> forms.CharField:
    """The time-zone select of the registration and profile forms: the firm's zone, the common
    ones and the current one. A text field underneath, so that any IANA name (the browser's,
    added by the registration page's script) reaches the service, which checks it."""
    return forms.CharField(
        required=False,
        label="Time zone",
        widget=forms.Select(choices=zones.choices(current), attrs=attrs),
        help_text=ZONE_HELP,
    )


class ProfileForm(forms.Form):
    def __init__(self, *args: object, current: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["time_zone"] = time_zone_field(current)


@client_view
def home(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    # What other apps show on the home page: the latest notifications, ...
    shown = panels.collect(panels.PORTAL_HOME, request, client)
    return render(request, "accounts/portal_home.html", {"client": client, "panels": shown})


@require_http_methods(["GET", "POST"])
@client_view
def profile(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    form = ProfileForm(
        request.POST or None, initial={"time_zone": client.time_zone}, current=client.time_zone
    )
    return edit_form(
        request,
        form,
        lambda data: services.set_time_zone(client, data["time_zone"]),
        then="portal:profile",
        saved=lambda saved: (
            f"Saved: the portal shows times in {zones.zone_of(saved).key}"
            + ("" if saved.time_zone else " (the firm's time zone)")
            + "."
        ),
        template="accounts/portal_profile.html",
        context=lambda: {"client": client, "zone": zones.zone_of(client).key},
    )
