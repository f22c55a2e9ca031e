"""The roles every firm starts with; an Administrator edits them (and adds others) later.

The permissions of the apps above accounts are named by their codes (each app declares its own).
"""

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
            "approvals.view",
            "approvals.note",
            "registrations.review",
            p.CLIENTS_VIEW,
            p.CLIENTS_MANAGE,
            p.CLIENTS_NOTE,
            "kyc.review",
            "wallet.view",
            p.AUDIT_VIEW,
            "challenges.view",
            "notifications.view",  # the wording clients receive (Settings > Notifications)
        ],
    ),
    (
        "Finance",
        "Reviews money movements and adjusts wallets.",
        False,
        [
            "approvals.view",
            "approvals.note",
            p.CLIENTS_VIEW,
            p.CLIENTS_NOTE,
            "wallet.view",
            "wallet.adjust",
            "deposits.review",
            "withdrawals.review",
            "payments.view",  # Finance > Payments (online payments, their messages)
            "payments.refund",  # refund a paid payment to the payer
            "platforms.view",
            "challenges.view",
            "participations.review",
            "participants.manage",
            "payouts.review",
            "commission.view",  # IB commission: its report, and paying settlements
            "commission.review",
        ],
    ),
    (
        "Support",
        "Sees clients, requests, wallets and trading accounts; writes notes on clients.",
        False,
        [
            "approvals.view",
            p.CLIENTS_VIEW,
            p.CLIENTS_NOTE,
            "wallet.view",
            "platforms.view",
            "challenges.view",
            "notifications.view",
        ],
    ),
]


def ensure_default_roles(
    defaults: list[tuple[str, str, bool, list[str]]] | None = None, **kwargs: Any
) -> None:
    """Create the missing default roles, and give each default role, once, the default
    permissions it has not been offered before; an edited role keeps its edits.

    Runs after every `migrate` (and after a test flush), like Django's own content types. An
    install that predates this bookkeeping counts what its default roles hold as offered.
    """
    from propdesk.accounts.models import OfferedPermission, Role

    for name, description, grants_all, codes in DEFAULT_ROLES if defaults is None else defaults:
        role, made = Role.objects.get_or_create(
            name=name,
            defaults={"description": description, "grants_all": grants_all, "permissions": codes},
        )
        offered = set(role.offered.values_list("code", flat=True))
        if not made and not offered:  # the first sync of an older install
            offered = set(codes)
            OfferedPermission.objects.bulk_create(
                OfferedPermission(role=role, code=c) for c in sorted(offered)
            )
            continue
        new = [c for c in codes if c not in offered]
        if not new:
            continue
        missing = [c for c in new if c not in role.permissions]
        if missing:
            role.permissions = [*role.permissions, *missing]
            role.save(update_fields=["permissions"])
        OfferedPermission.objects.bulk_create(OfferedPermission(role=role, code=c) for c in new)
