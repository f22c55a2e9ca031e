"""Disputes (chargebacks) of online payments: the provider's webhook says one was opened or
decided; propdesk asks the provider (`dispute`, outside any transaction) and applies its answer
once.

Opened: a `PaymentDispute`, which **freezes what it can** (the disputed amount, or what the
client's wallet still holds, moved to *Held for disputes* so it can be neither withdrawn nor
spent) and **tells staff** (a manual-only `payment_dispute` request, with the provider's details
beside it; it shows on the payment's and the client's pages). Decided won: the hold goes back to
the wallet. Lost: the held money goes to the provider (gone), and what could not be held is the
firm's loss. Each once.

A wallet deposit's payment holds only what its deposits credited to the wallet: money whose
deposit is still waiting for approval, or was rejected, never reached it (the client's other
money is never frozen for it). Lost, that money was never in the books: nothing is booked for
it, and a deposit still waiting for approval is withdrawn (the bank took its money back).
"""

from __future__ import annotations

import contextlib
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.money import quantum
from propdesk.core.templatetags.money import money
from propdesk.jobs.retries import PermanentFailure, job
from propdesk.wallet import ledger, payment_deposits, payments, refunds
from propdesk.wallet.models import JournalEntry, LedgerAccount, Payment, PaymentDispute
from propdesk.wallet.providers import registry
from propdesk.wallet.providers.protocol import Dispute, ProviderRefused

PAYMENT_DISPUTE = "payment_dispute"


def held_account(currency: str) -> LedgerAccount:
    return ledger.firm_account("disputes_held", currency, "Held for disputes")


def losses(currency: str) -> LedgerAccount:
    return ledger.firm_account("dispute_losses", currency, "Disputes lost beyond what was held")


@job(max_attempts=payments.SETTLE_ATTEMPTS)
def track(payment_id: int, dispute_id: str) -> str:
    """Ask the provider about the dispute and apply its answer (safe to run again)."""
    payment = Payment.objects.get(pk=payment_id)
    provider = registry.provider_for(payment.provider)
    try:
        found = provider.dispute(dispute_id)
    except ProviderRefused as refused:
        payments.keep(
            payment,
            payment.provider,
            "out",
            "dispute",
            refused.body or str(refused),
            status_code=refused.status,
        )
        raise PermanentFailure(f"The provider refused to say: {refused}") from refused
    payments.keep(payment, payment.provider, "out", "dispute", found.raw, status_code=200)
    if payment.received < found.amount and payment.provider_ref:
        # Disputed before its money was applied (a card disputed at once: the dispute's webhook
        # overtook the settle job): the payment is asked about and applied first, so the
        # disputed money is in the wallet to be held, not credited after the hold was decided.
        from propdesk.wallet import payment_apply

        # The provider refusing to say (kept with the payment): what is there is held.
        with contextlib.suppress(PermanentFailure):
            asked = payments.ask(payment, found.payment_id)
            if asked is not None:
                payment_apply.apply(payment.pk, asked)
    return apply(payment.pk, found)


def apply(payment_id: int, found: Dispute) -> str:
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .select_related("client", "method")
            .get(pk=payment_id)
        )
        dispute = PaymentDispute.objects.filter(
            payment=payment, provider_dispute_id=found.dispute_id[:200]
        ).first()
        outcome = ""
        if dispute is None:
            dispute = _open(payment, found)
            outcome = f"dispute opened: {money(dispute.held, payment.currency)} held"
        dispute.provider_status = found.state[:50]
        dispute.save(update_fields=["provider_status"])
        if not found.open and dispute.status == PaymentDispute.Status.OPEN:
            outcome = _close(payment, dispute, lost=found.lost)
        return outcome or "nothing new"


