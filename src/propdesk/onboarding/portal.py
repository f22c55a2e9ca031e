"""Client portal: registering, and the client's identity verification (KYC) with its documents."""

from __future__ import annotations

from io import BytesIO
from pathlib import PurePath
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_countries import countries

from propdesk.accounts.models import Client
from propdesk.accounts.portal import language_field, time_zone_field
from propdesk.core.errors import DomainError, NotAuthenticated, Throttled, ValidationFailed
from propdesk.core.net import client_ip
from propdesk.core.uploads import too_large
from propdesk.core.web import actor, apply_errors, client_view, edit_form
from propdesk.onboarding import kept_uploads, kyc, vendor_kyc
from propdesk.onboarding.models import KycField, KycKeptUpload
from propdesk.onboarding.services import promo_link_code, register_client


def _countries() -> list[tuple[str, str]]:
    """The nationality options, named in the page's language (read when the form is made)."""
    return [("", gettext("Choose…")), *countries]


class RegistrationForm(forms.Form):
    type = forms.ChoiceField(
        choices=Client.Kind.choices,
        widget=forms.RadioSelect,
        initial=Client.Kind.TRADER,
        label=gettext_lazy("I register as"),
    )
    name = forms.CharField(max_length=150, label=gettext_lazy("Full name"))
    email = forms.CharField(max_length=254, widget=forms.EmailInput, label=gettext_lazy("Email"))
    phone = forms.CharField(
        max_length=32,
        label=gettext_lazy("Phone"),
        help_text=gettext_lazy("With the country code, e.g. +420 601 234 567"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    nationality = forms.ChoiceField(choices=_countries, label=gettext_lazy("Nationality"))
    password = forms.CharField(
        max_length=1024,
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "At least 10 characters; not a common password and not only digits."
        ),
    )
    password_again = forms.CharField(
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label=gettext_lazy("Password (again)"),
    )
    referral_code = forms.CharField(
        max_length=40, required=False, label=gettext_lazy("Referral code (optional)")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Its options as of now. On the blank form the page's script (accounts/time_zone.js)
        # picks the browser's zone; a form sent back keeps what the person chose.
        prefill = {} if self.is_bound else {"data-browser-zone": ""}
        chosen = str(self.data.get("time_zone", "")) if self.is_bound else ""
        self.fields["time_zone"] = time_zone_field(current=chosen, **prefill)
        self.fields["language"] = language_field()
        self.fields["language"].initial = translation.get_language()

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords are not the same."))
        return data


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    # A promotional link clicked before (challenges/growth/link_pages.py) left its code and its
    # referrer's in the session: the referrer fills the form and stands unless another is typed.
    promo_referrer = promo_link_code(request.session.get("promo_referrer"))
    initial = {"referral_code": request.GET.get("ref", "")[:40] or promo_referrer}

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
            referral_code=data["referral_code"] or promo_referrer,
            time_zone=data["time_zone"],
            language=data["language"] or translation.get_language(),
            ip=client_ip(request),
            arrived_via=request.session.get("promo_link"),
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
KEPT = "kept_"  # the hidden field naming a kept document: kept_<document key>


def _optional(label: str) -> str:
    """A question the client may leave out: the firm's words, marked in the client's."""
    return gettext("%(label)s (optional)") % {"label": label}


def _portal_form(
    spec: dict[str, Any],
    data: Any = None,
    kept: dict[str, KycKeptUpload] | None = None,
) -> forms.Form:
    """A Django form drawn from the KYC form's questions. It checks nothing itself: the service
    checks every answer and document at once and the page shows all it finds. A document kept
    from a failed submit is named in a hidden field and under its input."""
    form = forms.Form(data)
    for field in spec["fields"]:
        label = field["label"] if field["required"] else _optional(field["label"])
        kind = field["kind"]
        if kind in (KycField.Kind.CHOICE, KycField.Kind.COUNTRY):
            choices = (
                [(c, c) for c in field["choices"]] if kind == KycField.Kind.CHOICE else countries
            )
            widget: forms.Widget = forms.Select(choices=[("", gettext_lazy("Choose…")), *choices])
        elif kind == KycField.Kind.DATE:
            widget = forms.DateInput(attrs={"type": "date"})
        else:
            widget = forms.TextInput(attrs={"maxlength": 200})
        form.fields[field["key"]] = forms.CharField(label=label, required=False, widget=widget)
    for doc in spec["documents"]:
        label = doc["label"] if doc["required"] else _optional(doc["label"])
        row = (kept or {}).get(doc["key"])
        form.fields[doc["key"]] = forms.FileField(
            label=label,
            required=False,
            widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
            help_text=(
                gettext("%(name)s (kept); choose another file only to replace it.")
                % {"name": row.original_name}
                if row is not None
                else gettext("PDF, JPEG or PNG, at most 10 MB.")
            ),
        )
        if row is not None:
            form.fields[KEPT + doc["key"]] = forms.CharField(
                required=False, widget=forms.HiddenInput, initial=str(row.token)
            )
    form.fields["confirm"] = forms.BooleanField(
        label=gettext_lazy(
            "I have reviewed these details; they are true and the documents are mine."
        ),
        required=False,
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
            "vendor_offered": vendor_kyc.offered(),
            "vendor_block": vendor_kyc.start_block(client),
            "vendor_check": vendor_kyc.applicant_of(client),
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
    status = 200
    data = None
    if request.method == "POST":
        keys = [doc["key"] for doc in spec["documents"]]
        try:
            kyc.submit(
                client,
                form_id=kyc_form.pk,
                values={f["key"]: request.POST.get(f["key"], "") for f in spec["fields"]},
                files=request.FILES,
                too_large=too_large(request),
                kept={key: request.POST.get(KEPT + key, "") for key in keys},
                confirmed=request.POST.get("confirm") == "on",
                keep=True,
            )
        except ValidationFailed as exc:
            # The answers come back as typed; the kept documents by their newest tokens.
            data = request.POST.copy()
            kept = kept_uploads.current(client, kyc_form)
            for key in keys:
                data.pop(KEPT + key, None)
                if key in kept:
                    data[KEPT + key] = str(kept[key].token)
            form = _portal_form(spec, data, kept)
            apply_errors(form, exc)
            status = exc.status
        except DomainError as exc:  # a refusal other than a field's: told on the KYC page
            messages.error(request, exc.message)
            return redirect("portal:kyc")
        else:
            messages.success(request, _("Thank you. Your details are submitted for review."))
            return redirect("portal:kyc")
    if data is None:
        form = _portal_form(spec, None, kept_uploads.current(client, kyc_form))
    return render(
        request,
        "onboarding/kyc_submit.html",
        {"kyc_form": kyc_form, "form": form},
        status=status,
    )


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
