"""The double-entry ledger: accounts, journal entries and their postings (append-only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from propdesk.core import references
from propdesk.wallet import destinations


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
        DEPOSIT = "deposit", _("Deposit")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        WITHDRAWAL_HOLD = "withdrawal_hold", _("Withdrawal held")
        WITHDRAWAL_RELEASE = "withdrawal_release", _("Withdrawal released")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVERSAL = "reversal", _("Reversal")
        PROP_TRADING_FEE = "prop_trading_fee", _("Prop Trading Fee")
        PROFIT_SHARE = "profit_share", _("Profit Share")  # a funded trader's share of a payout
        PROP_RETRY_FEE = "prop_retry_fee", _("Prop Retry Fee")  # a failed challenge tried again
        PROP_RESET_FEE = "prop_reset_fee", _("Prop Reset Fee")  # a running stage started over
        IB_COMMISSION = "ib_commission", _("IB Commission")  # an IB's share of a referred fee
        # Online payments (wallet/refunds.py, wallet/disputes.py).
        PAYMENT_REFUND = "payment_refund", _("Payment refund")  # back to the payer
        DISPUTE_HOLD = "dispute_hold", _("Held for a dispute")
        DISPUTE_RELEASE = "dispute_release", _("Dispute hold released")
        DISPUTE_LOST = "dispute_lost", _("Dispute lost")

    type = models.CharField(max_length=30, choices=Type.choices, db_index=True)
    memo = models.CharField(max_length=500, blank=True)  # for staff: the report, the audit
    # What the client reads of a staff-made entry (an adjustment); the memo stays internal.
    client_memo = models.CharField(max_length=200, blank=True)
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
        return f"{self.reference} {self.type}"

    @property
    def reference(self) -> str:
        """The entry's own reference (ADJ-… for an adjustment, else TXN-…); what caused it, a
        deposit's DEP-… say, is `wallet.references.for_entries`."""
        own = references.ADJUSTMENT if self.type == self.Type.ADJUSTMENT else references.ENTRY
        return references.of(own, self.pk)


class Posting(models.Model):
    """One account's side of an entry.

    `created_at`, `entry_type` and `client` are copies of the entry's time and type and of the
    wallet's owner (None on the firm's accounts), taken when posted; neither side ever changes
    and `propdesk ledger check` proves the copies. They let Reports > Transactions read this
    one table through its own indexes instead of joining a million entries.
    """

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    amount = models.DecimalField(max_digits=24, decimal_places=8)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()
    entry_type = models.CharField(max_length=30, choices=JournalEntry.Type.choices)
    client = models.ForeignKey(
        "accounts.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["account", "id"]),
            # Reports > Transactions: wallet postings only, newest first, by type or client.
            models.Index(
                fields=["created_at", "id"],
                name="wallet_posting_report",
                condition=models.Q(client__isnull=False),
            ),
            models.Index(
                fields=["entry_type", "created_at", "id"],
                name="wallet_posting_report_type",
                condition=models.Q(client__isnull=False),
            ),
            # Covering on PostgreSQL: a client's totals are summed from the index alone (the
            # type tells the report which way the firm sees each amount).
            models.Index(
                fields=["client", "created_at", "id"],
                name="wallet_posting_report_client",
                condition=models.Q(client__isnull=False),
                include=["currency", "amount", "entry_type"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.account_id}"


class DayTotal(models.Model):
    """What the client wallets' postings of one day, type and currency add up to, kept by
    `ledger.post` in the posting's transaction, so the report's totals sum a few hundred rows
    instead of a million postings. `reversed_*` is the part whose entry was later reversed.

    The day is the local date in PROPDESK_TIME_ZONE; after changing the time zone, run
    `propdesk ledger rebuild-totals` (`propdesk ledger check` says so when they disagree).
    """

    day = models.DateField()
    entry_type = models.CharField(max_length=30, choices=JournalEntry.Type.choices)
    currency = models.CharField(max_length=3)
    # Money in the currency's minor units (cents): integers add up exactly on every database.
    count = models.BigIntegerField(default=0)
    credits_minor = models.BigIntegerField(default=0)
    debits_minor = models.BigIntegerField(default=0)
    reversed_count = models.BigIntegerField(default=0)
    reversed_credits_minor = models.BigIntegerField(default=0)
    reversed_debits_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "entry_type", "currency"], name="wallet_day_total_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.entry_type} {self.currency}: {self.count}"


class PaymentMethod(models.Model):
    """A way money comes in or goes out: a bank transfer (offline) or a provider (online)."""

    class Kind(models.TextChoices):
        OFFLINE = "offline", _("Offline (e.g. bank transfer)")
        ONLINE = "online", _("Online (payment provider)")

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    currencies = models.JSONField(default=list)
    min_amount = models.DecimalField(max_digits=20, decimal_places=2)
    max_amount = models.DecimalField(max_digits=20, decimal_places=2)

    class Provider(models.TextChoices):
        NONE = "", "None (staff confirm receipt)"
        SANDBOX = "sandbox", "Sandbox payment provider"
        STRIPE = "stripe", "Stripe (cards)"
        NOWPAYMENTS = "nowpayments", "NOWPayments (crypto)"

    provider = models.CharField(max_length=20, choices=Provider.choices, blank=True, default="")
    instructions = models.TextField(blank=True, help_text="Shown to the client, e.g. bank details")
    # A bank transfer's account the client pays into (an offline method's; for accounts in
    # several currencies, one method per account). Shown after a deposit with its reference.
    bank_beneficiary = models.CharField(max_length=100, blank=True)
    bank_account = models.CharField(max_length=34, blank=True)  # an IBAN or an account number
    bank_bic = models.CharField(max_length=11, blank=True)
    bank_name = models.CharField(max_length=100, blank=True)

    class PayoutTo(models.TextChoices):
        NONE = "", _("Not for withdrawals")
        BANK = "bank", _("Bank account")
        CRYPTO = "crypto", _("Crypto wallet")

    # Where a withdrawal by this method is paid: the client names a bank account or a crypto
    # wallet (on one of `networks`) as they ask (wallet/destinations.py); none, and the method
    # takes deposits only.
    payout_to = models.CharField(max_length=10, choices=PayoutTo.choices, blank=True, default="")
    networks = models.JSONField(default=list, blank=True)  # a crypto payout's: ["ERC20", ...]
    enabled = models.BooleanField(default=True)
    # The client groups offered this method; none: every client.
    client_groups = models.ManyToManyField(
        "accounts.ClientGroup", blank=True, related_name="payment_methods"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_bank_details(self) -> bool:
        return bool(self.bank_account)

    @property
    def bank_account_shown(self) -> str:
        """An IBAN in groups of four, as banks print it; an account number as it is."""
        account = self.bank_account
        if len(account) > 4 and account[:2].isalpha() and account[2:4].isdigit():
            return " ".join(account[i : i + 4] for i in range(0, len(account), 4))
        return account


class Deposit(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.AWAITING_PAYMENT: frozenset({Status.PENDING, Status.CANCELLED}),
        Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.APPROVED: frozenset(),
        Status.REJECTED: frozenset(),
        # Only when its payment arrives after all (made in time, confirmed late).
        Status.CANCELLED: frozenset({Status.PENDING}),
    }

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="deposits")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="deposits")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # The provider's handle for an online payment (the checkout page's address).
    checkout_token = models.UUIDField(null=True, blank=True, unique=True)
    provider_payment_id = models.CharField(max_length=100, blank=True)
    # What was credited: the reviewer may amend the amount (the transfer that arrived).
    credited_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    # An offline deposit's transfer as the bank statement names it, entered by the reviewer who
    # approves it; one deposit per reference (a reused one would credit a transfer twice).
    bank_reference = models.CharField(max_length=64, blank=True, default="")
    entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit"
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The lapse sweep, every minute: the few unpaid among all deposits.
            models.Index(
                fields=["created_at"],
                name="wallet_deposit_unpaid",
                condition=models.Q(status="awaiting_payment"),
            )
        ]
        constraints = [
            # A rejected deposit's reference is free again (its transfer was sent back).
            models.UniqueConstraint(
                Upper("bank_reference"),
                condition=~models.Q(bank_reference="") & ~models.Q(status="rejected"),
                name="wallet_deposit_bank_reference_once",
            )
        ]

    def __str__(self) -> str:
        return f"Deposit {self.reference} {self.amount} {self.currency} ({self.status})"

    @property
    def reference(self) -> str:
        return references.of(references.DEPOSIT, self.pk)


