"""The built-in sandbox payment provider's own records (it plays a provider inside propdesk):
each checkout it opened and what was paid, refunded and disputed on it. propdesk's side of the
same payment is wallet.Payment; the sandbox adapter (providers/sandbox.py) answers `confirm`
and `status` from these rows only, as a real provider answers from its own books."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class SandboxCharge(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Expired"  # the payer cancelled (or it lapsed)
        REFUNDED = "refunded", "Refunded"

    token = models.UUIDField(unique=True)  # propdesk's reference (the payment's token)
    idempotency_key = models.CharField(max_length=200, unique=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2)  # asked
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    paid = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    refunded = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    payment_id = models.CharField(max_length=100, blank=True)  # set at the first payment
    # Refunds made, by idempotency key: {"key": {"id": ..., "amount": "..."}}.
    refunds = models.JSONField(default=dict, blank=True)
    refuse_refunds = models.BooleanField(default=False)  # a sandbox control: refunds refused
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Sandbox charge {self.token} ({self.state})"


class SandboxDispute(models.Model):
    class State(models.TextChoices):
        NEEDS_RESPONSE = "needs_response", "Needs response"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="disputes")
    dispute_id = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    reason = models.CharField(max_length=100, default="fraudulent")
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEEDS_RESPONSE)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Sandbox dispute {self.dispute_id} ({self.state})"
