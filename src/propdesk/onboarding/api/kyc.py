"""/api/v1/kyc: the client's identity verification (forms, submitting, status)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema, Status

from propdesk.accounts.api_auth import current_client, current_user
from propdesk.accounts.models import Client
from propdesk.core.errors import ValidationFailed
from propdesk.core.schema import OneOf
from propdesk.core.uploads import too_large
from propdesk.onboarding import kyc
from propdesk.onboarding.models import KycField, KycSubmission

router = Router(tags=["kyc"])


class FieldOut(Schema):
    key: str
    label: str
    kind: Annotated[str, OneOf(KycField.Kind.values)]
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
    status: Annotated[str, OneOf(KycSubmission.Status.values)]


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
    status: Annotated[str, OneOf(KycSubmission.Status.values)]
    rejection_reason: str
    created_at: datetime
    values: dict[str, str]
    documents: list[DocumentOut]


class KycStatusOut(Schema):
    status: Annotated[str, OneOf(Client.KycStatus.values)]
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


# The body ninja cannot derive (the parts depend on the form): written out for the OpenAPI.
SUBMISSION_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["form"],
                "properties": {
                    "form": {
                        "type": "string",
                        "pattern": "^[0-9]+$",
                        "description": "The form's `id` (`GET /kyc/forms`).",
                    },
                    "answers": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "description": "The form's fields as a JSON object, each field's `key` "
                        'to its value as text: `{"full_name": "Jane Roe", "birth_date": '
                        '"1990-04-01"}`. Each may instead be sent as a part of its own, '
                        "named by its key (as an HTML form does).",
                    },
                },
                "additionalProperties": {
                    "type": "string",
                    "format": "binary",
                    "description": "Each document of the form as a file part named by the "
                    "document's `key`.",
                },
            },
        }
    },
}


# The `answers` part is a form's text fields: far below this; a longer one is refused unread.
ANSWERS_MOST = 64 * 1024
ANSWERS_SHAPE = "A JSON object of each field's key to its value as text."


def _answers(request: HttpRequest) -> dict[str, Any]:
    """The answers: the `answers` JSON object, and any field sent as a part of its own. A field
    given both ways is refused (which one was meant is not ours to guess)."""
    values: dict[str, Any] = {k: v for k, v in request.POST.items() if k not in ("form", "answers")}
    given = request.POST.get("answers")
    if given is None:
        return values
    if len(given) > ANSWERS_MOST:
        raise ValidationFailed(fields={"answers": f"At most {ANSWERS_MOST // 1024} KB."})
    try:
        found = json.loads(given)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        found = None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise ValidationFailed(fields={"answers": ANSWERS_SHAPE})
    twice = sorted(set(values) & set(found))
    if twice:
        raise ValidationFailed(
            fields={
                key: "Given both as a part of its own and in `answers`; send it once."
                for key in twice
            }
        )
    return {**values, **found}


@router.post(
    "",
    response={201: SubmittedOut},
    summary="Submit KYC (multipart: `form`, `answers` as JSON, each document as a file part)",
    openapi_extra={"requestBody": SUBMISSION_BODY},
)
def submit(request: HttpRequest) -> Status[SubmittedOut]:
    client = _client(request)
    values = _answers(request)
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
