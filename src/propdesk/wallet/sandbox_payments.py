"""The built-in sandbox payment provider's wire: the HMAC-signed webhook it sends back to propdesk
(signed, sent by a job, retried as a real provider does) and its hosted checkout as the page
shows it. Its adapter on the payment-provider protocol is providers/sandbox.py.

Signature: header `Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from propdesk.core.errors import DomainError, NotFound
from propdesk.jobs.retries import PermanentFailure, job
from propdesk.wallet.models import WebhookEvent

PROVIDER = "sandbox"
HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300
WEBHOOK_PATH = "/webhooks/sandbox-payments/"
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


# --- the hosted checkout as its page shows it -----------------------------------------------------


@dataclass(frozen=True)
class Checkout:
    """One checkout at the sandbox, with what it pays for (the page and the tests read it)."""

    token: uuid.UUID
    amount: Decimal  # asked
    paid: Decimal  # paid so far at the sandbox
    currency: str
    purpose: str  # "Wallet deposit", "The fee of 2-Step 100K"
    waiting: bool  # still takes a payment
    state: str  # what it is now, in words
    return_to: str  # the URL name the client goes back to

    @property
    def rest(self) -> Decimal:
        return max(self.amount - self.paid, Decimal(0))


def checkout(token: Any) -> Checkout:
    """The sandbox's checkout of the payment `token` (opened at the sandbox on first sight, as
    the portal's pay step does). A purchase or deposit closed or lapsed takes no payment."""
    from propdesk.wallet import payments
    from propdesk.wallet.providers import sandbox

    payment = payments.find(token)
    if payment.provider != PROVIDER:
        raise NotFound("No such checkout.")
    if not payment.checkout_url:
        payment = payments.start(payment)
    charge = sandbox.charge_of(payment.token)
    purpose = payments.purpose_of(payment)
    closed_as = purpose.closed_as(payment)
    waiting = sandbox.is_open(charge) and closed_as is None
    state = closed_as or str(charge.get_state_display()).lower()
    return Checkout(
        token=payment.token,
        amount=charge.amount,
        paid=charge.paid,
        currency=charge.currency,
        purpose=purpose.describe(payment),
        waiting=waiting,
        state=state,
        return_to=purpose.return_to,
    )


def event_for(payable: Any, *, paid: bool, amount: Decimal | None = None) -> dict[str, Any]:
    """For tests and the demo: the payer pays (`amount`, or the rest) or cancels at the sandbox,
    and the event the sandbox sends about it is returned instead of being sent."""
    from propdesk.wallet.providers import sandbox

    token = payable.token if isinstance(payable, Checkout) else payable.checkout_token
    checkout(token)  # opened at the sandbox
    if paid:
        return sandbox.pay(token, amount, send=False, anyway=True)
    return sandbox.cancel(token, send=False)


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


def prune_events() -> int:
    """Forget handled events older than EVENTS_KEEP_DAYS (the table grew with every payment)."""
    cutoff = timezone.now() - timedelta(days=EVENTS_KEEP_DAYS)
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted
