"""Refunds of online payments (wallet.payments): staff give all or part of a paid payment back
to the payer; a refund made at the provider's own dashboard is booked the same way, once.

Asked by staff (`request_refund`, permission `payments.refund`, a reason, audited): in one
transaction the refund is written and the wallet's part of it held (moved out of the wallet to
*Refunds on their way*), then carried out after the commit by a job under an idempotency key
(`carry_out`). When the provider accepts it the ledger moves: a refunded **fee reverses its
entry** (the purchase's own refund path, with the IBs' commission), then the money leaves the
wallet to the provider. Refused: the refund fails with the provider's answer and the hold goes
back (nothing moved). More than what is left of the payment is refused before anything is asked.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, ValidationFailed
from propdesk.core.money import parse_amount, quantum
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text
from propdesk.jobs.retries import job
from propdesk.wallet import ledger, payments
from propdesk.wallet.models import (
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentDispute,
    PaymentRefund,
)
from propdesk.wallet.permissions import PAYMENTS_REFUND
from propdesk.wallet.providers import registry
from propdesk.wallet.providers.protocol import ProviderRefused, ProviderUnavailable

REFUND_ATTEMPTS = 12


def on_the_way(currency: str) -> LedgerAccount:
    return ledger.firm_account("refunds_pending", currency, "Refunds on their way to payers")


def shortfall(currency: str) -> LedgerAccount:
    """What a refund made at the provider took beyond what the client's wallet still held."""
    return ledger.firm_account("refund_losses", currency, "Refunds beyond the wallet (loss)")


def left_to_refund(payment: Payment) -> Decimal:
    """What may still be given back: what arrived, less what was refunded or is on its way,
    less what a dispute holds or the payer's bank already took back (never refunded twice)."""
    pending = sum(
        (r.amount for r in payment.refunds.filter(status=PaymentRefund.Status.PENDING)),
        Decimal(0),
    )
    disputed = sum(
        (
            d.amount
            for d in payment.disputes.filter(
                status__in=[PaymentDispute.Status.OPEN, PaymentDispute.Status.LOST]
            )
        ),
        Decimal(0),
    )
    return max(payment.received - payment.refunded - pending - disputed, Decimal(0))


def fee_part(payment: Payment, amount: Decimal) -> Decimal:
    """The part of `amount` that a reversed fee puts back into the wallet (0 for a deposit)."""
    return payments.purpose_of(payment).fee_part(payment, amount)


def request_refund(
    payment_id: int, *, amount: Any, reason: Any, actor: User, key: Any = None
) -> PaymentRefund:
    """Staff refund `amount` of a payment; the provider is asked after the commit. `key`: the
    confirm form's own (a UUID); the same key again returns the refund it asked for."""
    require_permission(actor, PAYMENTS_REFUND)
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, label="Reason", max_length=500)
    asked = _request_key(errors, key)
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update().select_related("client__user").get(pk=payment_id)
        )
        if asked:
            earlier = payment.refunds.filter(request_key=asked).first()
            if earlier is not None:
                return earlier  # the same confirm posted again: asked once
        value = parse_amount(errors, "amount", amount, payment.currency)
        errors.raise_if_any("Please correct the refund.")
        assert value is not None
        cls = registry.adapter(payment.provider)
        if cls is None or not cls.refunds:
            raise Conflict("This provider's payments are refunded at the provider only.")
        left = left_to_refund(payment)
        if value > left:
            raise ValidationFailed(
                "The refund is more than what is left of the payment.",
                fields={"amount": f"At most {left} {payment.currency} is left to refund."},
            )
        held = max(value - fee_part(payment, value), Decimal(0))
        refund = PaymentRefund.objects.create(
            payment=payment,
            amount=value,
            currency=payment.currency,
            reason=text,
            requested_by=actor,
            request_key=asked,
        )
        if held > 0:
            refund.hold_entry = ledger.post(  # InsufficientFunds: refused, nothing written
                JournalEntry.Type.PAYMENT_REFUND,
                [
                    ledger.Line(ledger.wallet(payment.client, payment.currency), -held),
                    ledger.Line(on_the_way(payment.currency), held),
                ],
                memo=f"Held for refund #{refund.pk} of payment {payment.token}",
                client=payment.client,
                actor=actor,
            )
            refund.save(update_fields=["hold_entry"])
        audit.record(
            actor=actor,
            action=AuditAction.PAYMENT_REFUND,
            object_type="wallet.Payment",
            object_id=payment.pk,
            summary=f"Refund of {value} {payment.currency} asked: {text}",
            after={"refund": refund.pk, "amount": str(value), "reason": text},
        )
        carry_out.enqueue(refund.pk)
    return refund


def _request_key(errors: FieldErrors, key: Any) -> str:
    if key is None or key == "":
        return ""
    try:
        return str(uuid.UUID(str(key)))
    except ValueError:
        errors.add("key", "The form's key is not valid; open the refund form again.")
        return ""


