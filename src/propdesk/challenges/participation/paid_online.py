"""A challenge bought directly through a payment provider (wallet.payments), as the payment's
answer is applied: the money arrives in the client's wallet, then the fee is taken from it once
what arrived covers the fee (the rest of an over-payment stays in the wallet); a part waits
there for the rest (or for the client to use the wallet). Nothing arrived and the checkout
expired: the purchase is cancelled. A refund that dips into the fee reverses the fee's entry
(with the IBs' commission), as a rejection does. Registered on start-up (challenges.apps)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from propdesk.accounts.models import Client, User
from propdesk.challenges.growth import commission
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import interventions, lifecycle
from propdesk.challenges.participation.services import _take_fee, payment_cancelled
from propdesk.core.errors import Conflict, NotFound
from propdesk.core.templatetags.money import money
from propdesk.wallet import deposits, ledger
from propdesk.wallet.models import JournalEntry, Payment
from propdesk.wallet.payments import Purpose, register_purpose


def _locked(payment: Payment) -> Participation:
    return (
        Participation.objects.select_for_update(of=("self",))
        .select_related("version", "client", "method")
        .get(checkout_token=payment.token)
    )


def describe(payment: Payment) -> str:
    found = Participation.objects.select_related("version").get(checkout_token=payment.token)
    return gettext("the fee of %(challenge)s") % {"challenge": found.version.spec.name}


def closed_as(payment: Payment) -> str | None:
    found = Participation.objects.get(checkout_token=payment.token)
    if found.status != Participation.Status.PENDING_PAYMENT:
        return str(found.get_status_display()).lower()
    return "expired" if deposits.has_lapsed(found.created_at) else None


def settle(payment: Payment, received: Decimal) -> str:
    """`received` more arrived (payment.received is the new total): into the wallet, then the
    fee when covered."""
    locked = _locked(payment)
    wallet = ledger.wallet(locked.client, locked.currency)
    waits = locked.status == Participation.Status.PENDING_PAYMENT
    ledger.post(
        JournalEntry.Type.DEPOSIT,
        [
            ledger.Line(wallet, received),
            ledger.Line(ledger.cash_account(payment.method, payment.currency), -received),
        ],
        memo=f"Payment {payment.payment_id or payment.token} by {payment.method.name} for "
        f"participation {locked.reference}" + ("" if waits else " (no longer waiting: kept)"),
        client=locked.client,
        idempotency_key=f"payment:{payment.pk}:received:{payment.received}",
    )
    if not waits:
        return "credited to the wallet"
    if payment.received < locked.fee:
        left = locked.fee - payment.received
        return (
            f"partially paid: {money(payment.received, payment.currency)} of "
            f"{money(locked.fee, payment.currency)} {payment.currency} arrived (in the wallet); "
            f"{money(left, payment.currency)} left to pay"
        )
    lifecycle.settle(locked, Participation.Status.PENDING_APPROVAL)
    locked.provider_payment_id = payment.payment_id[:100]
    locked.save(update_fields=["provider_payment_id"])
    _take_fee(locked, wallet)
    return "paid"


def pay_from_wallet(client: Client, participation_id: Any) -> Participation:
    """The client's purchase still waiting for its payment (a part may have arrived and be in
    the wallet) paid from the wallet instead: the fee is taken from it at once, as a wallet
    purchase's is; money the checkout still brings later stays in the wallet. Refused, nothing
    changed, when the wallet holds less than the fee (InsufficientFunds) or the purchase no
    longer waits (paid, cancelled, lapsed; a second click)."""
    with transaction.atomic():
        # Purchases by one client queue here (as `start`): two can never spend one balance.
        # NO KEY: a payment being applied meanwhile writes entries naming this client (a key
        # share lock), which a plain FOR UPDATE would wait on while holding the purchase.
        Client.objects.select_for_update(no_key=True).filter(pk=client.pk).first()
        locked = (
            Participation.objects.select_for_update(of=("self",))
            .select_related("version", "client", "method")
            .filter(client=client, pk=participation_id)
            .first()
        )
        if locked is None:
            raise NotFound(gettext("No such challenge of yours."))
        if locked.status != Participation.Status.PENDING_PAYMENT or deposits.has_lapsed(
            locked.created_at
        ):
            raise Conflict(gettext("This purchase no longer waits for a payment."))
        lifecycle.settle(locked, Participation.Status.PENDING_APPROVAL)
        try:
            _take_fee(locked, ledger.wallet(client, locked.currency))
        except ledger.InsufficientFunds:  # the wallet moved since the page was shown
            raise ledger.InsufficientFunds(
                gettext("Your wallet holds less than the fee now; nothing was taken.")
            ) from None
    locked.refresh_from_db()
    return locked


def closed(payment: Payment) -> None:
    payment_cancelled(Participation.objects.get(checkout_token=payment.token).pk)


def _fee_reversible(found: Participation, payment: Payment, amount: Decimal) -> bool:
    rest = max(payment.received - payment.refunded - found.fee, Decimal(0))  # beyond the fee
    return found.fee_entry_id is not None and found.refund_entry_id is None and amount > rest


def fee_part(payment: Payment, amount: Decimal) -> Decimal:
    """Where a refund dips into the fee (more than the payment's rest in the wallet), the fee
    comes back into the wallet first (the refund then leaves from there)."""
    found = Participation.objects.get(checkout_token=payment.token)
    return found.fee if _fee_reversible(found, payment, amount) else Decimal(0)


def refunded(payment: Payment, amount: Decimal, actor: User | None) -> None:
    """The provider accepted a refund of `amount`: where it dips into the fee, the fee's entry
    is reversed with the IBs' commission (as a rejection does) and the purchase cancelled
    through staff's own cancel path: a running stage's account is disabled on the platform
    (after the commit), its pending requests withdrawn, so no one trades a refunded challenge.
    A participation already ended (failed, passed...) only gets its fee back."""
    found = Participation.objects.get(checkout_token=payment.token)
    if found.fee_entry_id is None or not _fee_reversible(found, payment, amount):
        return
    if Participation.Status.CANCELLED in Participation.TRANSITIONS.get(found.status, ()):
        interventions.end(
            found.pk, actor=actor, why=f"its payment {payment.token} was refunded", refund=True
        )
        return
    locked = _locked(payment)  # ended (failed, passed...): only the fee comes back
    if locked.fee_entry is None or locked.refund_entry_id is not None:
        return
    commission.hold_for_refund(locked)  # client rows before the shared accounts
    locked.refund_entry = ledger.reverse(
        locked.fee_entry,
        actor=actor,
        memo=f"Refund of the fee for participation {locked.reference} (payment refunded)",
    )
    commission.reverse_for(locked, actor)
    locked.save(update_fields=["refund_entry"])


register_purpose(
    Payment.Purpose.PURCHASE,
    Purpose(
        describe=describe,
        return_to="portal:my_challenges",
        settle=settle,
        closed=closed,
        fee_part=fee_part,
        refunded=refunded,
        closed_as=closed_as,
    ),
)
