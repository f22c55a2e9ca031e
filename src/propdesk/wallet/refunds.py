"""Refunds of online payments (wallet.payments): staff give all or part of a paid payment back
to the payer; a refund made at the provider's own dashboard is booked the same way, once.

Asked by staff (`request_refund`, permission `payments.refund`, a reason, audited): in one
transaction the refund is written and the wallet's part of it held (moved out of the wallet to
*Refunds on their way*), then carried out after the commit by a job under an idempotency key
(`carry_out`). When the provider accepts it the ledger moves: a refunded **fee reverses its
entry** (the purchase's own refund path, with the IBs' commission), then the money leaves the
wallet to the provider. Refused: the refund fails with the provider's answer and the hold goes
back (nothing moved). More than what is left of the payment is refused before anything is asked.

A wallet deposit's money is in the books only once its deposit was approved: a refund of a
payment whose deposit still waits for approval is refused (decide the deposit first), and money
whose deposit was rejected (`outside_wallet`) is given back first and books nothing (it never
entered the ledger). A refund the provider says is still `pending` stays pending with its hold
until the provider says succeeded or failed (`sweep` asks again, under the same key).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from propdesk.accounts.models import User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, ValidationFailed
from propdesk.core.money import parse_amount, quantum
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text
from propdesk.jobs.retries import job
from propdesk.wallet import ledger, payment_deposits, payments
from propdesk.wallet.models import (
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentDispute,
    PaymentMessage,
    PaymentRefund,
)
from propdesk.wallet.permissions import PAYMENTS_REFUND
from propdesk.wallet.providers import registry
from propdesk.wallet.providers.protocol import ProviderRefused, ProviderUnavailable

REFUND_ATTEMPTS = 12
SWEEP_AFTER = timedelta(minutes=15)  # pending and not asked about this long: asked again
# Stripe keeps an idempotency key "at least 24 hours": past that, asking again under the same
# key could refund twice, so an older refund is no longer asked; staff settle it at the
# provider and cancel it here (`cancel`).
SWEEP_FOR = timedelta(hours=23)


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


def _booked(entry: JournalEntry | None) -> Decimal:
    """What an entry took out to the provider or the payer (its one positive side)."""
    if entry is None:
        return Decimal(0)
    return sum((p.amount for p in entry.postings.filter(amount__gt=0)), Decimal(0))


def outside_wallet(payment: Payment) -> Decimal:
    """What of a deposit payment's money never reached the wallet (its deposit rejected, or
    approved for less) and was not given back yet: a refund gives it back first, booking
    nothing. 0 for a purchase (all of its money is credited to the wallet)."""
    if payment.purpose != Payment.Purpose.DEPOSIT:
        return Decimal(0)
    never = payment.received - payment_deposits.credited(payment)
    for refund in payment.refunds.exclude(status=PaymentRefund.Status.FAILED):
        booked = _booked(
            refund.hold_entry if refund.status == PaymentRefund.Status.PENDING else refund.entry
        )
        never -= refund.amount - booked
    for dispute in payment.disputes.filter(status=PaymentDispute.Status.LOST):
        never -= dispute.amount - _booked(dispute.close_entry)
    return max(never, Decimal(0))


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
        if payment.purpose == Payment.Purpose.DEPOSIT:
            waiting = payment_deposits.undecided(payment)
            if waiting:
                names = ", ".join(d.reference for d in waiting)
                raise Conflict(
                    f"This payment's deposit {names} is still waiting for approval: nothing of "
                    "it is in the wallet yet. Approve or reject the deposit first, then refund."
                )
        left = left_to_refund(payment)
        if value > left:
            raise ValidationFailed(
                "The refund is more than what is left of the payment.",
                fields={"amount": f"At most {left} {payment.currency} is left to refund."},
            )
        outside = min(value, outside_wallet(payment))  # never in the wallet: books nothing
        held = max(value - outside - fee_part(payment, value), Decimal(0))
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
    if timezone.now() - refund.created_at > SWEEP_FOR:
        # Its idempotency key may be forgotten by now: asking again could refund twice,
        # whoever queued this (a webhook's news, a late retry). Staff settle it (`cancel`).
        return "pending: too old to ask again under its key (staff settle it)"
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
    if done.state != "succeeded":
        # Accepted but not finished (a card refund may stay pending for days): nothing is
        # booked; the hold stays, and the sweep asks again under the same key until the
        # provider says succeeded or failed.
        PaymentRefund.objects.filter(pk=refund.pk, provider_refund_id="").update(
            provider_refund_id=done.refund_id[:200]
        )
        return "pending"
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
        # A deposit's refund held all of what came from the wallet; the rest never reached it.
        deposit = payment.purpose == Payment.Purpose.DEPOSIT
        outside = refund.amount - from_hold if deposit else Decimal(0)
        refund.entry = _book(payment, refund.amount, from_hold, refund.requested_by, outside)
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
    inside payment_apply's transaction (the payment locked; by amounts). A deposit's money
    still waiting for approval went back: the deposit is withdrawn, never credited; money that
    never reached the wallet is given back first and books nothing."""
    if payment.purpose == Payment.Purpose.DEPOSIT:
        payment_deposits.withdraw_undecided(
            payment, "The payment was refunded at the provider: nothing to credit."
        )
    outside = min(amount, outside_wallet(payment))
    refund = PaymentRefund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        status=PaymentRefund.Status.SUCCEEDED,
        reason="Refunded at the provider",
        done_at=timezone.now(),
    )
    refund.entry = _book(payment, amount, Decimal(0), None, outside)
    refund.save(update_fields=["entry"])
    payment.refunded += amount
    return f"refund of {amount} {payment.currency} made at the provider booked"


