"""KYC pages: the client's verification in the portal, documents, and Settings > KYC."""

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

from propdesk.accounts import permissions
from propdesk.core.errors import DomainError, NotAuthenticated, ValidationFailed
from propdesk.core.uploads import too_large
from propdesk.core.web import actor, apply_errors, client_view, staff_view
from propdesk.onboarding import kyc, kyc_actions
from propdesk.onboarding.models import KycField, KycForm

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
    form = _portal_form(spec, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if isinstance(v, str)}
        try:
            kyc.submit(
                client,
                form_id=kyc_form.pk,
                values=values,
                files=request.FILES,
                too_large=too_large(request),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("portal:kyc")
        else:
            messages.success(request, "Thank you. Your details are submitted for review.")
            return redirect("portal:kyc")
    return render(
        request,
        "onboarding/kyc_submit.html",
        {"kyc_form": kyc_form, "form": form},
        status=422 if form.errors else 200,
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


# --- Settings > KYC ----------------------------------------------------------------------------


class PolicyForm(forms.Form):
    blocked_actions = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Until KYC is approved, a client may not:",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["blocked_actions"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = list(kyc_actions.catalogue().items())


@require_http_methods(["GET", "POST"])
@staff_view(permissions.APPROVALS_VIEW)
def kyc_settings(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    form = PolicyForm(
        request.POST or None, initial={"blocked_actions": kyc.policy().blocked_actions}
    )
    if request.method == "POST" and form.is_valid():
        try:
            kyc.set_policy(form.cleaned_data["blocked_actions"], actor=me)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "KYC policy saved.")
            return redirect("backoffice:kyc_settings")
    return render(
        request,
        "onboarding/kyc_settings.html",
        {
            "form": form,
            "kyc_forms": KycForm.objects.prefetch_related("fields", "documents"),
            "can_edit": me.has_permission(permissions.SETTINGS_MANAGE),
        },
    )


class FormMetaForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    is_default = forms.BooleanField(required=False, label="Default form")
    is_active = forms.BooleanField(required=False, label="Offered to clients", initial=True)


class FieldRow(forms.Form):
    key = forms.CharField(max_length=40, required=False)
    label = forms.CharField(max_length=100, required=False)
    kind = forms.ChoiceField(choices=KycField.Kind.choices, required=False)
    required = forms.BooleanField(required=False, initial=True)
    choices = forms.CharField(
        max_length=1000, required=False, help_text="For a choice: the options, comma-separated"
    )


class DocumentRow(forms.Form):
    key = forms.CharField(max_length=40, required=False)
    label = forms.CharField(max_length=100, required=False)
    required = forms.BooleanField(required=False, initial=True)


FieldRows = forms.formset_factory(FieldRow, extra=3, max_num=kyc.MAX_FIELDS)
DocumentRows = forms.formset_factory(DocumentRow, extra=2, max_num=kyc.MAX_FIELDS)


def _rows(formset: forms.BaseFormSet, *, with_kind: bool) -> list[dict[str, Any]]:
    rows = []
    for row in formset.cleaned_data:
        if not row or not (row.get("key") or row.get("label")):
            continue  # an empty row is no row
        item: dict[str, Any] = {
            "key": row["key"],
            "label": row["label"],
            "required": row["required"],
        }
        if with_kind:
            item["kind"] = row["kind"]
            item["choices"] = [c.strip() for c in row["choices"].split(",") if c.strip()]
        rows.append(item)
    return rows


@require_http_methods(["GET", "POST"])
@staff_view(permissions.SETTINGS_MANAGE)
def kyc_form_edit(request: HttpRequest, form_id: int | None = None) -> HttpResponse:
    existing = KycForm.objects.filter(pk=form_id).first() if form_id is not None else None
    if form_id is not None and existing is None:
        raise Http404("No such KYC form")
    spec = kyc.snapshot(existing) if existing else {"fields": [], "documents": []}
    meta_initial = (
        {
            "name": existing.name,
            "description": existing.description,
            "is_default": existing.is_default,
            "is_active": existing.is_active,
        }
        if existing
        else {"is_active": True}
    )
    field_initial = [{**f, "choices": ", ".join(f["choices"])} for f in spec["fields"]]
    data = request.POST or None
    meta = FormMetaForm(data, initial=meta_initial)
    field_rows = FieldRows(data, initial=field_initial, prefix="fields")
    document_rows = DocumentRows(data, initial=spec["documents"], prefix="documents")
    if (
        request.method == "POST"
        and meta.is_valid()
        and field_rows.is_valid()
        and document_rows.is_valid()
    ):
        try:
            saved = kyc.save_form(
                existing.pk if existing else None,
                name=meta.cleaned_data["name"],
                description=meta.cleaned_data["description"],
                is_default=meta.cleaned_data["is_default"],
                is_active=meta.cleaned_data["is_active"],
                fields=_rows(field_rows, with_kind=True),
                documents=_rows(document_rows, with_kind=False),
                actor=actor(request),
            )
        except ValidationFailed as exc:
            apply_errors(meta, exc)
        else:
            messages.success(request, f"KYC form {saved.name} saved.")
            return redirect("backoffice:kyc_settings")
    return render(
        request,
        "onboarding/kyc_form_edit.html",
        {
            "existing": existing,
            "meta": meta,
            "field_rows": field_rows,
            "document_rows": document_rows,
        },
        status=422 if request.method == "POST" else 200,  # a valid POST has redirected
    )