def _open(payment: Payment, found: Dispute) -> PaymentDispute:
    unit = quantum(payment.currency)  # the currency's minor unit (JPY: whole yen)
    amount = min(max(found.amount, Decimal(0)), payment.received).quantize(unit, ROUND_DOWN)
    in_wallet = amount - min(amount, refunds.outside_wallet(payment))  # what it credited
    wallet = ledger.wallet(payment.client, payment.currency)
    wallet.refresh_from_db()
    held = min(in_wallet, max(wallet.balance, Decimal(0))).quantize(unit, ROUND_DOWN)
    dispute = PaymentDispute.objects.create(
        payment=payment,
        provider_dispute_id=found.dispute_id[:200],
        provider_status=found.state[:50],
        amount=amount,
        currency=payment.currency,
        reason=found.reason[:200],
        held=held,
    )
    if held > 0:
        dispute.hold_entry = ledger.post(
            JournalEntry.Type.DISPUTE_HOLD,
            [ledger.Line(wallet, -held), ledger.Line(held_account(payment.currency), held)],
            memo=f"Held for dispute {found.dispute_id} of payment {payment.token}",
            client=payment.client,
        )
        dispute.save(update_fields=["hold_entry"])
    approvals.submit(
        PAYMENT_DISPUTE,
        client=payment.client,
        payload={"dispute_id": dispute.pk},
        amount=amount,
        currency=payment.currency,
        manual_only=True,
    )
    return dispute


def _close(payment: Payment, dispute: PaymentDispute, *, lost: bool) -> str:
    currency = payment.currency
    if lost:
        if payment.purpose == Payment.Purpose.DEPOSIT:
            payment_deposits.withdraw_undecided(
                payment, "The payer's bank took the payment back (a dispute lost)."
            )
        # What never reached the wallet (a deposit rejected or withdrawn) was never booked.
        outside = min(dispute.amount, refunds.outside_wallet(payment))
        booked = max(dispute.amount - outside, dispute.held)
        short = booked - dispute.held
        lines = [ledger.Line(ledger.cash_account(payment.method, currency), booked)]
        if dispute.held:
            lines.append(ledger.Line(held_account(currency), -dispute.held))
        if short:
            lines.append(ledger.Line(losses(currency), -short))
        if booked:
            dispute.close_entry = ledger.post(
                JournalEntry.Type.DISPUTE_LOST,
                lines,
                memo=f"Dispute {dispute.provider_dispute_id} lost: the payer's bank took "
                f"{dispute.amount} {currency}",
                client=payment.client,
            )
        dispute.status = PaymentDispute.Status.LOST
    else:
        if dispute.held:
            dispute.close_entry = ledger.post(
                JournalEntry.Type.DISPUTE_RELEASE,
                [
                    ledger.Line(held_account(currency), -dispute.held),
                    ledger.Line(ledger.wallet(payment.client, currency), dispute.held),
                ],
                memo=f"Dispute {dispute.provider_dispute_id} won: the hold released",
                client=payment.client,
            )
        dispute.status = PaymentDispute.Status.WON
    dispute.closed_at = timezone.now()
    dispute.save(update_fields=["status", "close_entry", "closed_at"])
    return f"dispute {dispute.status}"


def details(request: ApprovalRequest) -> list[tuple[str, str]]:
    dispute = PaymentDispute.objects.select_related("payment__method").get(
        pk=request.payload["dispute_id"]
    )
    payment = dispute.payment
    return [
        ("Payment", f"{payment.token} by {payment.method.name} ({payment.provider})"),
        ("Provider payment", payment.payment_id or "—"),
        ("Dispute", f"{dispute.provider_dispute_id} ({dispute.provider_status or dispute.status})"),
        ("Reason", dispute.reason or "—"),
        ("Disputed", f"{money(dispute.amount, dispute.currency)} {dispute.currency}"),
        ("Held from the wallet", f"{money(dispute.held, dispute.currency)} {dispute.currency}"),
        (
            "What to do",
            "Answer the dispute at the provider with the payment's evidence (its messages are "
            "on the payment's page). Approving or rejecting this request records that staff "
            "have seen it; the hold is released or taken when the provider decides.",
        ),
    ]
