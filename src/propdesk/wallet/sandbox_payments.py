"""The built-in sandbox payment provider: a hosted checkout page the client "pays" on, and the
HMAC-signed webhook it sends back to propdesk, exactly as a real provider (Stripe and the like)
would. A real provider plugs in beside it with its own `verify` and event shape.

Signature: header `Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from propdesk.core.errors import DomainError, NotFound, ValidationFailed
from propdesk.jobs.retries import PermanentFailure, job
from propdesk.wallet.models import Deposit, WebhookEvent

PROVIDER = "sandbox"
HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300
WEBHOOK_PATH = "/webhooks/sandbox-payments/"
CHECKOUT_DONE = "sandbox:checkout"  # the provider's own record of a completed checkout
# With the default back-off (30 s doubling up to an hour, jittered) 6½ to 13 hours of tries:
# a site down for a night still gets its payments; after that, staff retry by hand.
WEBHOOK_ATTEMPTS = 20


# Replays are refused by event id for this long; an older event cannot come back anyway: its
# signature would be refused (TOLERANCE_SECONDS), and providers stop resending within days.
EVENTS_KEEP_DAYS = 30


class BadSignature(DomainError):
    status = 400
    code = "bad_signature"
    default_message = "The webhook signature does not verify."


def secret() -> bytes:
    configured = getattr(settings, "SANDBOX_PAYMENTS_SECRET", "")
    if configured:
        return str(configured).encode()
    # Derived, not stored: each install has its own without a secret in the repository.
    return hmac.new(settings.SECRET_KEY.encode(), b"sandbox-payments", hashlib.sha256).digest()


def sign(body: bytes, *, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def verify(body: bytes, header: str | None, *, now: float | None = None) -> None:
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    hex_digits = set("0123456789abcdef")
    if not (stamp.isascii() and stamp.isdigit()) or not given or not set(given) <= hex_digits:
        raise BadSignature()
    if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE_SECONDS:
        raise BadSignature("The webhook is too old (or from the future).")
    expected = hmac.new(secret(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise BadSignature()


# --- what can be paid: a deposit, or another domain's purchase (a challenge's fee) -------------


@dataclass(frozen=True)
class Checkout:
    """One payment the provider collects, whatever it is for."""

    token: uuid.UUID
    amount: Decimal
    currency: str
    purpose: str  # "a wallet deposit", "the fee of 2-Step 100K"
    waiting: bool  # still awaiting payment
    state: str  # what it is now, in words, once it no longer waits
    after_payment: str  # what the client is told after pressing Pay
    return_to: str  # the URL name the client goes back to
    # The provider confirmed (the payment id), inside the webhook; says what became of it.
    paid: Callable[[str], str | None]
    cancelled: Callable[[], None]


Finder = Callable[[uuid.UUID], "Checkout | None"]
_finders: list[Finder] = []


def register(finder: Finder) -> Finder:
    """Let another domain's purchases be paid here (challenges register theirs on start-up)."""
    if finder not in _finders:
        _finders.append(finder)
    return finder


@register
def _deposit(token: uuid.UUID) -> Checkout | None:
    from propdesk.wallet import deposits

    deposit = Deposit.objects.filter(checkout_token=token).first()
    if deposit is None:
        return None
    # A lapsed checkout is closed at once, whether or not the sweep has cancelled it yet.
    awaiting = deposit.status == Deposit.Status.AWAITING_PAYMENT
    lapsed = deposits.has_lapsed(deposit.created_at)
    return Checkout(
        token=token,
        amount=deposit.amount,
        currency=deposit.currency,
        purpose="a wallet deposit",
        waiting=awaiting and not lapsed,
        state="expired" if awaiting and lapsed else deposit.get_status_display().lower(),
        after_payment="Your deposit appears as soon as the payment is confirmed.",
        return_to="portal:wallet",
        paid=lambda payment_id: deposits.payment_received(deposit, payment_id=payment_id),
        cancelled=lambda: deposits.payment_cancelled(deposit),
    )


# --- the provider's side: checkout and sending the webhook -------------------------------------


def checkout(token: Any) -> Checkout:
    try:
        key = uuid.UUID(str(token))
    except ValueError:
        raise NotFound("No such checkout.") from None
    for finder in _finders:
        found = finder(key)
        if found is not None:
            return found
    raise NotFound("No such checkout.")


def event_for(payable: Checkout | Deposit, *, paid: bool) -> dict[str, Any]:
    token = payable.token if isinstance(payable, Checkout) else payable.checkout_token
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment.succeeded" if paid else "payment.cancelled",
        "data": {
            "reference": str(token),
            "payment_id": f"pay_{uuid.uuid4().hex[:16]}",
            "amount": str(payable.amount),
            "currency": payable.currency,
        },
    }


def finish_checkout(token: Any, *, paid: bool) -> Checkout:
    """The client pressed Pay (or Cancel): the provider tells propdesk by webhook, after commit."""
    found = checkout(token)
    if not found.waiting:
        return found
    # The provider's side: a checkout is completed once, as a hosted checkout session is (a
    # double click, or Back and Pay again, charges nothing more).
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(provider=CHECKOUT_DONE, event_id=str(found.token))
    except IntegrityError:
        return found
    body = json.dumps(event_for(found, paid=paid))
    deliver_webhook.enqueue(settings.PROPDESK_SITE_URL.rstrip("/") + WEBHOOK_PATH, body)
    return found


@job(max_attempts=WEBHOOK_ATTEMPTS)
def deliver_webhook(url: str, body: str) -> int:
    """POST the event, signed now (a retry's signature is fresh; the event id is the same, so
    the receiver applies it once).

    Like a real provider, a refused connection, a timeout or a 5xx is tried again later with
    back-off; a 4xx means our endpoint refused the event itself (bad signature, unknown
    checkout), which no retry mends."""
    data = body.encode()
    request = urllib.request.Request(  # noqa: S310  (our own configured site URL)
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", HEADER: sign(data)},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as refused:
        if 400 <= refused.code < 500 and refused.code not in (408, 425, 429):
            raise PermanentFailure(
                f"The webhook endpoint refused the event: HTTP {refused.code} "
                f"{refused.read(500).decode(errors='replace')}"
            ) from refused
        raise


# --- propdesk's side: receiving it --------------------------------------------------------------


def handle_webhook(body: bytes, signature: str | None) -> str:
    """Verify, then apply the event once. Returns what happened, for the response and logs."""
    verify(body, signature)
    try:
        event = json.loads(body)
        event_id = str(event["id"])[:100]
        kind = event["type"]
        data = event["data"]
        reference, amount, currency = data["reference"], data["amount"], data["currency"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed("The event is not in the sandbox provider's shape.") from exc
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(provider=PROVIDER, event_id=event_id)
        except IntegrityError:
            return "duplicate"  # a replay: the first delivery already did the work
        found = checkout(reference)
        if str(found.amount) != str(amount) or found.currency != currency:
            raise ValidationFailed("The payment does not match the purchase it names.")
        if kind == "payment.succeeded":
            return found.paid(str(data.get("payment_id", ""))[:100]) or "paid"
        if kind == "payment.cancelled":
            found.cancelled()
            return "cancelled"
        raise ValidationFailed(f"Unknown event type {kind!r}.")


def prune_events() -> int:
    """Forget handled events older than EVENTS_KEEP_DAYS (the table grew with every payment)."""
    cutoff = timezone.now() - timedelta(days=EVENTS_KEEP_DAYS)
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted
