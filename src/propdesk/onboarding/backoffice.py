"""Back office > Settings > KYC: the KYC policy and the KYC forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from propdesk.accounts.models import Client
from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.permissions import APPROVALS_VIEW
from propdesk.core.permissions import SETTINGS_MANAGE
from propdesk.core.web import actor, edit_form, staff_view
from propdesk.onboarding import kyc, kyc_actions
from propdesk.onboarding.models import KycField, KycForm


class PolicyForm(forms.Form):
    blocked_actions = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Until KYC is approved, a client may not:",
        help_text="Trade stops new orders in the web terminal and the trading API; reading the "
        "account and closing a position stay allowed.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["blocked_actions"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = list(kyc_actions.catalogue().items())


@require_http_methods(["GET", "POST"])
@staff_view(APPROVALS_VIEW)
def kyc_settings(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    can_edit = me.has_permission(SETTINGS_MANAGE)
    form = PolicyForm(
        request.POST or None, initial={"blocked_actions": kyc.policy().blocked_actions}
    )
    if not can_edit:  # shown as it is, read only (saving it is refused anyway)
        for field in form.fields.values():
            field.disabled = True
    return edit_form(
        request,
        form,
        lambda data: kyc.set_policy(data["blocked_actions"], actor=me),
        saved="KYC policy saved.",
        then="backoffice:kyc_settings",
        template="onboarding/kyc_settings.html",
        context={
            "kyc_forms": KycForm.objects.prefetch_related("fields", "documents"),
            "can_edit": can_edit,
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
@staff_view(SETTINGS_MANAGE)
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
    data = request.POST if request.method == "POST" else None  # an empty POST is a bad one
    meta = FormMetaForm(data, initial=meta_initial)
    field_rows = FieldRows(data, initial=field_initial, prefix="fields")
    document_rows = DocumentRows(data, initial=spec["documents"], prefix="documents")
    return edit_form(
        request,
        meta,
        lambda data: kyc.save_form(
            existing.pk if existing else None,
            name=data["name"],
            description=data["description"],
            is_default=data["is_default"],
            is_active=data["is_active"],
            fields=_rows(field_rows, with_kind=True),
            documents=_rows(document_rows, with_kind=False),
            actor=actor(request),
        ),
        saved=lambda saved: f"KYC form {saved.name} saved.",
        then="backoffice:kyc_settings",
        template="onboarding/kyc_form_edit.html",
        form_name="meta",
        also=[field_rows, document_rows],
        context={"existing": existing, "field_rows": field_rows, "document_rows": document_rows},
    )


def client_panel(request: HttpRequest, client: Client) -> dict[str, object]:
    """The client's page in the back office: their KYC status, the last submission and the
    request that reviews it, and the earlier submissions."""
    submissions = list(kyc.history(client).order_by("-created_at", "-id"))
    last = submissions[0] if submissions else None
    review = None
    if last is not None:
        review = (
            ApprovalRequest.objects.filter(
                client=client, type_key=kyc.KYC, payload__submission_id=last.pk
            )
            .order_by("-id")
            .first()
        )
    return {"kyc_submissions": submissions, "kyc_last": last, "kyc_review": review}
