"""Client portal: the client's home page and their profile (who they are, their time zone)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from propdesk.accounts import services, zones
from propdesk.core import panels
from propdesk.core.web import actor, client_view, edit_form

ZONE_HELP = gettext_lazy(
    "Day closes, when a stage passes and every other time in the portal are shown in this zone."
)
LANGUAGE_HELP = gettext_lazy("The language of the portal and of the emails you receive.")


def time_zone_field(current: str = "", **attrs: str) -> forms.CharField:
    """The time-zone select of the registration and profile forms: the firm's zone, the common
    ones and the current one. A text field underneath, so that any IANA name (the browser's,
    added by the registration page's script) reaches the service, which checks it."""
    return forms.CharField(
        required=False,
        label=gettext_lazy("Time zone"),
        widget=forms.Select(choices=zones.choices(current), attrs=attrs),
        help_text=ZONE_HELP,
    )


class ProfileForm(forms.Form):
    def __init__(self, *args: object, current: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["time_zone"] = time_zone_field(current)
        self.fields["language"] = language_field()


def language_field() -> forms.ChoiceField:
    """The language select of the registration and profile forms (settings.LANGUAGES, each
    named in its own language)."""
    return forms.ChoiceField(
        required=False,
        label=gettext_lazy("Language"),
        choices=settings.LANGUAGES,
        help_text=LANGUAGE_HELP,
    )


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
    initial = {"time_zone": client.time_zone, "language": client.user.language}
    form = ProfileForm(request.POST or None, initial=initial, current=client.time_zone)

    def save(data: dict[str, object]) -> object:
        with transaction.atomic():  # both or neither
            services.set_language(client, data["language"] or client.user.language)
            saved = services.set_time_zone(client, data["time_zone"])
        translation.activate(client.user.language)  # the message reads in the new language
        return saved

    return edit_form(
        request,
        form,
        save,
        then="portal:profile",
        saved=lambda saved: (
            (
                _("Saved: the portal shows times in %(zone)s (the firm's time zone).")
                if not saved.time_zone
                else _("Saved: the portal shows times in %(zone)s.")
            )
            % {"zone": zones.zone_of(saved).key}
        ),
        template="accounts/portal_profile.html",
        context=lambda: {"client": client, "zone": zones.zone_of(client).key},
    )
