"""The payment providers propdesk knows (kind → its adapter class), and each one built from its
settings (Settings > Payment providers: wallet.ProviderAccount, secrets sealed with core.vault).

Adapters are imported when first asked for: a kind whose module is not there (or does not
import) is simply not offered, so the sandbox works alone."""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from django.utils.module_loading import import_string

from propdesk.core import vault
from propdesk.core.errors import NotFound
from propdesk.wallet.providers.protocol import PaymentProvider, settings_of

log = logging.getLogger(__name__)

ADAPTERS: dict[str, str] = {
    "sandbox": "propdesk.wallet.providers.sandbox:SandboxProvider",
    "stripe": "propdesk.wallet.providers.stripe:StripeProvider",
    "nowpayments": "propdesk.wallet.providers.nowpayments:NowPaymentsProvider",
}


@cache
def adapter(kind: str) -> type[Any] | None:
    """The adapter class of `kind`, or None when it is unknown or its module is missing."""
    path = ADAPTERS.get(kind)
    if path is None:
        return None
    try:
        found: type[Any] = import_string(path.replace(":", "."))
        return found
    except ImportError:
        log.info("payment provider %s is not installed (%s)", kind, path)
        return None


def kinds() -> list[str]:
    """The registered kinds whose adapter is installed, in the registry's order."""
    return [kind for kind in ADAPTERS if adapter(kind) is not None]


def label(kind: str) -> str:
    found = adapter(kind)
    return str(getattr(found, "label", kind)) if found is not None else kind


def account(kind: str) -> Any:
    """The kind's settings row (made on first use; the sandbox is enabled from the start, it
    needs nothing)."""
    from propdesk.wallet.models import ProviderAccount

    found, _ = ProviderAccount.objects.get_or_create(
        kind=kind, defaults={"enabled": kind == "sandbox"}
    )
    return found


def secrets_of(row: Any) -> dict[str, str]:
    """The account's secrets, unsealed ({} when none, or when no vault key opens them)."""
    if not row.sealed_secrets:
        return {}
    opened = vault.open_sealed(row.sealed_secrets)
    if opened is None:
        log.warning("the sealed secrets of payment provider %s cannot be opened", row.kind)
        return {}
    loaded = json.loads(opened)
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def provider_for(kind: str) -> PaymentProvider:
    """The adapter of `kind`, built from its settings and unsealed secrets (NotFound: the kind
    is not installed)."""
    cls = adapter(kind)
    if cls is None:
        raise NotFound(f"No payment provider {kind!r}.")
    row = account(kind)
    values = {**{str(k): str(v) for k, v in (row.values or {}).items()}, **secrets_of(row)}
    built: PaymentProvider = cls(settings_of(values, cls.fields))
    return built