class Withdrawal(models.Model):
    """Money out: held from the wallet when asked, paid out or released when decided."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Paid out")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.APPROVED: frozenset(),
        Status.REJECTED: frozenset(),
    }

    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="withdrawals"
    )
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="withdrawals")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hold_entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="withdrawal_hold"
    )
    settle_entry = models.OneToOneField(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="withdrawal_settlement",
    )
    # What was paid out: the amount asked, or less when the reviewer lowered it; the rest of
    # the hold went back to the wallet in `release_entry`.
    paid_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    release_entry = models.OneToOneField(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="withdrawal_release",
    )
    # Where it is paid, as the client named it (wallet/destinations.py): kept as submitted and
    # never changed; empty on withdrawals asked before destinations were kept ("not recorded").
    destination = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Withdrawal {self.reference} {self.amount} {self.currency} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A submitted withdrawal's destination is what the client asked to be paid to: a save
        after the first names its fields, and never the destination."""
        fields = kwargs.get("update_fields")
        changing = fields is None or "destination" in fields
        if self.pk is not None and not kwargs.get("force_insert") and changing:
            raise ValueError("a withdrawal's destination is never changed once submitted")
        super().save(*args, **kwargs)

    @property
    def paid_to(self) -> destinations.Destination | None:
        """The destination, read (None: not recorded)."""
        return destinations.read(self.destination)

    @property
    def reference(self) -> str:
        return references.of(references.WITHDRAWAL, self.pk)


class WebhookEvent(models.Model):
    """Each provider event handled once: a replayed webhook finds its id here and does nothing."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"


# Online payments through a provider: their own module, part of this app's models.
from propdesk.wallet.payment_models import (  # noqa: E402
    Payment,
    PaymentDispute,
    PaymentMessage,
    PaymentRefund,
    ProviderAccount,
)
from propdesk.wallet.sandbox_models import SandboxCharge, SandboxDispute  # noqa: E402

__all__ = [
    "DayTotal",
    "Deposit",
    "JournalEntry",
    "LedgerAccount",
    "Payment",
    "PaymentDispute",
    "PaymentMessage",
    "PaymentMethod",
    "PaymentRefund",
    "Posting",
    "ProviderAccount",
    "SandboxCharge",
    "SandboxDispute",
    "WebhookEvent",
    "Withdrawal",
]
