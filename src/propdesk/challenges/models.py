"""The challenge catalogue: a challenge, and its versions (the rules a participant starts with
are the version's, and a published version is never changed, only superseded)."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from propdesk.challenges.catalogue.definition import ChallengeDefinition, StageKind
from propdesk.core import references


class Challenge(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ENDED = "ended", "Ended"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.PUBLISHED, Status.ENDED}),
        Status.PUBLISHED: frozenset({Status.ENDED}),
        Status.ENDED: frozenset(),
    }

    name = models.CharField(max_length=100)  # the current version's, for lists
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def published(self) -> ChallengeVersion | None:
        return self._version_in(ChallengeVersion.State.PUBLISHED)

    def draft(self) -> ChallengeVersion | None:
        return self._version_in(ChallengeVersion.State.DRAFT)

    def _version_in(self, state: str) -> ChallengeVersion | None:
        # Over all the versions (a handful), so that a list prefetching them asks nothing more.
        return next((v for v in self.versions.all() if v.state == state), None)


class ChallengeVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Superseded"

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    # The whole definition, cleaned (catalogue.clean_definition): name, currency, tags, time
    # zone, fee, payment ways, client groups, progression, platform and stages with rules.
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["challenge", "number"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "number"], name="challenge_version_once"),
            models.UniqueConstraint(
                fields=["challenge"],
                condition=models.Q(state="draft"),
                name="challenge_one_draft",
            ),
            models.UniqueConstraint(
                fields=["challenge"],
                condition=models.Q(state="published"),
                name="challenge_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.challenge} v{self.number} ({self.state})"

    @cached_property
    def spec(self) -> ChallengeDefinition:
        """The definition, typed (read once per instance: a version's definition is kept, and
        only a draft's is replaced, through `keep`)."""
        return ChallengeDefinition.model_validate(self.definition)

    def keep(self, spec: ChallengeDefinition) -> None:
        """Make `spec` this version's definition (the caller saves)."""
        self.definition = spec.to_json()
        self.__dict__["spec"] = spec


class Participation(models.Model):
    """A client's run of one challenge version: paid, approved, then stage after stage."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
        PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
        ACTIVE = "active", _("Active")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING_PAYMENT: frozenset({Status.PENDING_APPROVAL, Status.CANCELLED}),
        Status.PENDING_APPROVAL: frozenset({Status.ACTIVE, Status.REJECTED, Status.CANCELLED}),
        Status.ACTIVE: frozenset({Status.PASSED, Status.FAILED, Status.CANCELLED}),
        Status.PASSED: frozenset(),
        Status.FAILED: frozenset({Status.ACTIVE}),  # a failure in error, reinstated by staff
        Status.REJECTED: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    class Payment(models.TextChoices):
        WALLET = "wallet", _("Wallet")
        DIRECT = "direct", _("Direct purchase")

    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="participations"
    )
    challenge = models.ForeignKey(
        Challenge, on_delete=models.PROTECT, related_name="participations"
    )
    version = models.ForeignKey(
        ChallengeVersion, on_delete=models.PROTECT, related_name="participations"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    payment = models.CharField(max_length=10, choices=Payment.choices)
    fee = models.DecimalField(max_digits=20, decimal_places=2)  # what is paid: after discount
    # What coupons took off the challenge's price (each one's part is its CouponUse).
    discount = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    currency = models.CharField(max_length=3)
    fee_entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A direct purchase: the payment method, the provider's checkout and its payment id.
    method = models.ForeignKey(
        "wallet.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checkout_token = models.UUIDField(null=True, blank=True, unique=True)
    provider_payment_id = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A paid retry: the failed participation this one tries again (once: a double submit finds
    # the retry already made). Its fee entry is a Prop Retry Fee.
    retry_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retried_by"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # Prop Trading > Participants: a status (or a challenge), newest first, by id.
        indexes = [
            models.Index(fields=["status", "id"], name="participation_status_id"),
            models.Index(fields=["challenge", "id"], name="participation_challenge_id"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.challenge} ({self.status})"

    @property
    def reference(self) -> str:
        return references.of(references.PARTICIPATION, self.pk)

    @property
    def gross_fee(self) -> Decimal:
        """The challenge's price before any discount."""
        return self.fee + self.discount

    def current_attempt(self) -> StageAttempt | None:
        # Over all the attempts (a few), so that a list prefetching them asks nothing more.
        return max(self.attempts.all(), key=lambda a: (a.stage, a.pk), default=None)


class StageAttempt(models.Model):
    """One stage of a participation on its own trading account."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    # Moved only by participation.lifecycle.move_stage. A failure found to be in error is
    # reinstated by staff; a pass and a cancellation are final.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.IN_PROGRESS: frozenset({Status.PASSED, Status.FAILED, Status.CANCELLED}),
        Status.PASSED: frozenset(),
        Status.FAILED: frozenset({Status.IN_PROGRESS}),
        Status.CANCELLED: frozenset(),
    }

    participation = models.ForeignKey(
        Participation, on_delete=models.PROTECT, related_name="attempts"
    )
    stage = models.PositiveSmallIntegerField()  # index into the version's stages
    kind = models.CharField(max_length=4, choices=StageKind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    server = models.ForeignKey(
        "platforms.TradingServer", on_delete=models.PROTECT, related_name="+"
    )
    # Empty while its account is being opened (a platform command after the commit that opened
    # the stage: participation.stage_accounts).
    login = models.CharField(max_length=40, blank=True)
    sealed_password = models.TextField(blank=True)  # core.vault: shown to the owner only
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The monitor's: the evaluator's state (so a restart resumes exactly), the verdict in the
    # spec's form and the evaluator's explanation of it, and whether a pause holds trading.
    evaluator_state = models.JSONField(null=True, blank=True)
    verdict = models.JSONField(null=True, blank=True)
    explanation = models.TextField(blank=True)  # shown to the trader
    # Who on the staff ended the stage by hand and why: for staff only (the audit log too).
    staff_note = models.TextField(blank=True)
    paused = models.BooleanField(default=False)
    # Set when the monitor could not apply this stage's events: it is left for staff.
    monitor_error = models.CharField(max_length=500, blank=True)
    # The stream position after which its events went unapplied (staff retry from there).
    set_aside_after = models.BigIntegerField(null=True, blank=True)
    # Set while the client is suspended: the stage is on hold (its account neither trades nor
    # logs in, the monitor leaves it alone) and on reactivation the events after this stream
    # position are applied.
    held_after = models.BigIntegerField(null=True, blank=True)
    # The feed position the saved evaluator state reflects, when the monitor wrote it ahead of
    # its feed's checkpoint (a verdict, a pause): a restart skips the events up to it. Bumped
    # `revision`: staff changed the stage under the monitor (it loads the stage again).
    fed_through = models.BigIntegerField(null=True, blank=True)
    fed_feed = models.CharField(max_length=40, blank=True)  # the feed `fed_through` is in
    revision = models.PositiveIntegerField(default=0)
    # The feed checkpoint's `changes` count at staff's last change of it: the monitor looks up
    # only the stages changed since it last looked.
    changed_mark = models.BigIntegerField(default=0, db_index=True)
    # The stream position of the event (or the cursor at the day close) that decided it: a
    # reinstated stage reads on from there.
    concluded_after = models.BigIntegerField(null=True, blank=True)
    # When its current trading day ends (the evaluator's).
    day_end = models.DateTimeField(null=True, blank=True)
    # When the clock alone next acts on it (the evaluator's `next_due`: its day's end, or a
    # weekend cutoff before it): the monitor closes days and cutoffs only as they fall due.
    next_due = models.DateTimeField(null=True, blank=True)
    # The equity curve's bucket still open (monitoring.curve); closed ones are CurvePoints.
    curve_open = models.JSONField(null=True, blank=True)
    # The loss alerts' state (rules.watch: the day the daily alert fired, whether the max-loss
    # one waits to re-arm) and the feed position it reflects: written when an alert fires or
    # re-arms (monitoring.alerts), so that a restart reading events again does not refire.
    alert_state = models.JSONField(null=True, blank=True)
    # A paid reset: the stage this one starts over (once), cancelled by it, and the fee paid.
    reset_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reset_by"
    )
    reset_fee_entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["participation", "stage", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["server", "login"],
                condition=~models.Q(login=""),
                name="one_attempt_per_account",
            )
        ]
        # The dashboard's stages ended in a period; the monitor's running stages.
        indexes = [
            models.Index(fields=["status", "ended_at"], name="attempt_status_ended"),
            models.Index(fields=["status", "day_end"], name="attempt_status_day_end"),
        ]

    def __str__(self) -> str:
        return f"{self.participation} stage {self.stage + 1} ({self.status})"

    @property
    def account_ready(self) -> bool:
        """Whether its trading account is open (else it is being prepared on the platform)."""
        return bool(self.login)

    @property
    def subject(self) -> str:
        """How its account's platform commands are named (platforms.outbox orders them by it)."""
        return f"stage:{self.pk}"


class CurvePoint(models.Model):
    """One closed bucket of a stage's equity curve (monitoring.curve): the lowest and highest
    equity in it, and the equity and balance it ended on."""

    attempt = models.ForeignKey(StageAttempt, on_delete=models.CASCADE, related_name="curve")
    t = models.DateTimeField()  # the bucket's start
    low = models.DecimalField(max_digits=20, decimal_places=2)
    high = models.DecimalField(max_digits=20, decimal_places=2)
    equity = models.DecimalField(max_digits=20, decimal_places=2)
    balance = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        ordering = ["attempt", "t"]
        constraints = [models.UniqueConstraint(fields=["attempt", "t"], name="curve_bucket_once")]

    def __str__(self) -> str:
        return f"{self.attempt_id} at {self.t:%Y-%m-%d %H:%M}"


class MonitorCheckpoint(models.Model):
    """How far the monitor has read one feed of the account-event log (platforms.feeds: a
    server's part of the database log, `log:<server>`, or a NATS partition, `nats:<p>`), and
    who reads it now.

    The position moves with the states of the feed's running stages (a checkpoint): a restart
    resumes from it. A monitor process reads a feed only while it holds its lease (`owner`,
    renewed until `lease_until`); another takes a lapsed lease over. `changes` counts what staff
    and the stages' openings did that the feed's monitor must look at again (a stage
    reinstated, held, released, an account opened). The lag is the owner's last measure;
    `events_read` counts the events read past the checkpoint, added as it moves (a metric's
    counter: its rate is the monitor's events per second). `read_at`: when its reader last
    finished a round on it without an error (by the database's clock, written about every
    second, idle rounds too): a feed whose every read fails keeps its old lag, but not this."""

    key = models.CharField(max_length=40, unique=True)
    position = models.BigIntegerField(default=0)
    owner = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    changes = models.BigIntegerField(default=0)
    events_behind = models.BigIntegerField(default=0)
    seconds_behind = models.FloatField(default=0.0)
    measured_at = models.DateTimeField(null=True, blank=True)
    events_read = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.position}"


