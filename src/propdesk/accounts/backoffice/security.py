"""Back office: a staff member's own two-factor login (enrol, recovery codes, turn off)."""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from typing import Any

import django_otp
import segno
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.models import Device

from propdesk.accounts import two_factor
from propdesk.accounts.models import Authenticator
from propdesk.core.errors import DomainError
from propdesk.core.web import actor, staff_view


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="Current code (from your app, or a recovery code)",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )


class ConfirmForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="Code the app shows",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


# Each action's form: its class and its prefix (the page shows several at once).
FORMS: dict[str, tuple[type[forms.Form], str]] = {
    "confirm": (ConfirmForm, "confirm"),
    "replace": (CodeForm, "replace"),
    "regenerate": (CodeForm, "regenerate"),
    "disable": (CodeForm, "disable"),
}


def secret_text(device: Authenticator) -> str:
    """The key as an authenticator app takes it when typed in: base32, in groups of four."""
    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_image(device: Authenticator) -> str:
    """The otpauth:// link as a QR code in a data: URI, drawn here (nothing loaded from
    elsewhere; the page's content policy allows data: images)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=4, light="#fff")


def _page(
    request: HttpRequest,
    *,
    bound: tuple[str, forms.Form] | None = None,
    recovery_codes: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    me = actor(request)
    pending = two_factor.pending_enrolment(me)
    page_forms = {name: cls(prefix=prefix) for name, (cls, prefix) in FORMS.items()}
    if bound is not None:
        page_forms[bound[0]] = bound[1]
    context: dict[str, Any] = {
        "enrolled": two_factor.is_enrolled(me),
        "required": two_factor.is_required(me),
        "codes_left": two_factor.recovery_codes_left(me),
        "pending": {"qr": qr_image(pending), "secret": secret_text(pending)} if pending else None,
        "recovery_codes": recovery_codes,
        "forms": page_forms,
    }
    return render(request, "accounts/security.html", context, status=status)


def _mark_session(request: HttpRequest, device: Device) -> None:
    """This session gave its second factor with `device`: a new session key for the raised
    trust, and django-otp's mark that the gate reads."""
    request.session.cycle_key()
    django_otp.login(request, device)


@never_cache
@staff_view()
def security(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _bound(request: HttpRequest, name: str) -> forms.Form:
    cls, prefix = FORMS[name]
    return cls(request.POST, prefix=prefix)


def _refused(request: HttpRequest, name: str, form: forms.Form, exc: DomainError) -> HttpResponse:
    form.add_error("code" if "code" in exc.fields else None, exc.fields.get("code", exc.message))
    return _page(request, bound=(name, form), status=exc.status)


@require_POST
@never_cache
@staff_view()
def begin(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator; moving to a new app (already enrolled) needs a current code."""
    me = actor(request)
    form = _bound(request, "replace")
    code = None
    if two_factor.is_enrolled(me):
        if not form.is_valid():
            return _page(request, bound=("replace", form), status=422)
        code = form.cleaned_data["code"]
    try:
        two_factor.begin_enrolment(actor=me, code=code)
    except DomainError as exc:
        return _refused(request, "replace", form, exc)
    return redirect("backoffice:security")


def _code_action(
    request: HttpRequest, name: str, act: Callable[[str], HttpResponse]
) -> HttpResponse:
    """The flow of a form with one code: malformed, 422; refused by the use case, its status
    and message on the form; otherwise what `act` answers."""
    form = _bound(request, name)
    if not form.is_valid():
        return _page(request, bound=(name, form), status=422)
    try:
        return act(form.cleaned_data["code"])
    except DomainError as exc:
        return _refused(request, name, form, exc)


@require_POST
@never_cache
@staff_view()
def confirm(request: HttpRequest) -> HttpResponse:
    def act(code: str) -> HttpResponse:
        device, codes = two_factor.confirm_enrolment(actor=actor(request), code=code)
        _mark_session(request, device)
        messages.success(request, "Two-factor login is on. Every login now asks for a code.")
        return _page(request, recovery_codes=codes)

    return _code_action(request, "confirm", act)


@require_POST
@never_cache
@staff_view()
def regenerate(request: HttpRequest) -> HttpResponse:
    def act(code: str) -> HttpResponse:
        codes = two_factor.regenerate_recovery_codes(actor=actor(request), code=code)
        messages.success(request, "New recovery codes made; the old ones no longer work.")
        return _page(request, recovery_codes=codes)

    return _code_action(request, "regenerate", act)


@require_POST
@never_cache
@staff_view()
def disable(request: HttpRequest) -> HttpResponse:
    def act(code: str) -> HttpResponse:
        two_factor.disable(actor=actor(request), code=code)
        messages.success(request, "Two-factor login is off.")
        return redirect("backoffice:security")

    return _code_action(request, "disable", act)
