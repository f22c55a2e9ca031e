"""Client actions the firm may block until KYC is approved. Later domains add theirs."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from propdesk.core.errors import DomainError

_ACTIONS: dict[str, str] = {}


def register(key: str, label: str) -> str:
    _ACTIONS[key] = label
    return key


def catalogue() -> dict[str, str]:
    return dict(_ACTIONS)


DEPOSIT = register("deposit", "Deposit")
WITHDRAW = register("withdraw", "Withdraw")
JOIN_CHALLENGE = register("join_challenge", "Join a challenge")
REQUEST_PAYOUT = register("request_payout", "Request a payout")
# Place a new order (the web terminal, the trading API); closing a position stays allowed.
TRADE = register("trade", "Trade")


class KycRequired(DomainError):
    status = 403
    code = "kyc_required"
    default_message = gettext_lazy("Verify your identity first: this action needs an approved KYC.")
