"""The roles every firm starts with; an Administrator edits them (and adds others) later."""

from __future__ import annotations

from typing import Any

from propdesk.accounts import permissions as p

DEFAULT_ROLES: list[tuple[str, str, bool, list[str]]] = [
    ("Administrator", "Everything, including staff, roles and settings.", True, []),
    (
        "Compliance",
        "Reviews registrations and identity; sees the audit log.",
        False,
        [
            p.APPROVALS_VIEW,
            p.APPROVALS_NOTE,
            p.REGISTRATIONS_REVIEW,
            p.CLIENTS_VIEW,
            p.CLIENTS_MANAGE,
            p.KYC_REVIEW,
            p.WALLET_VIEW,
            p.AUDIT_VIEW,
        ],
    ),
    (
        "Finance",
        "Reviews money movements and adjusts wallets.",
        False,
        [
            p.APPROVALS_VIEW,
            p.APPROVALS_NOTE,
            p.CLIENTS_VIEW,
            p.WALLET_VIEW,
            p.WALLET_ADJUST,
            "deposits.review",
            "withdrawals.review",
            "platforms.view",
        ],
    ),
    (
        "Support",
        "Sees clients, requests, wallets and trading accounts; changes nothing.",
        False,
        [p.APPROVALS_VIEW, p.CLIENTS_VIEW, p.WALLET_VIEW, "platforms.view"],
    ),
]


def ensure_default_roles(**kwargs: Any) -> None:
    """Create the missing default roles; an existing role (perhaps edited) is left alone.

    Runs after every `migrate` (and after a test flush), like Django's own content types.
    """
    from propdesk.accounts.models import Role

    for name, description, grants_all, codes in DEFAULT_ROLES:
        Role.objects.get_or_create(
            name=name,
            defaults={"description": description, "grants_all": grants_all, "permissions": codes},
        )
