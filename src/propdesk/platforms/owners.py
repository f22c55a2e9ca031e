"""Whose a trading account is, for what the firm's policies say its owner may do on it.

The platforms app opens no account for a client itself: the app that does (prop trading, for
its challenges' stages) tells here how to find the client behind a server's login. Before an
order fills, the sandbox asks `require_may_trade`: while the firm's KYC policy blocks trading
(*Settings > KYC*, "Trade") and the owner's KYC is not approved, the order is refused
(`kyc_required`, 403) and nothing changes. Reading prices, the account and its positions stays
open, and so does closing a position: a client waiting for KYC may always reduce their risk.
"""

from __future__ import annotations

from collections.abc import Callable

from propdesk.accounts.models import Client
from propdesk.onboarding import kyc, kyc_actions

# (server id, login) -> the client whose account it is, or None when it is no client's.
OwnerLookup = Callable[[int, str], Client | None]

_lookups: list[OwnerLookup] = []


def register(lookup: OwnerLookup) -> None:
    if lookup not in _lookups:
        _lookups.append(lookup)


def owner(server_id: int, login: str) -> Client | None:
    for lookup in _lookups:
        found = lookup(server_id, login)
        if found is not None:
            return found
    return None


def require_may_trade(server_id: int, login: str) -> None:
    """Refuse a new order on the account while its owner may not trade (`KycRequired`)."""
    found = owner(server_id, login)
    if found is not None:
        kyc.require_kyc(found, kyc_actions.TRADE)
