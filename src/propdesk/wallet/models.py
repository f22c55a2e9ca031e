"""The double-entry ledger: accounts, journal entries and their postings (append-only)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class LedgerAccount(models.Model):
    """Where money sits: a client's wallet in one currency, or one of the firm's accounts.

    `balance` is the sum of the account's postings, kept in the same transaction as the
    postings under a row lock, so reading it is one row; `propdesk ledger check` proves it.
    """

    class Kind(models.TextChoices):
        CLIENT_WALLET = "client_wallet", "Client wallet"
        FIRM = "firm", "Firm account"

    code = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100)
    client = models.ForeignKey(
        "accounts.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(max_digits=24, decimal_places=8, default=Decimal(0))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="client_wallet") | models.Q(balance__gte=0),
                name="client_wallet_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class JournalEntry(models.Model):
    """One movement of money. Its postings sum to zero in each currency; it is never changed,
    only reversed by another entry."""

    class Type(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        ADJUSTMENT = "adjustment", "Adjustment"
        REVERSAL = "reversal", "Reversal"

    type = models.CharField(max_length=30, choices=Type.choices, db_index=True)
    memo = models.CharField(max_length=500, blank=True)
    client = models.ForeignKey(
        "accounts.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journal_entries",
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    amount = models.DecimalField(max_digits=24, decimal_places=8)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "id"])]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.account_id}"
