from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from propdesk.approvals import registry
from propdesk.approvals.registry import Method
from propdesk.core import references


class ApprovalPolicy(models.Model):
    """How one request type is approved: its method, threshold and levels (set by staff)."""

    type_key = models.CharField(max_length=50, unique=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    threshold = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.type_key}: {self.method}"


class ApprovalLevel(models.Model):
    """One step of a multi-level approval: staff with this role approve at this position."""

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()
    role = models.ForeignKey("accounts.Role", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="approval_level_position")
        ]

    def __str__(self) -> str:
        return f"{self.policy.type_key} level {self.position}: {self.role}"


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED}),
        Status.APPROVED: frozenset(),
        Status.REJECTED: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    type_key = models.CharField(max_length=50, db_index=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="approval_requests"
    )
    amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # The levels in force when the request was made: a later settings change does not move
    # the goalposts of a request under review.
    level_role_ids = models.JSONField(default=list, blank=True)
    current_level = models.PositiveSmallIntegerField(default=1)
    # The role that must act at the current level; null when the type has no levels and
    # anyone holding the type's review permission decides.
    awaiting_role = models.ForeignKey(
        "accounts.Role", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_comment = models.TextField(blank=True)
    rejection_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["type_key", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.type_key} ({self.status})"

    @property
    def reference(self) -> str:
        """Its subject's reference (a deposit's DEP-000002): what the client also sees."""
        rtype = registry.get(self.type_key)
        if rtype is None:
            return references.of(references.REQUEST, self.pk)
        return rtype.reference(self)

    @property
    def type_label(self) -> str:
        rtype = registry.get(self.type_key)
        return rtype.label if rtype else self.type_key

    @property
    def levels_total(self) -> int:
        return max(1, len(self.level_role_ids))

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class ApprovalAction(models.Model):
    """The request's log: submission, each level's decision, notes."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        AUTO_APPROVED = "auto_approved", "Approved automatically"
        LEVEL_APPROVED = "level_approved", "Level approved"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        NOTE = "note", "Note"

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind}"
