"""KYC through an identity vendor (SumSub): its settings, sending a client to its flow, its
webhooks, and what its review decides (docs/kyc-vendors.md).

Every call to the vendor happens outside propdesk's transactions: `start` calls it before
anything is written (a vendor that is down changes nothing), and a webhook only records the
event and queues `check_applicant`, a background job that asks the vendor for the review and
then applies it in a transaction of its own, once per review.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext

from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core import audit, vault
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, ValidationFailed
from propdesk.core.outbound import plain_http_allowed
from propdesk.core.permissions import SETTINGS_MANAGE, require_permission
from propdesk.core.status import move_status
from propdesk.core.validation import FieldErrors, clean_text
from propdesk.jobs.retries import PermanentFailure, job
from propdesk.notifications import events
from propdesk.onboarding import kyc
from propdesk.onboarding.models import (
    KycApplicant,
    KycForm,
    KycSubmission,
    KycVendorMessage,
    KycVendorSettings,
)
from propdesk.onboarding.vendors.protocol import (
    Answer,
    BadWebhook,
    Review,
    StartRequest,
    VendorError,
    VendorRefused,
)
from propdesk.onboarding.vendors.sumsub import DEFAULT_BASE_URL, Sumsub, usable_key

SUMSUB = "sumsub"
VENDOR_FORM = "Verified with SumSub"
SECRETS = ("app_token", "secret_key", "webhook_secret")


class VendorDown(Conflict):
    status = 503
    code = "kyc_vendor_unavailable"


# --- settings --------------------------------------------------------------------------------


def settings_row() -> KycVendorSettings:
    found, _ = KycVendorSettings.objects.get_or_create(
        vendor=SUMSUB, defaults={"base_url": DEFAULT_BASE_URL, "level_name": "basic-kyc-level"}
    )
    return found


def _open(token: str) -> str:
    return (vault.open_sealed(token) or "") if token else ""


def adapter(row: KycVendorSettings | None = None) -> Sumsub:
    row = row or settings_row()
    return Sumsub(
        base_url=row.base_url or DEFAULT_BASE_URL,
        level_name=row.level_name,
        app_token=_open(row.sealed_app_token),
        secret_key=_open(row.sealed_secret_key),
        webhook_secret=_open(row.sealed_webhook_secret),
    )


def offered() -> bool:
    """Whether the portal offers the vendor (enabled, with its keys)."""
    row = KycVendorSettings.objects.filter(vendor=SUMSUB).first()
    return bool(
        row
        and row.enabled
        and row.sealed_app_token
        and row.sealed_secret_key
        and row.sealed_webhook_secret
    )


def _summary(row: KycVendorSettings) -> dict[str, Any]:
    out: dict[str, Any] = audit.snapshot(row, ["enabled", "base_url", "level_name", "on_green"])
    for key in SECRETS:
        out[key] = "set" if getattr(row, f"sealed_{key}") else "none"
    return out


def save_settings(
    *,
    actor: User,
    enabled: bool,
    base_url: Any,
    level_name: Any,
    on_green: Any,
    secrets: Mapping[str, str],
) -> KycVendorSettings:
    """Save the vendor's settings. A secret left empty keeps the one stored; a new one is
    sealed, never shown again, and audited as changed without its value."""
    require_permission(actor, SETTINGS_MANAGE)
    errors = FieldErrors()
    url = clean_text(errors, "base_url", base_url, label="API address", max_length=200)
    if url and not plain_http_allowed(url):
        # The app token travels in a header: https only (plain http to this machine only,
        # for the fake).
        errors.add("base_url", "The API address starts with https://.")
    level = clean_text(errors, "level_name", level_name, label="Verification level", max_length=100)
    if on_green not in KycVendorSettings.OnGreen.values:
        errors.add("on_green", "Choose what a GREEN answer does.")
    new: dict[str, str] = {}
    for key in SECRETS:
        value = str(secrets.get(key) or "").strip()
        if len(value) > 500:
            errors.add(key, "This key is too long.")
        elif not usable_key(value):
            # Said without the value: a pasted line break or a stray character.
            errors.add(key, "This key has line breaks or characters a key never has.")
        elif value:
            new[key] = value
    errors.raise_if_any()
    with transaction.atomic():
        row = KycVendorSettings.objects.select_for_update().get(pk=settings_row().pk)
        before = _summary(row)
        row.enabled, row.base_url, row.level_name = bool(enabled), url, level
        row.on_green = on_green
        for key, value in new.items():
            setattr(row, f"sealed_{key}", vault.seal(value))
        if row.enabled and not (row.sealed_app_token and row.sealed_secret_key):
            raise ValidationFailed(fields={"app_token": "Enter the app token and secret key."})
        if row.enabled and not row.sealed_webhook_secret:
            # Without it every webhook is refused and clients would wait for ever.
            raise ValidationFailed(fields={"webhook_secret": "Enter the webhook secret key."})
        row.save()
        after = _summary(row)
        for key in new:
            after[key] = "changed"
        audit.record(
            actor=actor,
            action=AuditAction.KYC_VENDOR_UPDATE,
            object_type="kyc_vendor",
            object_id=row.pk,
            summary="SumSub settings changed",
            before=before,
            after=after,
        )
    return row


def test_connection(*, actor: User) -> str:
    require_permission(actor, SETTINGS_MANAGE)
    try:
        return adapter().test_connection()
    except VendorError as exc:
        raise Conflict(str(exc), code="kyc_vendor_test_failed") from None


# --- sending a client to the vendor --------------------------------------------------------------


def external_id(client: Client) -> str:
    """The client's stable id at the vendor: the same on every try (so that a creation whose
    answer was lost finds its applicant), and not guessable from the client's number."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"kyc-vendor:{client.pk}".encode(), "sha256")
    return f"propdesk-{mac.hexdigest()[:32]}"


