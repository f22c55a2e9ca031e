"""What propdesk asks of a payment provider, whatever the provider is.

A payment is a hosted checkout: propdesk opens it at the provider (`start_checkout`, after its
own transaction has committed, under an idempotency key), sends the client to the provider's
page, and learns the outcome from the provider's signed webhook (`parse_webhook` checks the
signature and reads the event) **and** by asking the provider about what the event names
(`confirm`): the webhook's body alone never moves money. Refunds are asked for after commit,
once (`refund`, under an idempotency key); disputes (chargebacks) are read from the provider
(`dispute`). Every provider's raw messages are handed back (`raw`) so that they are kept with
the payment.

Money crosses the protocol as `Decimal` in the payment's own (fiat) currency. A provider that is
paid in another unit (a crypto processor) says what was received in the checkout's currency.

Each adapter is built from its settings: `Provider(values)`, `values` holding each of its
`fields` by key (secrets already unsealed). The adapters live beside this module (`sandbox.py`,
`stripe.py`, `nowpayments.py`); each has a fake of the vendor's documented API under `fakes/`
that the tests and the demo use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Protocol


class ProviderError(Exception):
    """A call to the provider did not give an answer propdesk can use."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body  # the provider's answer as it was sent (kept for staff)


class ProviderUnavailable(ProviderError):
    """Not reached, timed out, 5xx or 429: the same call may be tried again later."""


class ProviderRefused(ProviderError):
    """The provider refused the call (a 4xx other than 408/425/429): trying it again as it is
    would be refused again."""


class BadWebhook(Exception):
    """A webhook whose signature does not verify, is too old, or is not in the provider's shape:
    answered 400, and nothing changes."""


@dataclass(frozen=True)
class Field:
    """One setting a provider needs (shown on its settings page; `secret` ones are sealed with
    the vault and never shown again)."""

    key: str
    label: str
    secret: bool = False
    default: str = ""
    help: str = ""


@dataclass(frozen=True)
class CheckoutRequest:
    reference: str  # propdesk's payment reference (its token): the provider's order id
    amount: Decimal
    currency: str
    description: str  # "The fee of 2-Step 100K", "Wallet deposit"
    customer_email: str
    success_url: str
    cancel_url: str
    webhook_url: str  # where the provider's notifications go (providers that take it per call)
    idempotency_key: str


@dataclass(frozen=True)
class Checkout:
    provider_ref: str  # the provider's id of the checkout (Stripe's cs_..., an invoice id)
    url: str  # the hosted page the client is sent to
    expires_at: datetime | None
    raw: dict[str, Any]


class State(StrEnum):
    OPEN = "open"  # nothing received yet (or being confirmed on the chain)
    PARTIALLY_PAID = "partially_paid"  # some money arrived, less than asked
    PAID = "paid"  # all of it (or more: see `received`)
    EXPIRED = "expired"  # closed without payment
    FAILED = "failed"
    REFUNDED = "refunded"  # the provider gave it back (wholly)


@dataclass(frozen=True)
class Status:
    """What the provider says now about one checkout's payment."""

    provider_ref: str
    state: State
    received: Decimal  # in the checkout's currency, all that arrived so far (0 when none)
    currency: str
    payment_id: str  # the provider's id for the money (payment intent, payment id); "" none
    raw: dict[str, Any]
    # All of it given back so far (by propdesk's refunds or at the provider's dashboard).
    refunded: Decimal = Decimal(0)


class NoticeKind(StrEnum):
    PAYMENT = "payment"  # a checkout's payment moved: ask `confirm`
    REFUND = "refund"  # money went back to the payer (asked by propdesk or at the provider)
    DISPUTE = "dispute"  # a chargeback was opened, or changed: ask `dispute`
    OTHER = "other"  # an event propdesk does not act on (kept, answered 200)


@dataclass(frozen=True)
class Notice:
    """One verified webhook event, as the provider said it (not yet believed)."""

    event_id: str  # the provider's event id: each is handled once
    kind: NoticeKind
    type: str  # the provider's own event type ("checkout.session.completed", "finished")
    provider_ref: str = ""  # the checkout it concerns, when the event names it
    payment_id: str = ""
    object_id: str = ""  # the refund's or dispute's id
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refund:
    refund_id: str
    state: str  # "pending", "succeeded", "failed"
    amount: Decimal
    currency: str
    payment_id: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class Dispute:
    dispute_id: str
    state: str  # the provider's own status ("needs_response", "won", "lost", ...)
    open: bool  # still being decided
    lost: bool  # decided for the payer: the money is gone
    amount: Decimal
    currency: str
    payment_id: str
    reason: str
    raw: dict[str, Any]


class PaymentProvider(Protocol):
    kind: ClassVar[str]  # "sandbox", "stripe", "nowpayments"
    label: ClassVar[str]  # "Stripe"
    fields: ClassVar[tuple[Field, ...]]  # its settings (values given to the constructor)
    refunds: ClassVar[bool]  # whether propdesk may ask it to refund
    disputes: ClassVar[bool]  # whether its payments can be disputed (cards: yes; crypto: no)

    def start_checkout(self, request: CheckoutRequest) -> Checkout:
        """Open a hosted checkout (the same idempotency key gives the same checkout)."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Notice:
        """Verify the signature exactly as the provider specifies (raise BadWebhook) and read
        the event. Calls nothing."""
        ...

    def confirm(self, notice: Notice) -> Status:
        """Ask the provider about the payment the notice names (never trust its body)."""
        ...

    def status(self, provider_ref: str) -> Status | None:
        """Ask about a checkout propdesk opened (None: this provider cannot be asked by it)."""
        ...

    def refund(
        self, payment_id: str, amount: Decimal, currency: str, *, idempotency_key: str
    ) -> Refund:
        """Give `amount` of a payment back to the payer (once per idempotency key)."""
        ...

    def dispute(self, dispute_id: str) -> Dispute:
        """Read a dispute (chargeback) from the provider."""
        ...

    def test_connection(self) -> str:
        """One sentence on what the provider answered with these settings (raise
        ProviderError with the reason)."""
        ...


def settings_of(values: Mapping[str, str], fields: tuple[Field, ...]) -> dict[str, str]:
    """The settings a provider is built with: each field's value, or its default."""
    return {f.key: (values.get(f.key) or f.default) for f in fields}
