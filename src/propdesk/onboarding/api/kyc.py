"""/api/v1/kyc: the client's identity verification (forms, submitting, status)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema, Status

from propdesk.accounts.api_auth import current_client, current_user
from propdesk.accounts.models import Client
from propdesk.core.uploads import too_large
from propdesk.onboarding import kyc

router = Router(tags=["kyc"])


class FieldOut(Schema):
    key: str
    label: str
    kind: str
    required: bool
    choices: list[str]


class DocumentSpecOut(Schema):
    key: str
    label: str
    required: bool


class FormOut(Schema):
    id: int
    name: str
    description: str
    is_default: bool
    fields: list[FieldOut]
    documents: list[DocumentSpecOut]


class SubmittedOut(Schema):
    id: int
    reference: str = ""  # KYC-000011: what staff see for this submission too
    status: str


class DocumentOut(Schema):
    key: str
    label: str
    file_name: str
    content_type: str
    size: int
    url: str


class SubmissionOut(Schema):
    id: int
    reference: str = ""
    form: str
    status: str
    rejection_reason: str
    created_at: datetime
    values: dict[str, str]
    documents: list[DocumentOut]


class KycStatusOut(Schema):
    status: str
    blocked_actions: list[str]
    submissions: list[SubmissionOut]


def _client(request: HttpRequest) -> Client:
    return current_client(request, "KYC is a client's own; staff review it under Approvals.")


@router.get(
    "/forms",
    response=list[FormOut],
    summary="The KYC forms a client may fill",
)
def forms(request: HttpRequest) -> list[FormOut]:
    current_user(request)
    return [
        FormOut(id=f.pk, description=f.description, is_default=f.is_default, **kyc.snapshot(f))
        for f in kyc.active_forms()
    ]


@router.post(
    "",
    response={201: SubmittedOut},
    summary="Submit KYC (multipart: `form`, the form's fields, its documents as files)",
)
def submit(request: HttpRequest) -> Status[SubmittedOut]:
    client = _client(request)
    values: dict[str, Any] = {k: v for k, v in request.POST.items() if k != "form"}
    submission = kyc.submit(
        client,
        form_id=request.POST.get("form", ""),
        values=values,
        files=request.FILES,
        too_large=too_large(request),
    )
    return Status(
        201,
        SubmittedOut(id=submission.pk, reference=submission.reference, status=submission.status),
    )


@router.get(
    "",
    response=KycStatusOut,
    summary="My KYC status and every submission",
)
def status(request: HttpRequest) -> KycStatusOut:
    client = _client(request)
    submissions = [
        SubmissionOut(
            id=s.pk,
            reference=s.reference,
            form=s.form_snapshot["name"],
            status=s.status,
            rejection_reason=s.rejection_reason,
            created_at=s.created_at,
            values=s.values,
            documents=[
                DocumentOut(
                    key=d.document_key,
                    label=d.label,
                    file_name=d.original_name,
                    content_type=d.content_type,
                    size=d.size,
                    url=request.build_absolute_uri(reverse("kyc_document", args=[d.token])),
                )
                for d in s.documents.all()
            ],
        )
        for s in kyc.history(client)
    ]
    return KycStatusOut(
        status=client.kyc_status,
        blocked_actions=kyc.policy().blocked_actions,
        submissions=submissions,
    )
