from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from propdesk.core import references


class KycPolicy(models.Model):
    """One row: which client actions wait for an approved KYC."""

    blocked_actions = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"KYC blocks {', '.join(self.blocked_actions) or 'nothing'}"


class KycForm(models.Model):
    """A questionnaire with required documents, e.g. "Individual" or "Corporate"."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class KycField(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        COUNTRY = "country", "Country"

    form = models.ForeignKey(KycForm, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveSmallIntegerField()
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    required = models.BooleanField(default=True)
    choices = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["form", "key"], name="kyc_field_key")]

    def __str__(self) -> str:
        return self.label


class KycDocumentType(models.Model):
    """A document the form asks for, e.g. an identity document or a proof of address."""

    form = models.ForeignKey(KycForm, on_delete=models.CASCADE, related_name="documents")
    position = models.PositiveSmallIntegerField()
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["form", "key"], name="kyc_document_key")]

    def __str__(self) -> str:
        return self.label


class KycSubmission(models.Model):
    """One filled form; a rejected client submits again, and every submission is kept."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.APPROVED: frozenset(),
        Status.REJECTED: frozenset(),
    }

    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="kyc_submissions"
    )
    form = models.ForeignKey(KycForm, on_delete=models.PROTECT, related_name="+")
    # The questions as they were asked: editing the form later does not rewrite history.
    form_snapshot = models.JSONField()
    values = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reference} of {self.client_id} ({self.status})"

    @property
    def reference(self) -> str:
        return references.of(references.KYC, self.pk)


class KycDocument(models.Model):
    submission = models.ForeignKey(
        KycSubmission, on_delete=models.PROTECT, related_name="documents"
    )
    document_key = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    # Unguessable public handle; the file on disk has another random name.
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stored_name = models.CharField(max_length=100, unique=True)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    # The version of the document checks this very file (by its sha256) passed: checked again
    # on the way out only when the checks have changed since (documents.CHECKS_VERSION).
    checked_with = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.label}: {self.original_name}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class KycKeptUpload(models.Model):
    """A document that passed the checks in a KYC submit that failed on something else: kept
    for its client, so that the next submit of the same form uses it without a new upload.
    Only that client's submit can use it; one left unused is swept with its file (KEPT_FOR)."""

    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="+")
    form = models.ForeignKey(KycForm, on_delete=models.CASCADE, related_name="+")
    document_key = models.CharField(max_length=40)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stored_name = models.CharField(max_length=100, unique=True)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.original_name} kept for client {self.client_id}"


class KycVendorSettings(models.Model):
    """An identity vendor's settings (one row per vendor). The keys are sealed with the vault
    (core.vault) and never shown again."""

    class OnGreen(models.TextChoices):
        APPROVE = "approve", "Approve the KYC automatically"
        REVIEW = "review", "Send it to a reviewer with the vendor's result"

    vendor = models.CharField(max_length=20, unique=True)
    enabled = models.BooleanField(default=False)
    base_url = models.CharField(max_length=200, blank=True)
    level_name = models.CharField(max_length=100, blank=True)
    sealed_app_token = models.TextField(blank=True)
    sealed_secret_key = models.TextField(blank=True)
    sealed_webhook_secret = models.TextField(blank=True)
    on_green = models.CharField(max_length=10, choices=OnGreen.choices, default=OnGreen.REVIEW)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.vendor} ({'on' if self.enabled else 'off'})"


class KycApplicant(models.Model):
    """A client at an identity vendor: the vendor's applicant id and what it last answered."""

    class State(models.TextChoices):
        STARTED = "started", _("Started")
        WAITING = "waiting", _("Being checked")
        APPROVED = "approved", _("Verified")
        RETRY = "retry", _("Please try again")
        FINAL = "final", _("Not verified")

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    vendor = models.CharField(max_length=20)
    external_user_id = models.CharField(max_length=100, unique=True)
    applicant_id = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.STARTED)
    labels = models.JSONField(default=list, blank=True)
    moderation_comment = models.TextField(blank=True)  # the vendor's words for the client
    client_comment = models.TextField(blank=True)  # the vendor's words for the firm only
    decided_key = models.CharField(max_length=100, blank=True)  # the review last applied
    submission = models.ForeignKey(
        KycSubmission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "vendor"], name="kyc_applicant_once")
        ]

    def __str__(self) -> str:
        return f"{self.vendor} applicant {self.applicant_id or '?'} of client {self.client_id}"


class KycVendorMessage(models.Model):
    """A vendor's raw message, as it came: a webhook (known by `event_key`, handled once) or an
    answer propdesk asked for."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        ANSWER = "answer", "Answer"

    vendor = models.CharField(max_length=20)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    event_key = models.CharField(max_length=100, blank=True)
    event_type = models.CharField(max_length=60, blank=True)
    applicant = models.ForeignKey(
        KycApplicant, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "event_key"],
                condition=~models.Q(event_key=""),
                name="kyc_vendor_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.kind} {self.event_type}"
