"""Settings > Payment providers: each registered provider's settings (wallet.ProviderAccount),
its secrets sealed with core.vault as they are saved and never shown again (a blank field
keeps the one set; the audit trail says only that it changed), and *Test connection*, a call
to the provider made outside any transaction of ours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.core import audit, vault
from propdesk.core.audit import AuditAction
from propdesk.core.errors import NotFound
from propdesk.core.permissions import SETTINGS_MANAGE, require_permission
from propdesk.core.validation import FieldErrors
from propdesk.wallet.models import ProviderAccount
from propdesk.wallet.providers import registry
from propdesk.wallet.providers.protocol import Field, ProviderError

MAX_VALUE = 2000


@dataclass(frozen=True)
class ProviderRow:
    kind: str
    label: str
    account: ProviderAccount
    fields: tuple[Field, ...]
    secrets_set: frozenset[str]
    webhook_path: str


def rows() -> list[ProviderRow]:
    return [row(kind) for kind in registry.kinds()]


def row(kind: str) -> ProviderRow:
    cls = registry.adapter(kind)
    if cls is None:
        raise NotFound("No such payment provider.")
    account = registry.account(kind)
    return ProviderRow(
        kind=kind,
        label=registry.label(kind),
        account=account,
        fields=tuple(cls.fields),
        secrets_set=frozenset(k for k, v in registry.secrets_of(account).items() if v),
        webhook_path=f"/webhooks/payments/{kind}/",
    )


def save(kind: str, *, enabled: bool, given: dict[str, Any], actor: User) -> ProviderAccount:
    """Save a provider's settings: its plain values as given, each secret sealed when given
    (blank keeps the one set)."""
    require_permission(actor, SETTINGS_MANAGE)
    found = row(kind)
    errors = FieldErrors()
    values: dict[str, str] = {}
    new_secrets: dict[str, str] = {}
    for field in found.fields:
        raw = given.get(field.key, "")
        text = raw.strip() if isinstance(raw, str) else ""
        if len(text) > MAX_VALUE or not text.isprintable():
            errors.add(field.key, f"{field.label}: at most {MAX_VALUE} printable characters.")
            continue
        if field.secret:
            if text:
                new_secrets[field.key] = text
        else:
            values[field.key] = text
    if enabled and not getattr(registry.adapter(kind), "local", False):
        # A remote provider turned on without a key or a webhook secret would refuse every
        # checkout or every webhook while clients wait: all of them first.
        for field in found.fields:
            if field.secret and field.key not in new_secrets and field.key not in found.secrets_set:
                errors.add(field.key, f"{field.label}: needed before the provider is turned on.")
    errors.raise_if_any("Please correct the provider's settings.")
    with transaction.atomic():
        account = ProviderAccount.objects.select_for_update().get(pk=found.account.pk)
        before = {"enabled": account.enabled, **account.values}
        account.enabled = bool(enabled)
        account.values = values
        changed = sorted(new_secrets)
        if new_secrets:
            kept = registry.secrets_of(account)
            account.sealed_secrets = vault.seal(json.dumps({**kept, **new_secrets}))
            account.secrets_changed_at = timezone.now()
        account.save()
        audit.record(
            actor=actor,
            action=AuditAction.PAYMENT_PROVIDER_UPDATE,
            object_type="wallet.ProviderAccount",
            object_id=account.pk,
            summary=f"Payment provider {kind} saved"
            + (f"; secrets changed: {', '.join(changed)}" if changed else ""),
            before=before,
            after={"enabled": account.enabled, **values, "secrets_changed": changed},
        )
    return account


def test_connection(kind: str, *, actor: User) -> tuple[bool, str]:
    """Ask the provider with the saved settings (outside any transaction); the answer, or the
    reason it failed, is shown and audited."""
    require_permission(actor, SETTINGS_MANAGE)
    provider = registry.provider_for(kind)
    try:
        ok, answer = True, provider.test_connection()
    except ProviderError as failed:
        ok, answer = False, f"{failed}" + (f" (HTTP {failed.status})" if failed.status else "")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.PAYMENT_PROVIDER_TEST,
            object_type="wallet.ProviderAccount",
            object_id=registry.account(kind).pk,
            summary=f"Test connection to {kind}: {'ok' if ok else 'failed'}: {answer}"[:500],
        )
    return ok, answer
