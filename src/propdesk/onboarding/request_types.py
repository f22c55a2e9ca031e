"""Trader and IB registration, and KYC, as request types of the approval engine."""

from __future__ import annotations

from django.utils.translation import gettext_noop
from django_countries import countries

from propdesk.accounts.models import Client, User
from propdesk.approvals import registry
from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.registry import Method, RequestType
from propdesk.core import references
from propdesk.core.status import move_status
from propdesk.core.text import in_sentence
from propdesk.onboarding.models import KycApplicant, KycSubmission
from propdesk.onboarding.permissions import KYC_REVIEW, REGISTRATIONS_REVIEW

TRADER_REGISTRATION = "trader_registration"
IB_REGISTRATION = "ib_registration"
TYPE_FOR_KIND = {Client.Kind.TRADER: TRADER_REGISTRATION, Client.Kind.IB: IB_REGISTRATION}


def _activate(request: ApprovalRequest, actor: User | None) -> None:
    client = Client.objects.select_for_update().get(pk=request.client_id)
    move_status(client, Client.Status.ACTIVE, Client.TRANSITIONS, what="client")
    client.save(update_fields=["status"])


def _refuse(request: ApprovalRequest, actor: User | None) -> None:
    client = Client.objects.select_for_update().get(pk=request.client_id)
    move_status(client, Client.Status.REJECTED, Client.TRANSITIONS, what="client")
    client.rejection_reason = request.rejection_reason
    client.save(update_fields=["status", "rejection_reason"])


def _details(request: ApprovalRequest) -> list[tuple[str, str]]:
    client = request.client
    return [
        ("Registering as", client.get_kind_display()),
        ("Name", client.user.name),
        ("Email", client.user.email),
        ("Phone", client.phone),
        ("Nationality", f"{client.nationality.name} ({client.nationality.code})"),
        ("Referral code", client.referral_code_used or "—"),
    ]


for kind, key, label, order in (
    (Client.Kind.TRADER, TRADER_REGISTRATION, gettext_noop("Trader Registration"), 10),
    (Client.Kind.IB, IB_REGISTRATION, gettext_noop("IB Registration"), 20),
):
    registry.register(
        RequestType(
            key=key,
            label=label,
            review_permission=REGISTRATIONS_REVIEW,
            default_method=Method.MANUAL,
            allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
            on_approve=_activate,
            on_reject=_refuse,
            details=_details,
            event="registration",
            order=order,
            reference_kind=references.REGISTRATION,
            reference_id="client_id",
            description=(
                f"A new {in_sentence(str(kind.label))} asks to open an account in the portal."
            ),
        )
    )


# --- KYC -------------------------------------------------------------------------------------

KYC = "kyc"


def _kyc_submission(request: ApprovalRequest) -> KycSubmission:
    return KycSubmission.objects.select_for_update().get(pk=request.payload["submission_id"])


def _kyc_decided(request: ApprovalRequest, *, approved: bool) -> None:
    submission = _kyc_submission(request)
    client = Client.objects.select_for_update().get(pk=request.client_id)
    new = KycSubmission.Status.APPROVED if approved else KycSubmission.Status.REJECTED
    move_status(submission, new, KycSubmission.TRANSITIONS, what="KYC submission")
    submission.rejection_reason = "" if approved else request.rejection_reason
    submission.save(update_fields=["status", "rejection_reason"])
    move_status(client, new, Client.KYC_TRANSITIONS, field="kyc_status", what="KYC")
    client.save(update_fields=["kyc_status"])


def _kyc_details(request: ApprovalRequest) -> list[tuple[str, str]]:
    submission = KycSubmission.objects.get(pk=request.payload["submission_id"])
    rows = [("Form", submission.form_snapshot["name"])]
    for field in submission.form_snapshot["fields"]:
        value = submission.values.get(field["key"], "")
        if field["kind"] == "country" and value:
            value = f"{countries.name(value)} ({value})"
        rows.append((field["label"], value or "—"))
    return rows


def _kyc_review_context(request: ApprovalRequest) -> dict[str, object]:
    submission = KycSubmission.objects.prefetch_related("documents").get(
        pk=request.payload["submission_id"]
    )
    earlier = KycSubmission.objects.filter(client_id=request.client_id).exclude(pk=submission.pk)
    vendor = KycApplicant.objects.filter(client_id=request.client_id).first()
    return {"submission": submission, "earlier_submissions": earlier, "vendor_check": vendor}


registry.register(
    RequestType(
        key=KYC,
        label=gettext_noop("KYC"),
        review_permission=KYC_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
        on_approve=lambda request, actor: _kyc_decided(request, approved=True),
        on_reject=lambda request, actor: _kyc_decided(request, approved=False),
        details=_kyc_details,
        event="kyc",
        review_template="onboarding/kyc_review.html",
        review_context=_kyc_review_context,
        details_are_private=True,
        order=30,
        reference_kind=references.KYC,
        reference_id="payload.submission_id",
        description="A client's identity details and documents.",
    )
)
