"""The trading servers a firm connects to (Settings > Trading platforms), the commands propdesk
sends them (the outbox) and the account events it takes in from them (the account-event log)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class TradingServer(models.Model):
    """One connection to a trading platform, with the groups its accounts are opened in."""

    class Kind(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox (built in)"
        MATCH_TRADER = "match_trader", "Match-Trader (Broker API)"
        MT5 = "mt5", "MetaTrader 5 (Web API)"

    name = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SANDBOX)
    demo_groups = models.JSONField(default=list, help_text="Groups for demo (challenge) stages")
    live_groups = models.JSONField(default=list, help_text="Groups for live (funded) stages")
    enabled = models.BooleanField(default=True)
    # The client groups whose accounts may be on this server; none: every client.
    client_groups = models.ManyToManyField(
        "accounts.ClientGroup", blank=True, related_name="trading_servers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A remote platform's address and key (the key sealed with core.vault, never shown again),
    # and which of its offers each group's accounts are opened on ({group: offer uuid}).
    base_url = models.URLField(max_length=300, blank=True)
    sealed_api_key = models.TextField(blank=True)
    api_key_changed_at = models.DateTimeField(null=True, blank=True)
    offers = models.JSONField(default=dict, blank=True)
    # MetaTrader 5: the manager's login (its password is sealed in `sealed_api_key`).
    manager_login = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def groups(self) -> list[str]:
        return [*self.demo_groups, *self.live_groups]


class PlatformCommand(models.Model):
    """One thing to do on a platform (the outbox), written in the business transaction that
    decided it and carried out after it commits: once (its idempotency `key` goes to the
    platform), in order per account (`subject`), retried after transient faults, stopped for
    staff after a refusal."""

    class Kind(models.TextChoices):
        OPEN_ACCOUNT = "open_account", "Open an account"
        SET_ACCESS = "set_access", "Set its access"
        BALANCE = "balance", "Balance operation"
        CLOSE_POSITIONS = "close_positions", "Close all positions"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its turn, or to be tried again
        DONE = "done", "Done"
        FAILED = "failed", "Failed"  # refused by the platform: waits for staff
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        # Cancelled from pending only by the outbox: its account's opening was cancelled.
        Status.PENDING: frozenset({Status.DONE, Status.FAILED, Status.CANCELLED}),
        Status.FAILED: frozenset({Status.PENDING, Status.CANCELLED}),
        Status.DONE: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="commands")
    # The account the command is about, as the caller names it ("stage:42"): commands with the
    # same subject run one after another in the order written.
    subject = models.CharField(max_length=80)
    login = models.CharField(max_length=40, blank=True)  # known once the account is open
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    key = models.CharField(max_length=120, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # What to tell the caller's code when it is done (a name registered with the outbox).
    then = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    # A runner that took it holds it until then (a runner killed mid-call loses it after).
    claimed_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)  # the last fault, in words
    answer = models.TextField(blank=True)  # what the platform last said (its body)
    result = models.JSONField(null=True, blank=True)  # what it gave back (never a password)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_try_at"]),
            models.Index(fields=["server", "subject", "id"]),
            # The balance operations done lately: an ingestor writes them as money moved even
            # while the platform's ledger does not list them yet (matchtrader.ingestor).
            models.Index(fields=["kind", "done_at"], name="platform_command_kind_done"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.subject} ({self.status})"


class LoggedEvent(models.Model):
    """The account-event log: every event of every account, as docs/rules.md describes them,
    appended by the servers' ingestors. The id is the monitor's cursor; a server's events are
    appended by its one ingestor under its `IngestCursor`'s lock, so within a server ids follow
    commit order. `source` is the platform's own name for the event (a deal's id, a snapshot's
    time), so one taken in twice is kept once."""

    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="+")
    login = models.CharField(max_length=40)
    payload = models.JSONField()
    source = models.CharField(max_length=120)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["server", "id"]),
            models.Index(fields=["server", "login", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["server", "source"], name="logged_event_once")
        ]

    def __str__(self) -> str:
        return f"event #{self.pk} {self.login} {self.payload.get('type')}"


class IngestCursor(models.Model):
    """How far a server's ingestor has taken in the platform's events (its own position: the
    sandbox's stream id, Match-Trader's last deal and snapshot times), kept in the transaction
    that appends them. Locked while a batch is appended: one ingestor per server at a time."""

    server = models.OneToOneField(TradingServer, on_delete=models.CASCADE, related_name="+")
    position = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"ingested from {self.server_id}: {self.position}"
