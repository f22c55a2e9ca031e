"""Back office > Settings > Notifications: the catalogue's events with whose wording each
language uses, the edit page of one event in one language (with a preview filled with the
event's sample values) and the reset to the default."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.core.errors import NotFound, ValidationFailed
from propdesk.core.web import actor, apply_errors, edit_form, staff_view
from propdesk.notifications import events, firm_templates
from propdesk.notifications.permissions import NOTIFICATIONS_MANAGE, NOTIFICATIONS_VIEW


class TemplateForm(forms.Form):
    # Generous limits and nothing required here: the use case says what is wrong, in its words.
    subject = forms.CharField(max_length=2_000, strip=False, required=False)
    body = forms.CharField(
        max_length=100_000, strip=False, required=False, widget=forms.Textarea(attrs={"rows": 14})
    )


def _found(key: str, language: str) -> events.EventSpec:
    try:
        return firm_templates.event_and_language(key, language)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@staff_view(NOTIFICATIONS_VIEW)
def templates(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    return render(
        request,
        "notifications/settings_templates.html",
        {
            "groups": firm_templates.overview(actor=me),
            "languages": firm_templates.languages(),
            "can_manage": me.has_permission(NOTIFICATIONS_MANAGE),
        },
    )


def _page(request: HttpRequest, key: str, language: str) -> dict[str, Any]:
    spec = _found(key, language)
    _, _, own = events.wording(key, language)
    default_subject, default_body = firm_templates.default_wording(key, language)
    return {
        "spec": spec,
        "language": language,
        "language_name": firm_templates.languages()[language],
        "own": own,
        "default_subject": default_subject,
        "default_body": default_body,
        "can_manage": actor(request).has_permission(NOTIFICATIONS_MANAGE),
    }


@require_http_methods(["GET", "POST"])
@staff_view(NOTIFICATIONS_VIEW)
def template_edit(request: HttpRequest, key: str, language: str) -> HttpResponse:
    _found(key, language)
    subject, body, _ = events.wording(key, language)
    form = TemplateForm(request.POST or None, initial={"subject": subject, "body": body})
    return edit_form(
        request,
        form,
        lambda d: firm_templates.save_template(
            key, language, d["subject"], d["body"], actor=actor(request)
        ),
        saved=f"The template of {events.CATALOGUE[key].label} "
        f"({firm_templates.languages()[language]}) is saved.",
        then="backoffice:notification_templates",
        template="notifications/settings_template_edit.html",
        context=lambda: _page(request, key, language),
    )


@require_POST
@staff_view(NOTIFICATIONS_VIEW)
def template_preview(request: HttpRequest, key: str, language: str) -> HttpResponse:
    """The wording being edited, filled with the sample values; nothing is saved. htmx gets
    the preview alone, a browser without scripts the whole page with the form as typed."""
    _found(key, language)
    form = TemplateForm(request.POST)
    shown: tuple[str, str] | None = None
    status = 200
    if form.is_valid():
        try:
            shown = firm_templates.preview(
                key,
                language,
                form.cleaned_data["subject"],
                form.cleaned_data["body"],
                actor=actor(request),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
    if form.errors:
        status = 422 if not request.headers.get("HX-Request") else 200
    context = {"preview": shown, "preview_form": form}
    if request.headers.get("HX-Request"):
        return render(request, "notifications/_template_preview.html", context)
    page = {**_page(request, key, language), **context, "form": form}
    return render(request, "notifications/settings_template_edit.html", page, status=status)


@require_http_methods(["GET", "POST"])
@staff_view(NOTIFICATIONS_MANAGE)
def template_reset(request: HttpRequest, key: str, language: str) -> HttpResponse:
    """Asks first (GET), then deletes the firm's template (POST): the default is used again."""
    spec = _found(key, language)
    if request.method == "POST":
        if firm_templates.reset_template(key, language, actor=actor(request)):
            messages.success(request, f"{spec.label} ({language}) uses the default wording again.")
        else:
            messages.info(request, f"{spec.label} ({language}) already uses the default wording.")
        return redirect("backoffice:notification_templates")
    return render(
        request, "notifications/settings_template_reset.html", _page(request, key, language)
    )
