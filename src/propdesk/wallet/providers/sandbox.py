"""The built-in sandbox payment provider on the payment-provider protocol.

It plays a provider inside propdesk, with books of its own (wallet.SandboxCharge and
SandboxDispute): a hosted checkout page (`/pay/sandbox/<token>/`, wallet/portal.py) where a
tester pays the whole, a part or more, and the HMAC-signed webhook it sends back to
`/webhooks/sandbox-payments/` (wallet/sandbox_payments.py: signing, sending). `confirm` and
`status` read its own record of what was paid, never the webhook's body; `refund` and `dispute`
work on its own records. Staff (and tests) drive refunds made "at its dashboard" and disputes
with the controls below (`open_dispute`, `decide_dispute`, `dashboard_refund`).

Its event types: `payment.succeeded` (money arrived: the amount of this payment), `payment.
cancelled`, `refund.succeeded`, `dispute.created`, `dispute.closed`; each {"id", "type",
"data": {"reference", "payment_id", ...}}.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction

from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.wallet import sandbox_payments
from propdesk.wallet.models import SandboxCharge, SandboxDispute
from propdesk.wallet.providers.protocol import (
    BadWebhook,
    Checkout,
    CheckoutRequest,
    Dispute,
    Field,
    Notice,
    NoticeKind,
    ProviderRefused,
    ProviderUnavailable,
    Refund,
    State,
    Status,
)

KINDS = {
    "payment": NoticeKind.PAYMENT,
    "refund": NoticeKind.REFUND,
    "dispute": NoticeKind.DISPUTE,
}


class SandboxProvider:
    kind: ClassVar[str] = "sandbox"
    local: ClassVar[bool] = True  # its books are in our database: asking it calls nobody
    label: ClassVar[str] = "Sandbox payment provider"
    # Its webhook secret is derived (sandbox_payments); its one setting is a tester's control.
    fields: ClassVar[tuple[Field, ...]] = (
        Field(
            "unreachable",
            "Play unreachable",
            default="",
            help='"yes": every call fails as if the provider were down (to try the Try again).',
        ),
        Field(
            "refunds_pending",
            "Refunds stay pending",
            default="",
            help='"yes": a refund it accepts stays pending (as a card refund may for days) '
            "until it is finished as succeeded or failed (`finish_refund`).",
        ),
        Field(
            "api_key",
            "API key",
            secret=True,
            help="Any: the sandbox takes every key; Test connection names its last 4 characters "
            "(a real provider's key is sealed the same way).",
        ),
    )
    refunds: ClassVar[bool] = True
    disputes: ClassVar[bool] = True

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def _reachable(self) -> None:
        if self.values.get("unreachable", "").strip().lower() == "yes":
            raise ProviderUnavailable("The sandbox plays a provider that cannot be reached.")

    def start_checkout(self, request: CheckoutRequest) -> Checkout:
        self._reachable()
        token = uuid.UUID(request.reference)
        charge = SandboxCharge.objects.filter(idempotency_key=request.idempotency_key).first()
        if charge is None:
            charge, _ = SandboxCharge.objects.get_or_create(
                token=token,
                defaults={
                    "idempotency_key": request.idempotency_key,
                    "amount": request.amount,
                    "currency": request.currency,
                    "description": request.description[:200],
                },
            )
        return Checkout(
            provider_ref=str(charge.token),
            url=settings.PROPDESK_SITE_URL.rstrip("/") + f"/pay/sandbox/{charge.token}/",
            expires_at=None,
            raw=_charge_json(charge),
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Notice:
        try:
            sandbox_payments.verify(body, _header(headers, sandbox_payments.HEADER))
        except sandbox_payments.BadSignature as bad:
            raise BadWebhook(bad.message) from bad
        try:
            event = json.loads(body)
            event_id = str(event["id"])[:100]
            kind = str(event["type"])
            data = event["data"]
            reference = str(data["reference"])
            uuid.UUID(reference)
        except (ValueError, KeyError, TypeError) as exc:
            raise BadWebhook("The event is not in the sandbox provider's shape.") from exc
        return Notice(
            event_id=event_id,
            kind=KINDS.get(kind.split(".")[0], NoticeKind.OTHER),
            type=kind,
            provider_ref=reference,
            payment_id=str(data.get("payment_id", ""))[:100],
            object_id=str(data.get("refund_id") or data.get("dispute_id") or "")[:100],
            raw=event,
        )

    def confirm(self, notice: Notice) -> Status:
        found = self.status(notice.provider_ref)
        if found is None:
            raise ProviderRefused("No such checkout.", status=404)
        return found

    def status(self, provider_ref: str) -> Status | None:
        charge = SandboxCharge.objects.filter(token=provider_ref).first()
        if charge is None:
            return None
        return Status(
            provider_ref=str(charge.token),
            state=State(charge.state),
            received=charge.paid,
            currency=charge.currency,
            payment_id=charge.payment_id,
            raw=_charge_json(charge),
            refunded=charge.refunded,
        )

    def refund(
        self, payment_id: str, amount: Decimal, currency: str, *, idempotency_key: str
    ) -> Refund:
        self._reachable()
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().filter(payment_id=payment_id).first()
            if charge is None or not payment_id:
                raise ProviderRefused("No such payment.", status=404, body='{"error":"no_payment"}')
            done = charge.refunds.get(idempotency_key)
            if done is None:
                if charge.refuse_refunds:
                    raise ProviderRefused(
                        "The sandbox refuses refunds (sandbox control).",
                        status=402,
                        body='{"error":"refund_refused"}',
                    )
                if amount <= 0 or amount > charge.paid - charge.refunded:
                    raise ProviderRefused(
                        "The refund is more than what is left of the payment.",
                        status=400,
                        body='{"error":"amount_too_large"}',
                    )
                done = {"id": f"re_{uuid.uuid4().hex[:16]}", "amount": str(amount)}
                if self.values.get("refunds_pending", "").strip().lower() == "yes":
                    done["state"] = "pending"
                _refunded(charge, amount, idempotency_key, done)
        return Refund(
            refund_id=done["id"],
            # Asked again under the same key: the refund as it is now (pending, or finished).
            state=done.get("state", "succeeded"),
            amount=Decimal(done["amount"]),
            currency=charge.currency,
            payment_id=payment_id,
            raw={"refund": done, "charge": _charge_json(charge)},
        )

    def dispute(self, dispute_id: str) -> Dispute:
        found = (
            SandboxDispute.objects.select_related("charge").filter(dispute_id=dispute_id).first()
        )
        if found is None:
            raise ProviderRefused("No such dispute.", status=404)
        return Dispute(
            dispute_id=found.dispute_id,
            state=found.state,
            open=found.state == SandboxDispute.State.NEEDS_RESPONSE,
            lost=found.state == SandboxDispute.State.LOST,
            amount=found.amount,
            currency=found.charge.currency,
            payment_id=found.charge.payment_id,
            reason=found.reason,
            raw={"dispute": found.dispute_id, "state": found.state, "amount": str(found.amount)},
        )

    def test_connection(self) -> str:
        self._reachable()
        key = self.values.get("api_key", "")
        named = f" with the key ending {key[-4:]}" if key else " (no API key set)"
        return f"The sandbox answers{named}: {SandboxCharge.objects.count()} checkouts."


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _charge_json(charge: SandboxCharge) -> dict[str, Any]:
    return {
        "reference": str(charge.token),
        "state": charge.state,
        "amount": str(charge.amount),
        "paid": str(charge.paid),
        "refunded": str(charge.refunded),
        "currency": charge.currency,
        "payment_id": charge.payment_id,
    }


def _refunded(charge: SandboxCharge, amount: Decimal, key: str, done: dict[str, str]) -> None:
    charge.refunded += amount
    charge.refunds = {**charge.refunds, key: done}
    if charge.refunded >= charge.paid:
        charge.state = SandboxCharge.State.REFUNDED
    charge.save(update_fields=["refunded", "refunds", "state"])


# --- the sandbox's own side: what the payer and its dashboard do ---------------------------------


def charge_of(token: Any) -> SandboxCharge:
    try:
        key = uuid.UUID(str(token))
    except ValueError:
        raise NotFound("No such checkout.") from None
    found = SandboxCharge.objects.filter(token=key).first()
    if found is None:
        raise NotFound("No such checkout.")
    return found


def is_open(charge: SandboxCharge) -> bool:
    return charge.state in (SandboxCharge.State.OPEN, SandboxCharge.State.PARTIALLY_PAID)


def pay(
    token: Any, amount: Decimal | None = None, *, send: bool = True, anyway: bool = False
) -> dict[str, Any]:
    """The payer pays `amount` (the rest of what was asked when None) on the hosted page; the
    webhook goes out after commit. A closed checkout takes nothing (a double click pays once),
    unless `anyway` (a sandbox control: money that arrives all the same, e.g. a late payment)."""
    with transaction.atomic():
        charge = SandboxCharge.objects.select_for_update().get(pk=charge_of(token).pk)
        if not is_open(charge) and not anyway:
            raise Conflict(f"This checkout is closed ({charge.get_state_display().lower()}).")
        rest = charge.amount - charge.paid
        value = (rest if rest > 0 else charge.amount) if amount is None else amount
        if value <= 0 or value > charge.amount * 100:
            raise ValidationFailed(fields={"amount": "Pay a positive amount."})
        charge.paid += value
        charge.payment_id = charge.payment_id or f"pay_{uuid.uuid4().hex[:16]}"
        if is_open(charge):
            charge.state = (
                SandboxCharge.State.PAID
                if charge.paid >= charge.amount
                else SandboxCharge.State.PARTIALLY_PAID
            )
        charge.save(update_fields=["paid", "payment_id", "state"])
        return _send(charge, "payment.succeeded", send=send, amount=str(value))


def cancel(token: Any, *, send: bool = True) -> dict[str, Any]:
    """The payer cancels: an open checkout with nothing paid expires (one part-paid keeps what
    arrived and closes too)."""
    with transaction.atomic():
        charge = SandboxCharge.objects.select_for_update().get(pk=charge_of(token).pk)
        if is_open(charge):
            charge.state = (
                SandboxCharge.State.PAID if charge.paid > 0 else SandboxCharge.State.EXPIRED
            )
            charge.save(update_fields=["state"])
        return _send(charge, "payment.cancelled", send=send)


def dashboard_refund(token: Any, amount: Decimal) -> str:
    """A refund made at the sandbox's dashboard (not asked by propdesk): told by webhook."""
    charge = charge_of(token)
    done = SandboxProvider().refund(
        charge.payment_id, amount, charge.currency, idempotency_key=f"dashboard:{uuid.uuid4()}"
    )
    with transaction.atomic():
        _send(charge_of(token), "refund.succeeded", refund_id=done.refund_id)
    return done.refund_id