def _book(
    payment: Payment,
    amount: Decimal,
    from_hold: Decimal,
    actor: User | None,
    outside: Decimal = Decimal(0),
) -> JournalEntry | None:
    """The fee reversed where the refund dips into it, then the money out to the provider: from
    the hold, then the wallet (as far as it holds), any rest a loss of the firm's. `outside`:
    the part that never entered the books (a rejected deposit's money): nothing is posted for
    it (None when that is all of it)."""
    currency = payment.currency
    payments.purpose_of(payment).refunded(payment, amount, actor)
    booked = amount - outside
    if booked <= 0:
        return None
    wallet = ledger.wallet(payment.client, currency)
    wallet.refresh_from_db()
    from_wallet = min(booked - from_hold, max(wallet.balance, Decimal(0)))
    from_wallet = from_wallet.quantize(quantum(currency), rounding=ROUND_DOWN)
    lost = booked - from_hold - from_wallet
    lines = [ledger.Line(ledger.cash_account(payment.method, currency), booked)]
    if from_hold:
        lines.append(ledger.Line(on_the_way(currency), -from_hold))
    if from_wallet:
        lines.append(ledger.Line(wallet, -from_wallet))
    if lost:
        lines.append(ledger.Line(shortfall(currency), -lost))
    return ledger.post(
        JournalEntry.Type.PAYMENT_REFUND,
        lines,
        memo=f"Refund of {booked} {currency} of payment {payment.token} to the payer",
        client=payment.client,
        actor=actor,
    )


def sweep(limit: int = 100) -> int:
    """Staff refunds still pending (the provider unreachable past the job's attempts, or its
    refund not finished yet) are asked again under the same idempotency key: never while a
    job for it is queued or running, nor more often than every SWEEP_AFTER."""
    now = timezone.now()
    stale = PaymentRefund.objects.filter(
        status=PaymentRefund.Status.PENDING,
        requested_by__isnull=False,
        created_at__lte=now - SWEEP_AFTER,
        created_at__gte=now - SWEEP_FOR,
    )
    busy = _busy()
    queued = 0
    for refund in stale.order_by("created_at")[:limit]:
        asked_lately = PaymentMessage.objects.filter(
            payment_id=refund.payment_id,
            direction=PaymentMessage.Direction.OUT,
            what="refund",
            created_at__gte=now - SWEEP_AFTER,
        ).exists()
        if refund.pk in busy or asked_lately:
            continue
        carry_out.enqueue(refund.pk)
        queued += 1
    return queued


def _busy(*, running_only: bool = False) -> set[Any]:
    """The refunds a job is queued or running for (or running only)."""
    statuses = [TaskResultStatus.RUNNING]
    if not running_only:
        statuses.append(TaskResultStatus.READY)
    return {
        row.args_kwargs.get("args", [None])[0]
        for row in DBTaskResult.objects.filter(
            task_path=carry_out.module_path, status__in=statuses
        ).only("args_kwargs")
    }


def cancel(refund_id: int, *, reason: Any, actor: User) -> PaymentRefund:
    """Staff give up a refund still pending (the provider never answered, or they settled it
    at the provider themselves): it fails with their reason and its hold goes back to the
    wallet (audited). A refund the provider did accept is then booked from its webhook as one
    made at the provider, so the money is never given back twice."""
    require_permission(actor, PAYMENTS_REFUND)
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, label="Reason", max_length=500)
    errors.raise_if_any("Please give a reason.")
    if refund_id in _busy(running_only=True):  # a queued one finds it cancelled and asks nothing
        raise Conflict(
            "The provider is being asked about this refund right now; look again in a minute."
        )
    with transaction.atomic():
        refund = PaymentRefund.objects.select_for_update().get(pk=refund_id)
        if refund.status != PaymentRefund.Status.PENDING:
            raise Conflict(f"This refund is {refund.get_status_display().lower()} already.")
        fail(refund.pk, f"Cancelled by staff: {text}")
        audit.record(
            actor=actor,
            action=AuditAction.PAYMENT_REFUND,
            object_type="wallet.Payment",
            object_id=refund.payment_id,
            summary=f"Refund #{refund.pk} of {refund.amount} {refund.currency} cancelled: {text}",
            after={"refund": refund.pk, "status": "failed", "reason": text},
        )
        refund.refresh_from_db()
    return refund
