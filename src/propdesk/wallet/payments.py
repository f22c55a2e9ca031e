"""Payments through a provider (wallet.providers): opened with the deposit or purchase they pay,
started at the provider after commit, learnt from its signed webhook and confirmed by asking it.

1. `open_payment` (inside the deposit's or purchase's own transaction): a `Payment` under the
   same token as its `checkout_token`.
2. `start` (the portal's pay step, **after the commit, outside any transaction**): the provider
   opens its hosted checkout under an idempotency key made from the payment; the client is sent
   there. A provider that cannot be reached leaves the payment as it was: the client tries again.
3. `receive` (the webhook): the signature is checked by the provider's adapter (a bad one: 400,
   nothing written), the raw message kept with the payment, each event id handled once, and a
   job queued (`settle_payment`) that asks the provider (`confirm`, outside any transaction) and
   applies its answer idempotently by amounts (`payment_apply.apply`).
4. `sweep` (housekeeping): payments started and not settled for a while are asked about again,
   so an outcome whose webhook was lost is never missed.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from propdesk.accounts.models import Client, User
from propdesk.core.errors import DomainError, NotFound
from propdesk.jobs.retries import PermanentFailure, job
from propdesk.wallet.models import Payment, PaymentMessage, PaymentMethod, WebhookEvent
from propdesk.wallet.providers import registry
from propdesk.wallet.providers.protocol import (
    BadWebhook,
    CheckoutRequest,
    Notice,
    NoticeKind,
    ProviderError,
    ProviderRefused,
    Status,
)

log = logging.getLogger(__name__)

BODY_LIMIT = 64 * 1024
SETTLE_ATTEMPTS = 20  # a provider down for hours still gets asked (back-off up to an hour)
SWEEP_AFTER = timedelta(minutes=15)  # started, not settled this long: asked again
SWEEP_FOR = timedelta(days=7)  # past this a checkout is long closed: no longer asked


class BadSignature(DomainError):
    status = 400
    code = "bad_signature"
    default_message = "The webhook signature does not verify."


class CheckoutUnavailable(DomainError):
    status = 503
    code = "provider_unavailable"
    default_message = "The payment provider cannot be reached right now; nothing was charged."


# --- what a payment pays for: registered by purpose ----------------------------------------------


@dataclass(frozen=True)
class Purpose:
    """What a payment pays, as its domain handles it. Each is called inside the transaction
    that applies the provider's answer, the payment locked."""

    describe: Callable[[Payment], str]  # "a wallet deposit", "the fee of 2-Step 100K"
    return_to: str  # the URL name the client goes back to
    # Money arrived (`received`: this much more than before): credit it, take what is due.
    settle: Callable[[Payment, Decimal], str]
    closed: Callable[[Payment], None]  # expired/failed/cancelled with nothing received
    # None while it awaits payment; else what it is now, in words ("expired", "cancelled").
    closed_as: Callable[[Payment], str | None]
    # A refund of `amount`: how much of it a reversed fee puts back into the wallet (read
    # only); and, once the provider accepted it, giving back what it paid for (the fee's entry
    # reversed) before the money leaves the wallet.
    fee_part: Callable[[Payment, Decimal], Decimal]
    refunded: Callable[[Payment, Decimal, User | None], None]


_purposes: dict[str, Purpose] = {}


def register_purpose(name: str, purpose: Purpose) -> None:
    """Let a domain's payments be applied (challenges register the purchase's on start-up)."""
    _purposes[name] = purpose


def purpose_of(payment: Payment) -> Purpose:
    return _purposes[payment.purpose]


def has_provider(method: PaymentMethod) -> bool:
    """A method whose payments go through a provider that is installed."""
    return bool(method.provider) and method.provider in registry.kinds()


def open_payment(
    *,
    token: uuid.UUID,
    method: PaymentMethod,
    client: Client,
    purpose: str,
    amount: Decimal,
    currency: str,
) -> Payment:
    """The payment of a deposit or a purchase, written in its own transaction (not started)."""
    return Payment.objects.create(
        token=token,
        provider=method.provider,
        method=method,
        client=client,
        purpose=purpose,
        amount=amount,
        currency=currency,
    )


def find(token: Any) -> Payment:
    try:
        key = uuid.UUID(str(token))
    except ValueError:
        raise NotFound("No such payment.") from None
    found = Payment.objects.select_related("method", "client__user").filter(token=key).first()
    if found is None:
        raise NotFound("No such payment.")
    return found


def pay_url(payment_token: uuid.UUID) -> str:
    """Where the client goes to pay (the portal's pay step, which starts the checkout)."""
    return reverse("portal:pay", args=[payment_token])