def finish_refund(token: Any, refund_id: str, *, succeeded: bool) -> None:
    """A refund left pending (the "Refunds stay pending" control) is finished by the sandbox
    (a sandbox control): succeeded, or failed (its money counted as not refunded again); told
    by webhook as a real provider's `refund.updated` would."""
    with transaction.atomic():
        charge = SandboxCharge.objects.select_for_update().get(pk=charge_of(token).pk)
        key = next((k for k, v in charge.refunds.items() if v.get("id") == refund_id), None)
        if key is None:
            raise NotFound("No such refund.")
        done = dict(charge.refunds[key])
        if done.get("state", "succeeded") != "pending":
            raise Conflict(f"This refund is already {done.get('state', 'succeeded')}.")
        done["state"] = "succeeded" if succeeded else "failed"
        charge.refunds = {**charge.refunds, key: done}
        if not succeeded:
            charge.refunded -= Decimal(done["amount"])
            if charge.state == SandboxCharge.State.REFUNDED and charge.refunded < charge.paid:
                charge.state = SandboxCharge.State.PAID
        charge.save(update_fields=["refunds", "refunded", "state"])
        _send(charge, "refund.updated", refund_id=refund_id)


def open_dispute(token: Any, amount: Decimal | None = None, reason: str = "fraudulent") -> str:
    """The payer's bank opens a chargeback on the payment (a sandbox control)."""
    charge = charge_of(token)
    if not charge.payment_id:
        raise Conflict("Nothing was paid on this checkout: nothing to dispute.")
    with transaction.atomic():
        made = SandboxDispute.objects.create(
            charge=charge,
            dispute_id=f"dp_{uuid.uuid4().hex[:16]}",
            amount=amount if amount is not None else charge.paid - charge.refunded,
            reason=reason[:100],
        )
        _send(charge, "dispute.created", dispute_id=made.dispute_id)
    return made.dispute_id


def decide_dispute(dispute_id: str, *, won: bool, token: Any = None) -> None:
    """The bank decides the chargeback (a sandbox control): won for the firm, or lost. With
    `token`, only a dispute of that payment's charge (the page it was asked from)."""
    with transaction.atomic():
        disputes = SandboxDispute.objects.select_for_update().select_related("charge")
        if token is not None:
            disputes = disputes.filter(charge__token=token)
        found = disputes.filter(dispute_id=dispute_id).first()
        if found is None:
            raise NotFound("No such dispute.")
        if found.state != SandboxDispute.State.NEEDS_RESPONSE:
            raise Conflict(f"This dispute is already {found.state}.")
        found.state = SandboxDispute.State.WON if won else SandboxDispute.State.LOST
        found.save(update_fields=["state"])
        _send(found.charge, "dispute.closed", dispute_id=found.dispute_id)


def _send(charge: SandboxCharge, kind: str, *, send: bool = True, **data: str) -> dict[str, Any]:
    """Queue the signed webhook (sent after commit by a job, retried as a provider does)."""
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": kind,
        "data": {
            "reference": str(charge.token),
            "payment_id": charge.payment_id,
            "currency": charge.currency,
            **data,
        },
    }
    if send:
        url = settings.PROPDESK_SITE_URL.rstrip("/") + sandbox_payments.WEBHOOK_PATH
        sandbox_payments.deliver_webhook.enqueue(url, json.dumps(event))
    return event
