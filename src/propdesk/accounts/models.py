from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from propdesk.accounts.zones import MAX_LENGTH as ZONE_MAX_LENGTH
from propdesk.accounts.zones import validate_time_zone
from propdesk.core import permissions


class Role(models.Model):
    """A named set of staff permissions. The Administrator role holds every permission."""

    ADMINISTRATOR = "Administrator"

    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    permissions = models.JSONField(default=list, blank=True)
    grants_all = models.BooleanField(default=False)
    requires_two_factor = models.BooleanField(
        default=False, help_text="Staff with this role must log in with a second factor."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def has_permission(self, code: str) -> bool:
        return self.grants_all or code in self.permissions

    def permission_codes(self) -> list[str]:
        if self.grants_all:
            return list(permissions.catalogue())
        return sorted(self.permissions)


class OfferedPermission(models.Model):
    """A default permission already given to a default role once. A permission a later
    release adds to a default role reaches existing installs once, and one an Administrator
    took away stays away."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="offered")
    code = models.CharField(max_length=80)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "code"], name="permission_offered_once")
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.code}"


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser):
    """Anyone who logs in: firm staff (back office) or clients (portal), by email."""

    class Kind(models.TextChoices):
        STAFF = "staff", "Staff"
        CLIENT = "client", "Client"

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The language of their portal and their emails (settings.LANGUAGES).
    language = models.CharField(max_length=10, default="en")
    # When they followed the link of the verification email; None until then. A firm may
    # require it before a client logs in (docs/authentication-recovery.md).
    email_verified_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff_user(self) -> bool:
        return self.kind == self.Kind.STAFF

    @property
    def is_client(self) -> bool:
        return self.kind == self.Kind.CLIENT

    def has_permission(self, code: str) -> bool:
        return (
            self.is_active
            and self.is_staff_user
            and self.role is not None
            and self.role.has_permission(code)
        )


class ClientGroup(models.Model):
    """A set of clients the firm treats alike: what they are offered (challenges, payment
    methods, trading servers) is decided by their group. One group is the default, where new
    clients go unless a registration rule (`GroupRule`) says otherwise. Its name is how
    challenge definitions refer to it, so it is kept as first written."""

    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_client_group",
            )
        ]

    def __str__(self) -> str:
        return self.name


class GroupRule(models.Model):
    """At registration, a client matching this rule joins `group` (the first rule that matches,
    by `position`; none: the default group)."""

    class Kind(models.TextChoices):
        COUNTRY = "country", "Country of nationality"
        REFERRER = "referrer", "Referred by (a client's referral code)"
        PROMO_LINK = "promo_link", "Arrived through a promotional link (its code)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=60)  # a country code, a referral code, a link's code
    group = models.ForeignKey(ClientGroup, on_delete=models.PROTECT, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="one_rule_per_match")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} → {self.group}"


def default_group() -> ClientGroup:
    """The group new clients join (made on first need, so a fresh install has one)."""
    group = ClientGroup.objects.filter(is_default=True).first()
    if group is None:
        group, _ = ClientGroup.objects.get_or_create(
            name="Standard", defaults={"is_default": True, "description": "Every new client"}
        )
    return group


REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


class Client(models.Model):
    """A trader or an introducing broker, with their portal login in `user`."""

    class Kind(models.TextChoices):
        TRADER = "trader", _("Trader")
        IB = "ib", _("IB")

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Pending approval")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING_APPROVAL: frozenset({Status.ACTIVE, Status.REJECTED}),
        Status.ACTIVE: frozenset({Status.SUSPENDED}),
        Status.SUSPENDED: frozenset({Status.ACTIVE}),
        Status.REJECTED: frozenset(),
    }

    class KycStatus(models.TextChoices):
        NOT_SUBMITTED = "not_submitted", _("Not submitted")
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    KYC_TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        KycStatus.NOT_SUBMITTED: frozenset({KycStatus.PENDING}),
        KycStatus.PENDING: frozenset({KycStatus.APPROVED, KycStatus.REJECTED}),
        KycStatus.REJECTED: frozenset({KycStatus.PENDING}),
        KycStatus.APPROVED: frozenset(),
    }

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="client")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    nationality = CountryField()
    phone = models.CharField(max_length=20, unique=True, help_text="E.164, e.g. +420601234567")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL, db_index=True
    )
    rejection_reason = models.TextField(blank=True)
    kyc_status = models.CharField(
        max_length=20, choices=KycStatus.choices, default=KycStatus.NOT_SUBMITTED, db_index=True
    )
    referral_code_used = models.CharField(max_length=40, blank=True)
    # Growth: the client's group, their own referral code, who referred them (the referral
    # tree: IB -> sub-IB -> clients) and the promotional link they arrived through.
    group = models.ForeignKey(
        ClientGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="clients"
    )
    referral_code = models.CharField(max_length=40, null=True, blank=True, unique=True)
    referrer = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    arrived_via = models.CharField(max_length=40, blank=True, default="", db_index=True)
    registration_ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    time_zone = models.CharField(
        max_length=ZONE_MAX_LENGTH,
        blank=True,
        default="",
        validators=[validate_time_zone],
        help_text="The IANA zone their portal shows times in; empty: the firm's.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user.name} <{self.user.email}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every client is in a group and has a referral code, however they were made.
        if self.group_id is None:
            self.group = default_group()
        while not self.referral_code:
            code = new_referral_code()
            if not Client.objects.filter(referral_code=code).exists():
                self.referral_code = code
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def email(self) -> str:
        return self.user.email


class ClientNote(models.Model):
    """A staff member's note on a client (the client never sees it); kept, never edited."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"], name="client_note_newest")]

    def __str__(self) -> str:
        return f"Note #{self.pk} on client {self.client_id}"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenManager(models.Manager["ApiToken"]):
    def issue(
        self, user: User, *, label: str = "", two_factor: bool = False
    ) -> tuple[ApiToken, str]:
        """A new token; beyond API_TOKENS_PER_USER live ones the oldest are retired (a script
        that logs in on every run must not pile up tokens, nor be locked out)."""
        raw = "pd_" + secrets.token_urlsafe(32)
        token = self.create(
            user=user,
            key_hash=_hash_token(raw),
            prefix=raw[:10],
            label=label,
            two_factor=two_factor,
        )
        keep = max(1, settings.API_TOKENS_PER_USER)
        oldest = timezone.now() - timedelta(days=settings.API_TOKEN_DAYS)
        live = self.filter(user=user, revoked_at__isnull=True, created_at__gte=oldest)
        surplus = list(live.order_by("-created_at", "-id").values_list("pk", flat=True)[keep:])
        if surplus:
            self.filter(pk__in=surplus).update(revoked_at=timezone.now())
        return token, raw

    def find(self, raw: str) -> ApiToken | None:
        """The live token for `raw`: neither revoked nor older than API_TOKEN_DAYS."""
        oldest = timezone.now() - timedelta(days=settings.API_TOKEN_DAYS)
        return (
            self.select_related("user", "user__role", "user__client")
            .filter(key_hash=_hash_token(raw), revoked_at__isnull=True, created_at__gte=oldest)
            .first()
        )


class ApiToken(models.Model):
    """A bearer token for scripts; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Whether the second factor was given when the token was issued: a staff token issued
    # without it stops working once its user has a second factor or their role requires one.
    two_factor = models.BooleanField(default=False)

    objects: ClassVar[ApiTokenManager] = ApiTokenManager()

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.email})"


class LoginAttempt(models.Model):
    """A failed try to log in (a wrong password or an unknown account); successes are not
    written down. The failures in a window decide the throttle (`accounts.throttle`); older
    ones are pruned."""

    # Whose login: people (by email) or trading accounts (by login); counted apart.
    realm = models.CharField(max_length=10, default="people")
    email = models.CharField(max_length=254)  # the account tried: an email, or a login
    ip = models.GenericIPAddressField(null=True, blank=True)
    device = models.CharField(max_length=32, blank=True)  # the known device it came from
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["realm", "email", "at"], name="login_failures_by_account"),
            models.Index(fields=["realm", "ip", "at"], name="login_failures_by_address"),
            models.Index(fields=["at"], name="login_failures_by_age"),
        ]

    def __str__(self) -> str:
        return f"{self.email} failed {self.at:%Y-%m-%d %H:%M:%S}"


class CappedWait:
    """django-otp's throttle, with its waits capped: after n wrong codes in a row the next try
    waits 2**(n-1) seconds, never more than TWO_FACTOR_MAX_WAIT_SECONDS, so that wrong codes
    (typed by someone holding the password) never lock the owner out for days."""

    throttling_failure_timestamp: Any

    def verify_is_allowed(self) -> tuple[bool, dict[str, Any] | None]:
        allowed, info = super().verify_is_allowed()  # type: ignore[misc]
        if allowed or not info or info.get("reason") != VerifyNotAllowed.N_FAILED_ATTEMPTS:
            return allowed, info
        cap = self.throttling_failure_timestamp + timedelta(
            seconds=settings.TWO_FACTOR_MAX_WAIT_SECONDS
        )
        locked_until = min(info["locked_until"], cap)
        if timezone.now() >= locked_until:
            return True, None
        return False, {**info, "locked_until": locked_until}


class Authenticator(CappedWait, TOTPDevice):
    """A staff member's authenticator app (TOTP). Unconfirmed until its first right code."""

    class Meta:
        proxy = True


class RecoveryCodes(CappedWait, StaticDevice):
    """A staff member's one-time recovery codes; each code is deleted as it is used."""

    class Meta:
        proxy = True
