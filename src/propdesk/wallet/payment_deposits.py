"""A wallet deposit paid through a provider, as wallet.payments applies it: what arrived goes
to the deposit's approval (the firm's policy: automatic under a threshold, or a reviewer), for
the amount that actually arrived; more later (the rest of a part, an over-payment) is a deposit
of its own. A refund takes back out of the wallet only what the payment's deposits credited
(`in_wallet`): a deposit still waiting for approval is decided first (`undecided`), and money
whose deposit was rejected never entered the books."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet

from propdesk.accounts.models import User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.wallet import deposits
from propdesk.wallet.models import Deposit, Payment
from propdesk.wallet.payments import Purpose, register_purpose


def _deposit(payment: Payment) -> Deposit:
    return Deposit.objects.get(checkout_token=payment.token)


def deposits_of(payment: Payment) -> QuerySet[Deposit]:
    """The deposits this payment's money went to: its own (by the checkout's token), and any
    opened for more money that arrived on it later (by the provider's payment id)."""
    same = Q(checkout_token=payment.token)
    if payment.payment_id:
        same |= Q(provider_payment_id=payment.payment_id[:100], checkout_token=None)
    return Deposit.objects.filter(same, client_id=payment.client_id, currency=payment.currency)


def undecided(payment: Payment) -> list[Deposit]:
    """Its deposits that arrived and still wait for approval: nothing of them is in the wallet
    yet, and approving one after its money went back would credit it twice."""
    return list(deposits_of(payment).filter(status=Deposit.Status.PENDING))


def withdraw_undecided(payment: Payment, why: str) -> int:
    """Its deposits waiting for approval are rejected, their requests withdrawn: the money
    went back to the payer at the provider, so it must never be credited (how many)."""
    withdrawn = 0
    for deposit in undecided(payment):
        # The request first, then the deposit: the order an approval locks them in (so the two
        # never wait on each other). One approved meanwhile leaves its deposit approved.
        approvals.cancel_pending(
            ApprovalRequest.objects.filter(
                type_key=deposits.DEPOSIT, payload__deposit_id=deposit.pk
            ),
            actor=None,
            text=why,
        )
        locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
        if locked.status != Deposit.Status.PENDING:
            continue
        locked.status = Deposit.Status.REJECTED
        locked.save(update_fields=["status"])
        withdrawn += 1
    return withdrawn


def credited(payment: Payment) -> Decimal:
    """What the payment's approved deposits put into the wallet (a reviewer may have amended
    the amount); a pending or rejected deposit put nothing."""
    found = deposits_of(payment).filter(status=Deposit.Status.APPROVED)
    return sum((d.credited_amount or Decimal(0) for d in found), Decimal(0))


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
