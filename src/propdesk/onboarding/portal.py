"""Client portal: registering, and the client's identity verification (KYC) with its documents."""

from __future__ import annotations

from io import BytesIO
from pathlib import PurePath
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods
from django_countries import countries

from propdesk.accounts.models import Client
from propdesk.core.errors import DomainError, NotAuthenticated, Throttled
from propdesk.core.net import client_ip
from propdesk.core.uploads import too_large
from propdesk.core.web import actor, client_view, edit_form
from propdesk.onboarding import kyc
from propdesk.onboarding.models import KycField
from propdesk.onboarding.services import register_client


class RegistrationForm(forms.Form):
    type = forms.ChoiceField(
        choices=Client.Kind.choices,
        widget=forms.RadioSelect,
        initial=Client.Kind.TRADER,
        label="I register as",
    )
    name = forms.CharField(max_length=150, label="Full name")
    email = forms.CharField(max_length=254, widget=forms.EmailInput)
    phone = forms.CharField(
        max_length=32,
        help_text="With the country code, e.g. +420 601 234 567",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    nationality = forms.ChoiceField(choices=[("", "Choose…"), *countries])
    password = forms.CharField(
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password and not only digits.",
    )
    password_again = forms.CharField(
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="Password (again)",
    )
    referral_code = forms.CharField(max_length=40, required=False, label="Referral code (optional)")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords are not the same.")
        return data


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    initial = {"referral_code": request.GET.get("ref", "")[:40]}

    def done(made: tuple[Client, Any]) -> HttpResponse:
        request.session["registered_status"] = made[0].status
        return redirect("portal:registered")

    return edit_form(
        request,
        RegistrationForm(request.POST or None, initial=initial),
        lambda data: register_client(
            kind=data["type"],
            name=data["name"],
            email=data["email"],
            password=data["password"],
            nationality=data["nationality"],
            phone=data["phone"],
            referral_code=data["referral_code"],
            ip=client_ip(request),
        ),
        then=done,
        template="onboarding/register.html",
        refused=(Throttled,),
        refused_status=422,
    )


def registered(request: HttpRequest) -> HttpResponse:
    status = request.session.pop("registered_status", None)
    if status is None:
        return redirect("login")
    return render(request, "onboarding/registered.html", {"active": status == Client.Status.ACTIVE})


# --- identity verification (KYC) ----------------------------------------------------------------

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def _portal_form(spec: dict[str, Any], data: Any = None, files: Any = None) -> forms.Form:
    """A Django form drawn from the KYC form's questions; the service does the checking."""
    form = forms.Form(data, files)
    for field in spec["fields"]:
        label = field["label"] + ("" if field["required"] else " (optional)")
        kind = field["kind"]
        if kind == KycField.Kind.CHOICE:
            choices = [("", "Choose…")] + [(c, c) for c in field["choices"]]
            form.fields[field["key"]] = forms.ChoiceField(
                label=label, choices=choices, required=False
            )
        elif kind == KycField.Kind.COUNTRY:
            choices = [("", "Choose…"), *countries]
            form.fields[field["key"]] = forms.ChoiceField(
                label=label, choices=choices, required=False
            )
        elif kind == KycField.Kind.DATE:
            form.fields[field["key"]] = forms.CharField(
                label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
        else:
            form.fields[field["key"]] = forms.CharField(label=label, required=False, max_length=200)
    for doc in spec["documents"]:
        label = doc["label"] + ("" if doc["required"] else " (optional)")
        form.fields[doc["key"]] = forms.FileField(
            label=label,
            required=False,
            widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
            help_text="PDF, JPEG or PNG, at most 10 MB.",
        )
    form.fields["confirm"] = forms.BooleanField(
        label="I have reviewed these details; they are true and the documents are mine.",
        required=True,
    )
    return form


@client_view
def kyc_home(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    return render(
        request,
        "onboarding/kyc_home.html",
        {
            "client": client,
            "kyc_block": kyc.submission_block(client),
            "kyc_forms": kyc.active_forms(),
            "history": kyc.history(client),
        },
    )


@require_http_methods(["GET", "POST"])
@client_view
def kyc_submit(request: HttpRequest, form_id: int) -> HttpResponse:
    client = actor(request).client
    kyc_form = kyc.active_forms().filter(pk=form_id).first()
    if kyc_form is None:
        raise Http404("No such KYC form")
    block = kyc.submission_block(client)
    if block is not None:
        messages.info(request, block)
        return redirect("portal:kyc")
    spec = kyc.snapshot(kyc_form)
    try:
        return edit_form(
            request,
            _portal_form(spec, request.POST or None, request.FILES or None),
            lambda data: kyc.submit(
                client,
                form_id=kyc_form.pk,
                values={k: v for k, v in data.items() if isinstance(v, str)},
                files=request.FILES,
                too_large=too_large(request),
            ),
            saved="Thank you. Your details are submitted for review.",
            then="portal:kyc",
            template="onboarding/kyc_submit.html",
            context={"kyc_form": kyc_form},
        )
    except DomainError as exc:  # a refusal other than a field's: told on the KYC page
        messages.error(request, exc.message)
        return redirect("portal:kyc")


@require_GET
def kyc_document(request: HttpRequest, token: str) -> FileResponse:
    if not request.user.is_authenticated:
        raise NotAuthenticated()
    handout = kyc.hand_out(actor(request), token, preview=request.GET.get("preview") == "1")
    document = handout.document
    response = FileResponse(
        BytesIO(handout.content),
        content_type=document.content_type,
        as_attachment=not handout.inline,
        filename=(slugify(document.label) or "document") + PurePath(document.stored_name).suffix,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # Served from our own origin, so it may never run or load anything itself, nor be framed;
    # a picture opened on its own is a sandboxed page with no origin.
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'; sandbox"
    )
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
