"""A wallet deposit paid through a provider, as wallet.payments applies it: what arrived goes
to the deposit's approval (the firm's policy: automatic under a threshold, or a reviewer), for
the amount that actually arrived; more later (the rest of a part, an over-payment) is a deposit
of its own. A refund takes the money back out of the wallet."""

from __future__ import annotations

from decimal import Decimal

from propdesk.accounts.models import User
from propdesk.wallet import deposits
from propdesk.wallet.models import Deposit, Payment
from propdesk.wallet.payments import Purpose, register_purpose


def _deposit(payment: Payment) -> Deposit:
    return Deposit.objects.get(checkout_token=payment.token)


def settle(payment: Payment, received: Decimal) -> str:
    return (
        deposits.payment_received(_deposit(payment), payment_id=payment.payment_id, amount=received)
        or "paid"
    )


def closed(payment: Payment) -> None:
    deposits.payment_cancelled(_deposit(payment))


def closed_as(payment: Payment) -> str | None:
    found = _deposit(payment)
    if found.status != Deposit.Status.AWAITING_PAYMENT:
        return str(found.get_status_display()).lower()
    return "expired" if deposits.has_lapsed(found.created_at) else None


def fee_part(payment: Payment, amount: Decimal) -> Decimal:
    return Decimal(0)  # a deposit paid for nothing: the money leaves the wallet itself


def refunded(payment: Payment, amount: Decimal, actor: User | None) -> None:
    return None


register_purpose(
    Payment.Purpose.DEPOSIT,
    Purpose(
        describe=lambda payment: "a wallet deposit",
        return_to="portal:wallet",
        settle=settle,
        closed=closed,
        fee_part=fee_part,
        refunded=refunded,
        closed_as=closed_as,
    ),
)
