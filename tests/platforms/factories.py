"""Helpers for the trading platforms' tests: servers made through Settings' use case, platform
commands written through the outbox (in a transaction, as a use case writes them) and carried
out by its runner against the built-in sandbox."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.core import vault
from propdesk.platforms import outbox, servers
from propdesk.platforms.models import PlatformCommand, TradingServer
from propdesk.platforms.protocol import Access
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox.models import Account

API_KEY = "mt-key-7f3a9c1e5b2d4f60a8e1"
DEMO_OFFER = "3f1c2b9e-8d4a-4c1e-9a7b-2e5d6f7a8b9c"
LIVE_OFFER = "0a7e6d5c-4b3a-4921-8f0e-1d2c3b4a5f6e"


def remote_form(**overrides: Any) -> dict[str, Any]:
    """Settings > Trading platforms' form for a Match-Trader server (None leaves a field out)."""
    data: dict[str, Any] = {
        "name": "Match-Trader live",
        "kind": TradingServer.Kind.MATCH_TRADER,
        "demo_groups": "mt-demo",
        "live_groups": "mt-live",
        "enabled": "on",
        "base_url": "https://broker.example.com/api/",
        "api_key": API_KEY,
        "offers": f"mt-demo = {DEMO_OFFER}\nmt-live = {LIVE_OFFER}",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def remote_server(actor: User, **overrides: Any) -> TradingServer:
    """A Match-Trader server saved as staff save one."""
    data = remote_form(**overrides)
    data["enabled"] = bool(data.get("enabled"))
    return servers.save_server(None, actor=actor, **data)


def closed_port() -> int:
    """A local TCP port nobody listens on (taken from the system, then let go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def sandbox_account(balance: str = "1000") -> Account:
    made, _password = sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance=balance
    )
    return made


def later(hours: int = 1) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def run(command: PlatformCommand, *, at: datetime | None = None) -> PlatformCommand:
    """Let the outbox's runner carry out the command (at `at`, a clock of the test's choosing),
    and read it back."""
    moment = at or timezone.now()
    outbox.run_due(now=lambda: moment, ids=[command.pk])
    return PlatformCommand.objects.get(pk=command.pk)


def debit(account: Account, amount: str, *, subject: str, key: str) -> PlatformCommand:
    with transaction.atomic():
        return outbox.balance(
            account.server,
            subject=subject,
            amount=Decimal(amount),
            comment="Fee",
            key=key,
            login=account.login,
        )


def refused_debit(account: Account, *, subject: str = "stage:1", key: str = "") -> PlatformCommand:
    """A debit beyond the account's money: the sandbox refuses it, the command is failed."""
    command = debit(account, f"-{account.balance + 1000}", subject=subject, key=key or subject)
    refused = run(command)
    assert refused.status == PlatformCommand.Status.FAILED, refused.error
    return refused


def access_change(account: Account, *, subject: str, access: Access) -> PlatformCommand:
    with transaction.atomic():
        return outbox.set_access(
            account.server, subject=subject, access=access, reason="Test", login=account.login
        )


def waiting_command(*, subject: str = "stage:2") -> PlatformCommand:
    """A balance command for a platform nobody answers at: a transient fault, so it waits for
    its back-off (an hour from now on the runner's clock)."""
    away, _ = TradingServer.objects.get_or_create(
        name="Away",
        defaults={
            "kind": TradingServer.Kind.MATCH_TRADER,
            "base_url": f"http://127.0.0.1:{closed_port()}",
            "sealed_api_key": vault.seal("a-key"),
            "demo_groups": ["demo"],
        },
    )
    with transaction.atomic():
        command = outbox.balance(
            away,
            subject=subject,
            amount=Decimal("10"),
            comment="Top-up",
            key=f"wait:{subject}",
            login="1001",
        )
    waiting = run(command, at=later())
    assert waiting.status == PlatformCommand.Status.PENDING
    assert waiting.next_try_at is not None
    assert waiting.next_try_at > timezone.now()
    return waiting