def keep(
    payment: Payment | None,
    provider: str,
    direction: str,
    what: str,
    body: Any,
    *,
    event_id: str = "",
    status_code: int | None = None,
) -> PaymentMessage:
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    if not isinstance(text, str):
        text = json.dumps(text, default=str)
    return PaymentMessage.objects.create(
        payment=payment,
        provider=provider,
        direction=direction,
        what=what[:100],
        event_id=event_id[:200],
        status_code=status_code,
        body=text[:BODY_LIMIT],
    )


def lock_unpaid(token: uuid.UUID | None) -> Payment | None:
    """The payment of a deposit or purchase about to lapse, locked first (the order applying an
    answer takes: the payment, then what it pays)."""
    if token is None:
        return None
    return Payment.objects.select_for_update().filter(token=token).first()


def lapsed(payment: Payment | None, *, status: str = Payment.Status.EXPIRED) -> None:
    """Its deposit or purchase lapsed unpaid (or staff cancelled it: `status` cancelled): a
    payment with nothing received is closed with it (the sweep still asks about an expired one
    for a while, and money that arrives after all is credited to the wallet: never dropped)."""
    if payment is not None and payment.status == Payment.Status.OPEN and payment.received == 0:
        payment.status = status
        payment.save(update_fields=["status", "updated_at"])


# --- starting the checkout (after commit) --------------------------------------------------------


def refuse_closed(payment: Payment) -> None:
    """The client's pay step for a payment whose deposit or purchase is no longer waiting
    (lapsed, cancelled, paid): refused before anything is opened at the provider."""
    closed = purpose_of(payment).closed_as(payment)
    if payment.status not in (Payment.Status.OPEN, Payment.Status.PARTIALLY_PAID) or closed:
        raise CheckoutUnavailable(
            gettext(
                "This payment is closed (it lapsed, was cancelled or is already paid); nothing "
                "was charged."
            )
        )


def start(payment: Payment) -> Payment:
    """Open the provider's hosted checkout for `payment` (once: the idempotency key is the
    payment's), outside any transaction. Raises CheckoutUnavailable (nothing changed) when the
    provider cannot be reached or refuses."""
    if payment.checkout_url:
        return payment
    if payment.provider not in registry.kinds() or not registry.account(payment.provider).enabled:
        raise CheckoutUnavailable(
            gettext(
                "This payment provider is turned off right now; nothing was charged. Try again "
                "later, or pay another way."
            )
        )
    provider = registry.provider_for(payment.provider)
    site = settings.PROPDESK_SITE_URL.rstrip("/")
    back = site + reverse(purpose_of(payment).return_to)
    request = CheckoutRequest(
        reference=str(payment.token),
        amount=payment.amount,
        currency=payment.currency,
        description=purpose_of(payment).describe(payment),
        customer_email=payment.client.user.email,
        success_url=back,
        cancel_url=back,
        webhook_url=site + reverse("payment_webhook", args=[payment.provider]),
        idempotency_key=f"propdesk-payment-{payment.token}",
    )
    try:
        checkout = provider.start_checkout(request)
    except ProviderError as failed:
        keep(
            payment,
            payment.provider,
            "out",
            "start_checkout",
            failed.body or str(failed),
            status_code=failed.status,
        )
        # What the provider said stays with the payment (and the log) for staff: it may name
        # the firm's key, and means nothing to the client.
        log.warning(
            "%s could not open the checkout of %s: %s", payment.provider, payment.pk, failed
        )
        raise CheckoutUnavailable(
            gettext(
                "The payment provider could not open the checkout. Nothing was charged; try "
                "again in a moment."
            )
        ) from failed
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        keep(locked, locked.provider, "out", "start_checkout", checkout.raw, status_code=200)
        if not locked.checkout_url:
            locked.provider_ref = checkout.provider_ref
            locked.checkout_url = checkout.url
            locked.started_at = timezone.now()
            locked.save(update_fields=["provider_ref", "checkout_url", "started_at"])
    payment.refresh_from_db()
    return payment


# --- the webhook ---------------------------------------------------------------------------------


def _payment_named(kind: str, notice: Notice) -> Payment | None:
    mine = Payment.objects.filter(provider=kind)
    if notice.provider_ref:
        found = mine.filter(provider_ref=notice.provider_ref).first()
        if found is not None:
            return found
    if notice.payment_id:
        return mine.filter(payment_id=notice.payment_id).first()
    return None


