"""Growth: coupons and promo codes, promotional links, and IB commission on challenge fees.

Kept in their own module and loaded by `challenges/models.py` (the app's models)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Coupon(models.Model):
    """A discount on a challenge's fee: a fixed amount (in `currency`) or a percentage, valid
    between two dates, for some challenges or client groups (none: all), with total and
    per-client usage limits. Not combined with another code unless both are `stackable`."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage"
        FIXED = "fixed", "Fixed amount"

    code = models.CharField(max_length=40, unique=True)  # kept upper-case; typed in any case
    description = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.DecimalField(max_digits=20, decimal_places=2)  # percent, or the amount
    currency = models.CharField(max_length=3, blank=True)  # a fixed discount's
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)  # none: unlimited
    max_uses_per_client = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)  # counted under the coupon's row lock
    stackable = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    challenges = models.ManyToManyField("challenges.Challenge", blank=True, related_name="+")
    client_groups = models.ManyToManyField("accounts.ClientGroup", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class CouponUse(models.Model):
    """One coupon applied to one purchase: what it took off the fee."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="used")
    participation = models.ForeignKey(
        "challenges.Participation", on_delete=models.PROTECT, related_name="coupon_uses"
    )
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    discount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "participation"], name="coupon_once_per_purchase"
            )
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} on participation {self.participation_id}"


class PromoLink(models.Model):
    """A link the firm (or an IB) shares: where it lands, an optional coupon it brings and
    referrer it records, and its counts (clicks here; registrations and purchases counted from
    the clients who arrived by it, `Client.arrived_via`). No third-party tracking."""

    class Landing(models.TextChoices):
        REGISTER = "register", "Registration"
        CHALLENGES = "challenges", "The challenges on offer"
        CHALLENGE = "challenge", "One challenge"

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    landing = models.CharField(max_length=20, choices=Landing.choices, default=Landing.REGISTER)
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coupon = models.ForeignKey(
        Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="links"
    )
    referrer = models.ForeignKey(
        "accounts.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clicks = models.PositiveBigIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code


class CommissionScheme(models.Model):
    """What an IB earns on the fees their downline pays: `rates[0]` percent of a direct
    referral's fee, `rates[1]` of a referral's referral's, and so on. Paid at once, or
    collected for a periodic settlement approved as an `ib_commission` request."""

    class Settlement(models.TextChoices):
        INSTANT = "instant", "Credited at once"
        PERIODIC = "periodic", "Collected for a periodic settlement"

    name = models.CharField(max_length=60, unique=True)
    rates = models.JSONField(default=list)  # percent per level, as decimal strings
    settlement = models.CharField(
        max_length=10, choices=Settlement.choices, default=Settlement.INSTANT
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_commission_scheme",
            )
        ]

    def __str__(self) -> str:
        return self.name


class IbTerms(models.Model):
    """An IB's commission scheme, where it is not the default one."""

    client = models.OneToOneField(
        "accounts.Client", on_delete=models.PROTECT, related_name="ib_terms"
    )
    scheme = models.ForeignKey(CommissionScheme, on_delete=models.PROTECT, related_name="ibs")

    def __str__(self) -> str:
        return f"IB {self.client_id}: {self.scheme_id}"


class CommissionSettlement(models.Model):
    """A period's collected commission of one IB, paid when its `ib_commission` request is
    approved."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.PAID, Status.REJECTED}),
        Status.PAID: frozenset(),
        Status.REJECTED: frozenset(),
    }

    ib = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Settlement #{self.pk} of IB {self.ib_id} ({self.status})"


class Commission(models.Model):
    """One IB's share of one paid fee, at one level of the referral tree."""

    class Status(models.TextChoices):
        CREDITED = "credited", _("Credited")  # an instant scheme's, in the IB's wallet
        ACCRUED = "accrued", _("Collected for settlement")
        SETTLING = "settling", _("In a settlement awaiting approval")
        SETTLED = "settled", _("Paid by a settlement")
        REVERSED = "reversed", _("Reversed (the fee was refunded)")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.CREDITED: frozenset({Status.REVERSED}),
        Status.ACCRUED: frozenset({Status.SETTLING, Status.REVERSED}),
        Status.SETTLING: frozenset({Status.SETTLED, Status.ACCRUED, Status.REVERSED}),
        Status.SETTLED: frozenset({Status.REVERSED}),
        Status.REVERSED: frozenset(),
    }

    participation = models.ForeignKey(
        "challenges.Participation", on_delete=models.PROTECT, related_name="commissions"
    )
    ib = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()  # 1: the buyer's own referrer
    scheme = models.ForeignKey(CommissionScheme, on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(max_digits=7, decimal_places=4)  # percent
    base = models.DecimalField(max_digits=20, decimal_places=2)  # the fee actually paid
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices)
    entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal_entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settlement = models.ForeignKey(
        CommissionSettlement,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commissions",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participation", "ib"], name="commission_once_per_fee_and_ib"
            )
        ]

    def __str__(self) -> str:
        return f"Commission #{self.pk} of IB {self.ib_id} ({self.status})"
