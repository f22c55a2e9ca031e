"""The sandbox trading platform's books: instruments and their quotes, accounts, positions,
deals, and the stream of account events consumers read from a cursor."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from propdesk.platforms.sandbox.pricing import Spec


class Instrument(models.Model):
    symbol = models.CharField(max_length=20, unique=True)
    description = models.CharField(max_length=100, blank=True)
    base_currency = models.CharField(max_length=3, blank=True)
    quote_currency = models.CharField(max_length=3)
    digits = models.PositiveSmallIntegerField()
    contract_size = models.PositiveIntegerField()
    spread_points = models.PositiveIntegerField()
    # The synthetic feed quotes spread_points x this during the daily rollover
    # (pricing.ROLLOVER_HOURS, UTC); 1: the same spread around the clock.
    rollover_spread_multiplier = models.PositiveSmallIntegerField(default=3)
    min_volume = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.01"))
    max_volume = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("100"))
    volume_step = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.01"))
    # The synthetic feed: yearly volatility (0.08 = 8%) and where prices start.
    volatility = models.DecimalField(max_digits=6, decimal_places=4)
    start_price = models.DecimalField(max_digits=20, decimal_places=8)
    # Weekly windows in UTC, [{"days": "mon-fri", "open": "00:00", "close": "24:00"}]; empty:
    # open around the clock, so a demo works at any hour of any day.
    trading_hours = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol

    @property
    def spec(self) -> Spec:
        return Spec(
            symbol=self.symbol,
            base_currency=self.base_currency,
            quote_currency=self.quote_currency,
            digits=self.digits,
            contract_size=self.contract_size,
        )


class Quote(models.Model):
    """The latest price of an instrument; the feed moves it, orders fill at it."""

    instrument = models.OneToOneField(
        Instrument, primary_key=True, on_delete=models.CASCADE, related_name="quote"
    )
    bid = models.DecimalField(max_digits=20, decimal_places=8)
    ask = models.DecimalField(max_digits=20, decimal_places=8)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.bid}/{self.ask}"


class PriceSample(models.Model):
    """An instrument's bid at the end of a short interval (history.BUCKET), for the terminal's
    chart: the feed and each tick overwrite the interval's sample, so it holds the last bid."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()  # the interval's start
    bid = models.DecimalField(max_digits=20, decimal_places=8)

    class Meta:
        ordering = ["instrument", "at"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "at"], name="one_sample_per_interval")
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.at:%H:%M:%S} {self.bid}"


class Account(models.Model):
    server = models.ForeignKey(
        "platforms.TradingServer", on_delete=models.PROTECT, related_name="sandbox_accounts"
    )
    login = models.CharField(max_length=20, unique=True)
    password = models.CharField(max_length=200)  # a hash, as for people
    group = models.CharField(max_length=60)
    leverage = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(max_digits=20, decimal_places=2)
    trading_enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Whether the account may log in at all (the terminal, the trading API): the firm blocks
    # it while its owner is suspended.
    login_enabled = models.BooleanField(default=True)
    # Whether a disabled account may still close what it has open ("close only"); with trading
    # disabled and this off it may do nothing but look ("no trading").
    may_close = models.BooleanField(default=True)
    # The key of the request that opened it (platforms.outbox): the same key opens it once.
    creation_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    stopout_level = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal(50), help_text="Margin level, percent"
    )
    comment = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["login"]

    def __str__(self) -> str:
        return f"{self.login} ({self.group})"


class Position(models.Model):
    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4, choices=Side.choices)
    volume = models.DecimalField(max_digits=8, decimal_places=2)  # still open
    open_price = models.DecimalField(max_digits=20, decimal_places=8)
    sl = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    tp = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    margin = models.DecimalField(max_digits=20, decimal_places=2)  # for the open volume
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # The order's Idempotency-Key (scoped to the account): a retried order opens nothing more.
    idempotency_key = models.CharField(max_length=140, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "closed_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.volume} {self.instrument_id}"

    @property
    def sign(self) -> int:
        return 1 if self.side == self.Side.BUY else -1


class Deal(models.Model):
    """Every fill, and every balance operation, as the account's history shows it."""

    class Kind(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")
        BALANCE = "balance", _("Balance")

    class Entry(models.TextChoices):
        IN = "in", pgettext_lazy("deal entry", "In")
        OUT = "out", pgettext_lazy("deal entry", "Out")
        NONE = "", "—"

    class Reason(models.TextChoices):
        CLIENT = "client", _("Client")
        STOP_LOSS = "sl", _("Stop loss")
        TAKE_PROFIT = "tp", _("Take profit")
        STOP_OUT = "stopout", _("Stop out")
        STAFF = "staff", _("Staff")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deals")
    position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    kind = models.CharField(max_length=7, choices=Kind.choices)
    entry = models.CharField(max_length=3, choices=Entry.choices, blank=True)
    reason = models.CharField(max_length=7, choices=Reason.choices, default=Reason.CLIENT)
    symbol = models.CharField(max_length=20, blank=True)
    volume = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal(0))
    price = models.DecimalField(max_digits=20, decimal_places=8, default=Decimal(0))
    profit = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    balance_after = models.DecimalField(max_digits=20, decimal_places=2)
    comment = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    # A close's Idempotency-Key (scoped to the account): a retried close closes nothing more.
    idempotency_key = models.CharField(max_length=140, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "id"])]

    def __str__(self) -> str:
        return f"deal #{self.pk} {self.kind} {self.entry}"


class Event(models.Model):
    """The account event stream. The id is the cursor: writers take the stream's lock before
    they insert, so ids are handed out in commit order and a reader that has seen id N has
    seen everything below it."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="events")
    payload = models.JSONField()
    from_feed = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "id"])]

    def __str__(self) -> str:
        return f"event #{self.pk} {self.payload.get('type')}"


class StreamLock(models.Model):
    """One row; held while events are written, so the stream's ids follow commit order."""

    class Meta:
        verbose_name = "stream lock"

    def __str__(self) -> str:
        return "the event stream's lock"


class TradingToken(models.Model):
    """A bearer token for the trading API, got once for an account's login and password. Only
    its hash is kept. It ends at `expires_at`, when revoked, or when the account's password
    changes (`password_digest` is a digest of the password hash it was issued under)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    password_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "expires_at"])]

    def __str__(self) -> str:
        return f"trading token #{self.pk} of {self.account_id}"
