"""The catalogue of staff permissions. Domains add theirs with `register`."""

from __future__ import annotations

_CATALOGUE: dict[str, str] = {}


def register(code: str, label: str) -> str:
    existing = _CATALOGUE.get(code)
    if existing is not None and existing != label:
        raise ValueError(f"permission {code!r} registered twice with different labels")
    _CATALOGUE[code] = label
    return code


def catalogue() -> dict[str, str]:
    return dict(sorted(_CATALOGUE.items()))


def is_known(code: str) -> bool:
    return code in _CATALOGUE


APPROVALS_VIEW = register("approvals.view", "See approval queues and requests")
APPROVALS_NOTE = register("approvals.note", "Add notes to requests")
CLIENTS_VIEW = register("clients.view", "See clients")
CLIENTS_MANAGE = register("clients.manage", "Suspend and reactivate clients")
SETTINGS_MANAGE = register("settings.manage", "Change settings (approval methods and the like)")
STAFF_MANAGE = register("staff.manage", "Manage staff users and roles")
AUDIT_VIEW = register("audit.view", "See the audit log")
WALLET_VIEW = register("wallet.view", "See clients' wallets and ledger entries")
WALLET_ADJUST = register("wallet.adjust", "Credit or debit a client's wallet by hand")
KYC_REVIEW = register("kyc.review", "Review identity (KYC) submissions and their documents")
REGISTRATIONS_REVIEW = register(
    "registrations.review", "Approve or reject trader and IB registrations"
)