def applicant_of(client: Client) -> KycApplicant | None:
    return KycApplicant.objects.filter(client=client, vendor=SUMSUB).first()


def start_block(client: Client) -> str | None:
    block = kyc.submission_block(client)
    if block is not None:
        return block
    found = applicant_of(client)
    if found is not None and found.state == KycApplicant.State.FINAL:
        return gettext("The identity verification service could not verify you.")
    return None


def start(client: Client, *, return_url: str, lang: str = "en") -> str:
    """The vendor's page for the client. Called outside any transaction: the vendor answers
    first, then the applicant is recorded; a vendor that is down changes nothing."""
    if not offered():
        raise Conflict(gettext("Verification with SumSub is not offered."), code="kyc_no_vendor")
    block = start_block(client)
    if block is not None:
        raise Conflict(block, code="kyc_not_open")
    known = applicant_of(client)
    request = StartRequest(
        # The id the applicant was created with, kept: a rotated SECRET_KEY would otherwise
        # make a second applicant at SumSub for the same client (each one is billed).
        external_user_id=known.external_user_id if known is not None else external_id(client),
        email=client.user.email,
        return_url=return_url,
        lang=lang[:5],
    )
    try:
        started = adapter().start(request)
    except VendorError:
        raise VendorDown(
            gettext(
                "The identity verification service cannot be reached just now. Nothing was "
                "changed; please try again in a few minutes."
            )
        ) from None
    with transaction.atomic():
        applicant, _ = KycApplicant.objects.get_or_create(
            client=client, vendor=SUMSUB, defaults={"external_user_id": request.external_user_id}
        )
        if applicant.applicant_id != started.applicant_id:
            applicant.applicant_id = started.applicant_id
            applicant.save(update_fields=["applicant_id", "updated_at"])
        KycVendorMessage.objects.create(
            vendor=SUMSUB,
            kind=KycVendorMessage.Kind.ANSWER,
            event_type="start",
            applicant=applicant,
            body=started.raw,
        )
    return started.url


# --- webhooks ----------------------------------------------------------------------------------


def receive_webhook(body: bytes, headers: Mapping[str, str]) -> str:
    """Verify the webhook (BadWebhook: answered 400) and keep it once; a review queues the job
    that asks the vendor. Returns what happened."""
    row = KycVendorSettings.objects.filter(vendor=SUMSUB).first()
    if row is None or not row.sealed_webhook_secret:
        raise BadWebhook("SumSub is not set up.")
    notice = adapter(row).parse_webhook(body, headers)
    with transaction.atomic():
        applicant = (
            KycApplicant.objects.filter(vendor=SUMSUB, applicant_id=notice.applicant_id).first()
            or KycApplicant.objects.filter(
                vendor=SUMSUB, external_user_id=notice.external_user_id or "-"
            ).first()
        )
        try:
            with transaction.atomic():
                KycVendorMessage.objects.create(
                    vendor=SUMSUB,
                    kind=KycVendorMessage.Kind.WEBHOOK,
                    event_key=notice.event_key,
                    event_type=notice.type,
                    applicant=applicant,
                    body=notice.raw,
                )
        except IntegrityError:
            return "duplicate"
        if applicant is None:
            return "unknown applicant"
        if not applicant.applicant_id:
            applicant.applicant_id = notice.applicant_id
            applicant.save(update_fields=["applicant_id", "updated_at"])
        if notice.type in ("applicantReviewed", "applicantPending", "applicantReset"):
            # The job's row commits with the event's (the jobs live in this database): it runs
            # after the commit, outside this transaction, and only if the event was kept.
            check_applicant.enqueue(applicant.pk)
            return "queued"
    return "kept"


