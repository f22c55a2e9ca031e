"""Stripe as a payment provider: a hosted Checkout Session per payment, its outcome read from
Stripe's signed webhook and confirmed by asking Stripe, refunds and disputes through its API.

  https://docs.stripe.com/api/checkout/sessions/create  (mode=payment, line_items with
      price_data, success_url, cancel_url, client_reference_id, customer_email, metadata)
  https://docs.stripe.com/currencies#zero-decimal  (amounts in the smallest unit: cents for
      USD, whole yen for JPY; three-decimal currencies in thousandths)
  https://docs.stripe.com/webhooks#verify-official-libraries  (the signature verified with the
      official library, a tolerance of 300 seconds, the raw body)
  https://docs.stripe.com/api/idempotent_requests  (the Idempotency-Key header)
  https://docs.stripe.com/api/errors  (429 and 5xx: try again; other 4xx: refused)

Calls are plain HTTPS with the secret key as a Bearer token to the configured base URL (the
fake's in tests and the demo) and a pinned `Stripe-Version`, so that the answers' shape does
not move with the account's default version. The official library is used for what it does
best here, the signature check.

Stripe takes no per-call notification address: `CheckoutRequest.webhook_url` is not sent; the
firm adds the endpoint `<site>/webhooks/payments/stripe/` once in Stripe's Dashboard
(docs/stripe.md).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import stripe

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
    settings_of,
)

API_VERSION = "2026-10-28.endive"
TIMEOUT = 15.0
TOLERANCE = 300  # seconds: Stripe's libraries' default, as its documentation advises
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
OPEN_DISPUTES = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def exponent(currency: str) -> int:
    code = currency.lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in Stripe's smallest unit (refused when it has finer parts than that)."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ProviderRefused(f"{amount} {currency} has more decimals than Stripe takes.")
    return int(scaled)


def from_minor(amount: int, currency: str) -> Decimal:
    places = exponent(currency)
    return (Decimal(amount).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def _form(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested values in Stripe's bracket notation (`metadata[reference]=X`)."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs += _form(value, name)
        elif isinstance(value, list | tuple):
            pairs += _form({str(i): v for i, v in enumerate(value)}, name)
        elif value is not None and value != "":
            pairs.append((name, str(value)))
    return pairs


# The events a firm enables on its endpoint (docs/stripe.md), and what each tells propdesk.
PAYMENT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
REFUND_EVENTS = frozenset({"charge.refunded", "refund.created", "refund.updated", "refund.failed"})
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)


class StripeProvider:
    kind: ClassVar[str] = "stripe"
    label: ClassVar[str] = "Stripe"
    fields: ClassVar[tuple[Field, ...]] = (
        Field(
            "secret_key",
            "Secret key",
            secret=True,
            help="sk_live_... (or sk_test_... to try it); Dashboard > Developers > API keys.",
        ),
        Field(
            "webhook_secret",
            "Webhook signing secret",
            secret=True,
            help="whsec_...: the signing secret of the endpoint <site>/webhooks/payments/stripe/.",
        ),
        Field(
            "api_base",
            "API base URL",
            default="https://api.stripe.com",
            help="Leave as it is, unless a test double of Stripe stands in for it.",
        ),
    )
    refunds: ClassVar[bool] = True
    disputes: ClassVar[bool] = True

    def __init__(self, values: Mapping[str, str], *, timeout: float = TIMEOUT) -> None:
        settings = settings_of(values, self.fields)
        self.secret_key = settings["secret_key"].strip()
        self.webhook_secret = settings["webhook_secret"].strip()
        self.api_base = settings["api_base"].strip().rstrip("/")
        self.timeout = timeout

    # --- calls --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str = "",
    ) -> dict[str, Any]:
        if not self.secret_key:
            raise ProviderRefused("No Stripe secret key is set.")
        if not self.api_base.startswith(("https://", "http://")):
            raise ProviderRefused(f"The API base URL is not an http(s) address: {self.api_base!r}")
        encoded = urlencode(_form(params or {}))
        url = self.api_base + path
        data = None
        if method == "GET" and encoded:
            url += "?" + encoded
        elif method != "GET":
            data = encoded.encode()
        headers = {
            "Authorization": f"Bearer {self.secret_key}",
            "Stripe-Version": API_VERSION,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(  # noqa: S310  (the configured http(s) address)
            url, data=data, method=method, headers=headers
        )
        where = f"{method} {path}"
        try:
            with _NO_PROXY.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as refused:
            body = refused.read().decode("utf-8", "replace")
            status = refused.code
            message = _message(body) or str(refused.reason)
            text = f"Stripe answered {status} to {where}: {message}"
            if status >= 500 or status in (408, 425, 429):
                raise ProviderUnavailable(text, status=status, body=body) from None
            raise ProviderRefused(text, status=status, body=body) from None
        except (TimeoutError, OSError) as failed:
            raise ProviderUnavailable(f"Stripe was not reached ({where}): {failed}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ProviderUnavailable(
                f"Stripe's answer to {where} is not JSON",
                body=raw[:2000].decode("utf-8", "replace"),
            ) from None
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"Stripe's answer to {where} is not an object")
        return answer

    # --- the protocol -------------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> Checkout:
        currency = request.currency.lower()
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": to_minor(request.amount, currency),
                        "product_data": {"name": request.description[:250]},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": request.reference,
            "customer_email": request.customer_email,
            "metadata": {"reference": request.reference},
            "payment_intent_data": {"metadata": {"reference": request.reference}},
        }
        session = self._call(
            "POST", "/v1/checkout/sessions", params, idempotency_key=request.idempotency_key
        )
        expires = session.get("expires_at")
        return Checkout(
            provider_ref=str(session.get("id") or ""),
            url=str(session.get("url") or ""),
            expires_at=datetime.fromtimestamp(expires, UTC) if isinstance(expires, int) else None,
            raw=session,
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Notice:
        given = {k.lower(): v for k, v in headers.items()}.get("stripe-signature", "")
        if not self.webhook_secret:
            raise BadWebhook("No webhook signing secret is set for Stripe.")
        if not given:
            raise BadWebhook("The Stripe-Signature header is missing.")
        try:
            stripe.WebhookSignature.verify_header(body, given, self.webhook_secret, TOLERANCE)
        except stripe.SignatureVerificationError as refused:
            raise BadWebhook(f"The signature does not verify: {refused}") from None
        except UnicodeDecodeError:
            raise BadWebhook("The body is not UTF-8.") from None
        try:
            event = json.loads(body)
        except ValueError:
            raise BadWebhook("The body is not JSON.") from None
        if not isinstance(event, dict) or event.get("object") != "event":
            raise BadWebhook("The body is not a Stripe event.")
        event_id, type_ = event.get("id"), event.get("type")
        data = event.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        if not isinstance(event_id, str) or not event_id or not isinstance(type_, str):
            raise BadWebhook("The event has no id or type.")
        if not isinstance(obj, dict):
            raise BadWebhook("The event has no data.object.")
        text = {k: v if isinstance(v, str) else "" for k, v in obj.items()}
        if type_ in PAYMENT_EVENTS:
            return Notice(
                event_id,
                NoticeKind.PAYMENT,
                type_,
                provider_ref=text.get("id", ""),
                payment_id=text.get("payment_intent", ""),
                raw=event,
            )
        if type_ in REFUND_EVENTS:
            refund_id = text.get("id", "") if obj.get("object") == "refund" else ""
            return Notice(
                event_id,
                NoticeKind.REFUND,
                type_,
                payment_id=text.get("payment_intent", ""),
                object_id=refund_id,
                raw=event,
            )
        if type_ in DISPUTE_EVENTS:
            return Notice(
                event_id,
                NoticeKind.DISPUTE,
                type_,
                payment_id=text.get("payment_intent", ""),
                object_id=text.get("id", ""),
                raw=event,
            )
        return Notice(event_id, NoticeKind.OTHER, type_, object_id=text.get("id", ""), raw=event)

    def confirm(self, notice: Notice) -> Status:
        if notice.provider_ref:
            found = self.status(notice.provider_ref)
            assert found is not None
            return found
        if not notice.payment_id:
            raise ProviderRefused(f"The event {notice.event_id} names no checkout or payment.")
        listed = self._call("GET", "/v1/checkout/sessions", {"payment_intent": notice.payment_id})
        sessions = listed.get("data") or []
        if not sessions:
            raise ProviderRefused(f"Stripe has no checkout for the payment {notice.payment_id}.")
        return self._status_of(sessions[0])

    def status(self, provider_ref: str) -> Status | None:
        session = self._call("GET", f"/v1/checkout/sessions/{quote(provider_ref, safe='')}")
        return self._status_of(session)

    def _status_of(self, session: dict[str, Any]) -> Status:
        currency = str(session.get("currency") or "")
        intent_id = session.get("payment_intent") or ""
        intent: dict[str, Any] = {}
        charge: dict[str, Any] = {}
        if isinstance(intent_id, str) and intent_id:
            intent = self._call("GET", f"/v1/payment_intents/{quote(intent_id, safe='')}")
            charge_id = intent.get("latest_charge")
            if isinstance(charge_id, str) and charge_id:
                charge = self._call("GET", f"/v1/charges/{quote(charge_id, safe='')}")
        received = 0
        state = State.OPEN
        if session.get("status") == "expired":
            state = State.EXPIRED
        elif (
            session.get("status") == "complete"
            and session.get("payment_status") == "paid"
            and intent.get("status") == "succeeded"
        ):
            received = int(intent.get("amount_received") or 0)
            state = State.PAID
            if charge.get("refunded") is True:
                state = State.REFUNDED
        elif session.get("status") == "complete" and intent.get("status") in (
            "requires_payment_method",
            "canceled",
        ):
            state = State.FAILED  # an asynchronous method that failed after the page
        raw = {"session": session, "payment_intent": intent or None, "charge": charge or None}
        return Status(
            provider_ref=str(session.get("id") or ""),
            state=state,
            received=from_minor(received, currency or "usd"),
            currency=currency.upper(),
            payment_id=intent_id if isinstance(intent_id, str) else "",
            raw=raw,
        )

    def refund(
        self, payment_id: str, amount: Decimal, currency: str, *, idempotency_key: str
    ) -> Refund:
        params = {"payment_intent": payment_id, "amount": to_minor(amount, currency)}
        refund = self._call("POST", "/v1/refunds", params, idempotency_key=idempotency_key)
        status = str(refund.get("status") or "")
        state = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
            status, "pending"
        )
        refunded_in = str(refund.get("currency") or currency)
        return Refund(
            refund_id=str(refund.get("id") or ""),
            state=state,
            amount=from_minor(int(refund.get("amount") or 0), refunded_in),
            currency=refunded_in.upper(),
            payment_id=str(refund.get("payment_intent") or payment_id),
            raw=refund,
        )

    def dispute(self, dispute_id: str) -> Dispute:
        found = self._call("GET", f"/v1/disputes/{quote(dispute_id, safe='')}")
        status = str(found.get("status") or "")
        currency = str(found.get("currency") or "usd")
        return Dispute(
            dispute_id=str(found.get("id") or dispute_id),
            state=status,
            open=status in OPEN_DISPUTES,
            lost=status == "lost",
            amount=from_minor(int(found.get("amount") or 0), currency),
            currency=currency.upper(),
            payment_id=str(found.get("payment_intent") or ""),
            reason=str(found.get("reason") or ""),
            raw=found,
        )

    def test_connection(self) -> str:
        balance = self._call("GET", "/v1/balance")
        mode = "live" if balance.get("livemode") else "test"
        funds = ", ".join(
            f"{from_minor(int(f.get('amount') or 0), str(f.get('currency')))} "
            f"{str(f.get('currency')).upper()}"
            for f in balance.get("available") or []
            if isinstance(f, dict)
        )
        return f"Stripe accepted the key ({mode} mode); available balance: {funds or 'none'}."


def _message(body: str) -> str:
    try:
        error = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    return str(error.get("message") or error.get("code") or "")