class Payout(models.Model):
    """A funded trader's payout from a live stage: the profit since the previous payout (or the
    live start) taken off the trading account by a balance operation, the trader's share of it
    credited to their wallet as one Profit Share entry, the firm's share recorded here.

    `figures` keeps what the decision was made on (the eligibility's conditions, each with its
    figure), so the trader and staff read the same stated rule later."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")  # its approval request is pending
        APPROVED = "approved", _("Approved")  # the balance operation is on its way to the platform
        PAID = "paid", _("Paid")  # taken off the account; the share is in the wallet
        REJECTED = "rejected", _("Rejected")
        # The stage ended before a decision, or the balance operation was given up.
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.REQUESTED: frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED}),
        Status.APPROVED: frozenset({Status.PAID, Status.CANCELLED}),
        Status.PAID: frozenset(),
        Status.REJECTED: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    OPEN: ClassVar[tuple[str, ...]] = (Status.REQUESTED, Status.APPROVED)

    attempt = models.ForeignKey(StageAttempt, on_delete=models.PROTECT, related_name="payouts")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    currency = models.CharField(max_length=3)
    # The trading profit taken off the account, and how it is split.
    profit = models.DecimalField(max_digits=20, decimal_places=2)
    share_pct = models.DecimalField(max_digits=6, decimal_places=2)
    trader_share = models.DecimalField(max_digits=20, decimal_places=2)
    firm_share = models.DecimalField(max_digits=20, decimal_places=2)
    # The balance the profit is measured from (the stage's starting balance).
    base_balance = models.DecimalField(max_digits=20, decimal_places=2)
    period_start = models.DateTimeField()
    figures = models.JSONField(default=dict)
    reason = models.TextField(blank=True)  # a rejection's, shown to the trader
    entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One payout at a time per stage: a second request waits for the first's end.
            models.UniqueConstraint(
                fields=["attempt"],
                condition=models.Q(status__in=("requested", "approved")),
                name="payout_one_open_per_stage",
            )
        ]
        indexes = [
            models.Index(fields=["status", "requested_at"], name="payout_status_time"),
            # The Prop Trading Dashboard counts each step on its own day.
            models.Index(fields=["decided_at"], name="payout_decided_at"),
            models.Index(fields=["paid_at"], name="payout_paid_at"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.profit} {self.currency} ({self.status})"

    @property
    def reference(self) -> str:
        return references.of(references.PAYOUT, self.pk)


class Certificate(models.Model):
    """A certificate the trader may show: a stage passed, or a payout made. Its `code` is
    unguessable; anyone with it can check it at its public address."""

    class Kind(models.TextChoices):
        STAGE_PASSED = "stage_passed", _("Stage passed")
        PAYOUT = "payout", _("Payout")

    code = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The stage's participation's client (whose own key is checked). Without a database
    # constraint: a stage's certificate is issued in the monitor's transaction, and PostgreSQL
    # checks a deferred key at the commit by locking the client's row, after the monitor's
    # stage locks: the inverse of a suspension's order (the client, then its stages).
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    attempt = models.ForeignKey(StageAttempt, on_delete=models.PROTECT, related_name="certificates")
    payout = models.OneToOneField(
        Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="certificate"
    )
    # What it says, fixed when issued: the firm's and the trader's names, the figures.
    figures = models.JSONField(default=dict)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["attempt"],
                condition=models.Q(kind="stage_passed"),
                name="certificate_one_per_stage_pass",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.kind}"

    @property
    def reference(self) -> str:
        return references.of(references.CERTIFICATE, self.pk)


# Growth (coupons, promotional links, IB commission) keeps its models in its own module.
from propdesk.challenges.growth.models import (  # noqa: E402
    Commission,
    CommissionScheme,
    CommissionSettlement,
    Coupon,
    CouponUse,
    IbTerms,
    PromoLink,
)

__all__ = [
    "Certificate",
    "Challenge",
    "ChallengeVersion",
    "Commission",
    "CommissionScheme",
    "CommissionSettlement",
    "Coupon",
    "CouponUse",
    "CurvePoint",
    "IbTerms",
    "MonitorCheckpoint",
    "Participation",
    "Payout",
    "PromoLink",
    "StageAttempt",
]


class ChallengeAlerts(models.Model):
    """The alerts a firm switches on for a challenge's running stages (docs/notifications-
    alerts.md): each threshold None is off. Not part of a published version: changed at any
    time, the monitor takes it up within seconds."""

    challenge = models.OneToOneField(Challenge, on_delete=models.CASCADE, related_name="alerts")
    daily_loss_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    max_loss_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    period_end_days = models.PositiveSmallIntegerField(null=True, blank=True)
    inactivity_days = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"alerts of {self.challenge_id}"

    @property
    def any_on(self) -> bool:
        return any(
            v is not None
            for v in (
                self.daily_loss_percent,
                self.max_loss_percent,
                self.period_end_days,
                self.inactivity_days,
            )
        )


class StageAlert(models.Model):
    """An alert sent for a stage: one row per firing. `ref` says which crossing it was (the
    trading day of a daily-loss alert, the feed position of a max-loss one, the period's last
    day or the last trading day for the clock's alerts), so that each is sent once."""

    attempt = models.ForeignKey(StageAttempt, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20)
    threshold = models.PositiveSmallIntegerField()
    ref = models.CharField(max_length=40)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["attempt", "at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "kind", "threshold", "ref"], name="one_alert_per_crossing"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert of stage {self.attempt_id}"