@job(max_attempts=REFUND_ATTEMPTS)
def carry_out(refund_id: int) -> str:
    """Ask the provider (outside any transaction, once per idempotency key), then book its
    answer. Unreachable: tried again later; refused: failed, the hold released."""
    refund = PaymentRefund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != PaymentRefund.Status.PENDING:
        return refund.status
    payment = refund.payment
    provider = registry.provider_for(payment.provider)
    try:
        done = provider.refund(
            payment.payment_id,
            refund.amount,
            refund.currency,
            idempotency_key=f"propdesk-refund-{refund.pk}",
        )
    except ProviderUnavailable as down:
        payments.keep(
            payment,
            payment.provider,
            "out",
            "refund",
            down.body or str(down),
            status_code=down.status,
        )
        raise
    except ProviderRefused as refused:
        payments.keep(
            payment,
            payment.provider,
            "out",
            "refund",
            refused.body or str(refused),
            status_code=refused.status,
        )
        fail(refund.pk, f"{refused} {refused.body}".strip())
        return "failed"
    payments.keep(payment, payment.provider, "out", "refund", done.raw, status_code=200)
    if done.state == "failed":
        fail(refund.pk, f"The provider failed the refund: {done.raw}")
        return "failed"
    return succeeded(refund.pk, done.refund_id)


def fail(refund_id: int, error: str) -> None:
    with transaction.atomic():
        refund = (
            PaymentRefund.objects.select_for_update()
            .select_related("payment__client")
            .get(pk=refund_id)
        )
        if refund.status != PaymentRefund.Status.PENDING:
            return
        if refund.hold_entry is not None:
            ledger.reverse(refund.hold_entry, actor=None, memo=f"Refund #{refund.pk} refused")
        refund.status = PaymentRefund.Status.FAILED
        refund.error = error[:5000]
        refund.done_at = timezone.now()
        refund.save(update_fields=["status", "error", "done_at"])


def succeeded(refund_id: int, provider_refund_id: str) -> str:
    with transaction.atomic():
        refund = PaymentRefund.objects.select_for_update().get(pk=refund_id)
        if refund.status != PaymentRefund.Status.PENDING:
            return refund.status
        payment = (
            Payment.objects.select_for_update()
            .select_related("method", "client")
            .get(pk=refund.payment_id)
        )
        held = (
            refund.hold_entry.postings.filter(amount__gt=0).first() if refund.hold_entry else None
        )
        from_hold = held.amount if held is not None else Decimal(0)
        refund.entry = _book(payment, refund.amount, from_hold, refund.requested_by)
        refund.status = PaymentRefund.Status.SUCCEEDED
        refund.provider_refund_id = provider_refund_id[:200]
        refund.done_at = timezone.now()
        refund.save(update_fields=["entry", "status", "provider_refund_id", "done_at"])
        payment.refunded += refund.amount
        if payment.refunded >= payment.received:
            payment.status = Payment.Status.REFUNDED
        payment.save(update_fields=["refunded", "status"])
    return "refunded"


def book_dashboard_refund(payment: Payment, amount: Decimal) -> str:
    """A refund the provider made that propdesk did not ask for (its dashboard): booked once,
    inside payment_apply's transaction (the payment locked; by amounts)."""
    refund = PaymentRefund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        status=PaymentRefund.Status.SUCCEEDED,
        reason="Refunded at the provider",
        done_at=timezone.now(),
    )
    refund.entry = _book(payment, amount, Decimal(0), None)
    refund.save(update_fields=["entry"])
    payment.refunded += amount
    return f"refund of {amount} {payment.currency} made at the provider booked"


def _book(payment: Payment, amount: Decimal, from_hold: Decimal, actor: User | None) -> Any:
    """The fee reversed where the refund dips into it, then the money out to the provider: from
    the hold, then the wallet (as far as it holds), any rest a loss of the firm's."""
    currency = payment.currency
    payments.purpose_of(payment).refunded(payment, amount, actor)
    wallet = ledger.wallet(payment.client, currency)
    wallet.refresh_from_db()
    from_wallet = min(amount - from_hold, max(wallet.balance, Decimal(0)))
    from_wallet = from_wallet.quantize(quantum(currency), rounding=ROUND_DOWN)
    lost = amount - from_hold - from_wallet
    lines = [ledger.Line(ledger.cash_account(payment.method, currency), amount)]
    if from_hold:
        lines.append(ledger.Line(on_the_way(currency), -from_hold))
    if from_wallet:
        lines.append(ledger.Line(wallet, -from_wallet))
    if lost:
        lines.append(ledger.Line(shortfall(currency), -lost))
    return ledger.post(
        JournalEntry.Type.PAYMENT_REFUND,
        lines,
        memo=f"Refund of {amount} {currency} of payment {payment.token} to the payer",
        client=payment.client,
        actor=actor,
    )