def receive(kind: str, body: bytes, headers: Mapping[str, str]) -> str:
    """A provider's webhook: verified, kept, handled once; the money moves later, in
    `settle_payment`, on the provider's answer to our own question."""
    if kind not in registry.kinds() or not registry.account(kind).enabled:
        raise NotFound("No such payment provider.")
    provider = registry.provider_for(kind)
    try:
        notice = provider.parse_webhook(body, headers)
    except BadWebhook as bad:
        log.warning("refused a %s webhook: %s", kind, bad)
        raise BadSignature(str(bad) or BadSignature.default_message) from bad
    payment = _payment_named(kind, notice)
    if payment is None and notice.kind in (NoticeKind.REFUND, NoticeKind.DISPUTE):
        # It may name a payment whose own news is still on its way (a card disputed at once):
        # refused, so that the provider sends it again later. Payment news of a checkout that
        # is not propdesk's (the same account used elsewhere) is kept and answered 200 below,
        # or the provider would resend it for days and turn the endpoint off.
        raise NotFound("No such checkout.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(provider=kind, event_id=notice.event_id[:100])
        except IntegrityError:
            return "duplicate"  # a replay: the first delivery did the work
        keep(payment, kind, "in", notice.type, body, event_id=notice.event_id)
        if payment is None:
            return "ignored"
        if notice.payment_id and not payment.payment_id:
            # The verified event's id for the money, kept at once: a provider asked by it
            # (NOWPayments) settles, and a dispute naming only it (Stripe's payment intent,
            # a card disputed at once) finds its payment before the settle job has run.
            Payment.objects.filter(pk=payment.pk, payment_id="").update(
                payment_id=notice.payment_id[:200]
            )
        if notice.kind == NoticeKind.DISPUTE:
            from propdesk.wallet import disputes

            work = disputes.track
            args: tuple[Any, ...] = (payment.pk, notice.object_id)
        elif notice.kind in (NoticeKind.PAYMENT, NoticeKind.REFUND):
            # The provider's id for the money, as the (verified) event names it: the handle
            # some providers are asked by (NOWPayments); their answer decides, not the event.
            work, args = settle_payment, (payment.pk, notice.payment_id[:200])
        else:
            return "kept"
        work.enqueue(*args)
    if getattr(provider, "local", False):
        # The built-in sandbox keeps its books in our own database: asking it is no remote
        # call, so it is asked at once, after the commit (the queued job finds nothing new).
        return str(work.call(*args))
    return "queued"


# --- asking the provider, then applying its answer -----------------------------------------------


def ask(payment: Payment, payment_ref: str = "") -> Status | None:
    """The provider's answer about `payment` (kept with it), outside any transaction;
    `payment_ref`: the provider's id for the money as its webhook named it, until propdesk
    has its own from an answer. None: the provider cannot be asked yet."""
    provider = registry.provider_for(payment.provider)
    notice = Notice(
        event_id="",
        kind=NoticeKind.PAYMENT,
        type="confirm",
        provider_ref=payment.provider_ref,
        payment_id=payment.payment_id or payment_ref,
    )
    try:
        if notice.payment_id:
            status: Status | None = provider.confirm(notice)
        else:
            # No payment told of yet: asked by the checkout, where the provider can be (a
            # NOWPayments invoice cannot: nothing to ask until its first IPN names a payment).
            status = provider.status(payment.provider_ref)
        if status is None:
            return None
    except ProviderRefused as refused:
        keep(
            payment,
            payment.provider,
            "out",
            "confirm",
            refused.body or str(refused),
            status_code=refused.status,
        )
        raise PermanentFailure(f"The provider refused to say: {refused}") from refused
    keep(payment, payment.provider, "out", "confirm", status.raw, status_code=200)
    return status


@job(max_attempts=SETTLE_ATTEMPTS)
def settle_payment(payment_id: int, payment_ref: str = "") -> str:
    """Ask the provider about the payment and apply its answer (safe to run again: by
    amounts, what was applied is not applied twice)."""
    from propdesk.wallet import payment_apply

    payment = Payment.objects.get(pk=payment_id)
    if not payment.provider_ref:
        return "not started"
    status = ask(payment, payment_ref)
    if status is None:
        return "nothing to ask yet"
    return payment_apply.apply(payment.pk, status)


def sweep(limit: int = 200) -> int:
    """Payments started and not settled for a while are asked about again (a webhook lost);
    an expired one too, for as long (money made in time may be told late: never dropped)."""
    before = timezone.now() - SWEEP_AFTER
    stale = Payment.objects.filter(
        status__in=[
            Payment.Status.OPEN,
            Payment.Status.PARTIALLY_PAID,
            Payment.Status.EXPIRED,
            Payment.Status.CANCELLED,  # by staff, its checkout maybe still open: late money
        ],
        started_at__lte=before,
        started_at__gte=timezone.now() - SWEEP_FOR,
        updated_at__lte=before,
    ).exclude(provider_ref="")
    queued = 0
    for pk in list(stale.order_by("updated_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            Payment.objects.filter(pk=pk).update(updated_at=timezone.now())
            settle_payment.enqueue(pk)
        queued += 1
    return queued
