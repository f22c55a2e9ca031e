"""Applying a provider's answer about a payment (wallet.payments): in one transaction, the
payment locked, idempotently by amounts, so a retried job or two webhooks at once move money
once.

- Money received since last time (`Status.received` above `Payment.received`) goes to the
  payment's purpose: credited to the client's wallet; a purchase is paid once what arrived
  covers the fee (an over-payment's rest stays in the wallet); a part waits for the rest.
- Expired or failed with nothing received: the purchase or deposit is closed.
- A refund the provider made that propdesk did not ask for (its dashboard): booked once
  (wallet.refunds); one of ours it had left pending is asked about again.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.db import transaction

from propdesk.core.money import quantum
from propdesk.wallet import refunds
from propdesk.wallet.models import Payment, PaymentRefund
from propdesk.wallet.payments import purpose_of
from propdesk.wallet.providers.protocol import State, Status

CLOSED = {State.EXPIRED: Payment.Status.EXPIRED, State.FAILED: Payment.Status.FAILED}


def apply(payment_id: int, status: Status) -> str:
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .select_related("method", "client")
            .get(pk=payment_id)
        )
        if status.currency.upper() != payment.currency:
            return f"ignored: the provider speaks of {status.currency}, not {payment.currency}"
        outcome: list[str] = []
        changed = ["status"]
        if status.payment_id and not payment.payment_id:
            payment.payment_id = status.payment_id[:200]
            changed.append("payment_id")
        total = _down(status.received, payment.currency)
        if total > payment.received:
            more = total - payment.received
            payment.received = total
            changed.append("received")
            outcome.append(purpose_of(payment).settle(payment, more))
        booked = _dashboard_refunds(payment, status)
        if booked:
            outcome.append(booked)
            changed.append("refunded")
        payment.status = _status_of(payment, status)
        if payment.received == 0 and status.state in CLOSED:
            purpose_of(payment).closed(payment)
            outcome.append("cancelled")
        payment.save(update_fields=changed)
        # Our refunds the provider accepted but had not finished: asked again (under their own
        # idempotency keys) now that it says something changed.
        for pk in (
            payment.refunds.filter(status=PaymentRefund.Status.PENDING)
            .exclude(provider_refund_id="")
            .values_list("pk", flat=True)
        ):
            refunds.carry_out.enqueue(pk)
        return "; ".join(o for o in outcome if o) or "nothing new"


def _status_of(payment: Payment, status: Status) -> str:
    if payment.received > 0 and payment.refunded >= payment.received:
        return Payment.Status.REFUNDED
    if payment.received >= payment.amount:
        return Payment.Status.PAID
    if payment.received > 0:
        return Payment.Status.PARTIALLY_PAID
    if status.state in CLOSED:
        return CLOSED[status.state]
    return payment.status


def _dashboard_refunds(payment: Payment, status: Status) -> str:
    """What the provider says it gave back beyond our own refunds (done or on their way)."""
    if status.refunded <= 0:
        return ""
    ours = sum(
        (r.amount for r in payment.refunds.filter(status=PaymentRefund.Status.PENDING)),
        Decimal(0),
    )
    beyond = _down(status.refunded, payment.currency) - payment.refunded - ours
    if beyond <= 0:
        return ""
    return refunds.book_dashboard_refund(payment, beyond)


def _down(amount: Decimal, currency: str) -> Decimal:
    """A provider's amount in the currency's minor unit (a crypto processor's extra decimals
    are dropped, never rounded up): never below zero."""
    return max(amount, Decimal(0)).quantize(quantum(currency), rounding=ROUND_DOWN)
