"""Online payments through a provider (wallet.providers): the provider's settings, each payment
propdesk opened at a provider, the provider's raw messages about it, its refunds and disputes.
Imported by wallet.models (the app's models)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProviderAccount(models.Model):
    """A payment provider's settings, one per kind (Settings > Payment providers). The secret
    ones are one sealed JSON object (core.vault), never shown again."""

    kind = models.CharField(max_length=20, unique=True)  # "sandbox", "stripe", "nowpayments"
    enabled = models.BooleanField(default=False)
    values = models.JSONField(default=dict, blank=True)  # the settings that are not secret
    sealed_secrets = models.TextField(blank=True)  # vault.seal(json.dumps({key: value}))
    secrets_changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Payment provider {self.kind}"


class Payment(models.Model):
    """One payment a client makes at a provider's hosted checkout: for a wallet deposit or for a
    purchase (a challenge's fee), named by the same token as the deposit's or the purchase's
    `checkout_token`."""

    class Purpose(models.TextChoices):
        DEPOSIT = "deposit", _("Wallet deposit")
        PURCHASE = "purchase", _("Purchase")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")  # not started at the provider yet, or waiting for the payer
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")

    token = models.UUIDField(unique=True)
    provider = models.CharField(max_length=20)
    method = models.ForeignKey(
        "wallet.PaymentMethod", on_delete=models.PROTECT, related_name="payments"
    )
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="payments")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    amount = models.DecimalField(max_digits=20, decimal_places=2)  # asked
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    provider_ref = models.CharField(max_length=200, blank=True)  # the checkout's id there
    payment_id = models.CharField(max_length=200, blank=True)  # the money's id there
    checkout_url = models.URLField(max_length=2000, blank=True)
    # All the money this payment brought so far, credited to the client's wallet (it may be
    # less than asked: a partial payment; or more: an over-payment).
    received = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    refunded = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    started_at = models.DateTimeField(null=True, blank=True)  # opened at the provider
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=~models.Q(provider_ref=""),
                name="wallet_payment_provider_ref_once",
            )
        ]

    def __str__(self) -> str:
        return f"Payment {self.token} {self.amount} {self.currency} ({self.status})"


class PaymentMessage(models.Model):
    """A provider's message as it was sent: a webhook received, or a call propdesk made and the
    answer (kept with the payment for staff and for disputes)."""

    class Direction(models.TextChoices):
        IN = "in", _("Received (webhook)")
        OUT = "out", _("Sent (our call)")

    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    provider = models.CharField(max_length=20)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    what = models.CharField(max_length=100)  # the event type, or the call ("confirm", "refund")
    event_id = models.CharField(max_length=200, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)  # as sent, cut at 64 KB
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.provider} {self.direction} {self.what}"


class PaymentRefund(models.Model):
    """Money of a payment given back to the payer: asked by staff (carried out after the commit,
    once) or made at the provider (learnt from its webhook)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # written, not yet accepted by the provider
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.SUCCEEDED, Status.FAILED}),
        Status.SUCCEEDED: frozenset(),
        Status.FAILED: frozenset({Status.PENDING}),  # staff try again
    }

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    provider_refund_id = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # None: made at the provider
    # Held out of the wallet while the provider is asked (released when it refuses).
    hold_entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    error = models.TextField(blank=True)
    # The confirm form's own key: the same form posted twice (a double click, a resent
    # request) asks for one refund.
    request_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "provider_refund_id"],
                condition=~models.Q(provider_refund_id=""),
                name="wallet_refund_once",
            ),
            models.UniqueConstraint(
                fields=["payment", "request_key"],
                condition=~models.Q(request_key=""),
                name="wallet_refund_asked_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} of {self.payment_id} ({self.status})"


class PaymentDispute(models.Model):
    """A chargeback the payer opened at their bank: what could be frozen is held while it is
    decided, and staff are told (an approval request)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")  # decided for the firm: the hold is released
        LOST = "lost", _("Lost")  # decided for the payer: the money is gone

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    provider_dispute_id = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    provider_status = models.CharField(max_length=50, blank=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200, blank=True)
    held = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    hold_entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "provider_dispute_id"], name="wallet_dispute_once"
            )
        ]

    def __str__(self) -> str:
        return f"Dispute {self.provider_dispute_id} ({self.status})"