# SumSub resends a failed webhook for 18 hours, but a webhook propdesk kept is not resent: the
# check must itself outlast an outage of SumSub's API (a day at the least, whatever the jitter)
# or the client would wait for ever.
CHECK_ATTEMPTS = 56


@job(max_attempts=CHECK_ATTEMPTS, max_delay=3600)
def check_applicant(applicant_pk: int) -> str:
    """Ask the vendor for the applicant's review (outside any transaction), then apply it."""
    applicant = KycApplicant.objects.get(pk=applicant_pk)
    try:
        review = adapter().review(applicant.applicant_id)
    except VendorRefused as refused:
        raise PermanentFailure(str(refused)) from refused
    return apply_review(applicant_pk, review)


def _open_request(client: Client) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(
        type_key=kyc.KYC, client=client, status=ApprovalRequest.Status.PENDING
    ).first()


def _vendor_submission(applicant: KycApplicant, client: Client) -> ApprovalRequest:
    """The `kyc` request the vendor's answer decides: the client's open one, or a new one with
    a submission that names the vendor (its documents are kept at the vendor)."""
    found = _open_request(client)
    if found is not None:
        return found
    form, _ = KycForm.objects.get_or_create(
        name=VENDOR_FORM,
        defaults={"description": "Documents checked by SumSub", "is_active": False},
    )
    submission = KycSubmission.objects.create(
        client=client,
        form=form,
        form_snapshot={"name": VENDOR_FORM, "fields": [], "documents": [], "vendor": SUMSUB},
        values={"applicant_id": applicant.applicant_id},
    )
    applicant.submission = submission
    move_status(
        client, Client.KycStatus.PENDING, Client.KYC_TRANSITIONS, field="kyc_status", what="KYC"
    )
    client.save(update_fields=["kyc_status"])
    return approvals.submit(
        kyc.KYC, client=client, payload={"submission_id": submission.pk}, manual_only=True
    )


def _reason(review: Review, client: Client) -> str:
    """What the client is told: SumSub's comment for the applicant, or a plain sentence in the
    client's language. Never the labels: they are for the firm (SANCTIONS, PEP, ADVERSE_MEDIA,
    ... told to the client would tip them off); staff see them beside the request."""
    if review.moderation_comment:
        return review.moderation_comment
    with translation.override(client.user.language or settings.LANGUAGE_CODE):
        return gettext("The identity verification service did not accept the check.")


def apply_review(applicant_pk: int, review: Review) -> str:
    """Apply what the vendor answered, once per review (a replay or a second job does nothing)."""
    raw = review.raw
    key = f"{raw.get('reviewId', '')}:{raw.get('attemptCnt', '')}:{review.answer}"[:100]
    with transaction.atomic():
        applicant = KycApplicant.objects.select_for_update().get(pk=applicant_pk)
        KycVendorMessage.objects.create(
            vendor=SUMSUB,
            kind=KycVendorMessage.Kind.ANSWER,
            event_type="review",
            applicant=applicant,
            body=raw,
        )
        if review.answer == Answer.WAITING:
            if applicant.state in (KycApplicant.State.STARTED, KycApplicant.State.RETRY):
                applicant.state = KycApplicant.State.WAITING
                applicant.save(update_fields=["state", "updated_at"])
            return "waiting"
        if applicant.decided_key == key:
            return "already applied"
        applicant.decided_key = key
        applicant.labels = list(review.labels)
        applicant.moderation_comment = review.moderation_comment
        applicant.client_comment = review.client_comment
        applicant.state = {
            Answer.APPROVED: KycApplicant.State.APPROVED,
            Answer.RETRY: KycApplicant.State.RETRY,
            Answer.FINAL: KycApplicant.State.FINAL,
        }[review.answer]
        client = Client.objects.select_for_update().get(pk=applicant.client_id)
        outcome = str(review.answer)
        if review.answer == Answer.RETRY:
            if client.kyc_status != Client.KycStatus.APPROVED:  # never "try again" once verified
                events.emit("kyc.retry", user=client.user, data={"reason": _reason(review, client)})
        elif client.kyc_status != Client.KycStatus.APPROVED:
            request = _vendor_submission(applicant, client)
            if review.answer == Answer.FINAL:
                approvals.decide_automatically(
                    request.pk, approved=False, text=_reason(review, client)
                )
            elif settings_row().on_green == KycVendorSettings.OnGreen.APPROVE:
                approvals.decide_automatically(
                    request.pk, approved=True, text="SumSub answered GREEN."
                )
            else:
                outcome = "approved: waits for a reviewer"
        applicant.save()
    return outcome


def for_review(client_id: int) -> KycApplicant | None:
    """The client's vendor check, shown to a KYC reviewer beside the documents."""
    return KycApplicant.objects.filter(client_id=client_id, vendor=SUMSUB).first()
