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

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import stripe

from propdesk.core.outbound import OPENER, in_clear_elsewhere, read_bounded
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
MAX_BODY = 1024 * 1024  # a webhook's body: Stripe's events are a few KiB (the chosen bound)
MAX_ANSWER = 4 * 1024 * 1024  # an API answer read at most


def exponent(currency: str) -> int:
    code = currency.lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in Stripe's smallest unit (refused when it has finer parts than that, and
    when it is not a positive finite number)."""
    if not amount.is_finite() or amount <= 0:
        raise ProviderRefused(f"{amount} {currency} is not an amount Stripe can take.")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ProviderRefused(f"{amount} {currency} has more decimals than Stripe takes.")
    minor = int(scaled)
    # https://docs.stripe.com/currencies#special-cases: a three-decimal currency's last digit
    # must be 0; ISK stays two-decimal in the API but only whole krónur are charged.
    step = 10 if currency.lower() in THREE_DECIMAL else 100 if currency.lower() == "isk" else 1
    if minor % step:
        raise ProviderRefused(
            f"Stripe takes {currency.upper()} only in steps of {step} "
            f"(smallest units): {amount} is not one."
        )
    return minor


def from_minor(amount: int, currency: str) -> Decimal:
    places = exponent(currency)
    return (Decimal(amount).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def _shape(what: str) -> ProviderUnavailable:
    return ProviderUnavailable(f"Stripe's answer is not in its documented shape: {what}.")


def _minor(obj: Mapping[str, Any], key: str, where: str) -> int:
    """A non-negative amount in the smallest unit from one of Stripe's objects."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
        raise _shape(f"{where}.{key} is {value!r}")
    return value


def _code(obj: Mapping[str, Any], where: str) -> str:
    """A currency code from one of Stripe's objects (three letters, lower case)."""
    value = obj.get("currency")
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        raise _shape(f"{where}.currency is {value!r}")
    return value.lower()


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
REFUND_EVENTS = frozenset(
    {
        "charge.refunded",
        "charge.refund.updated",
        "refund.created",
        "refund.updated",
        "refund.failed",
    }
)
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
        if (
            not self.secret_key.isascii()
            or not self.secret_key.isprintable()
            or any(ch.isspace() for ch in self.secret_key)
        ):  # a pasted key with a line break would end up, whole, in http.client's error
            raise ProviderRefused("The Stripe secret key has characters no Stripe key has.")
        if not idempotency_key.isascii() or not idempotency_key.isprintable():
            raise ProviderRefused("The idempotency key has characters a header cannot carry.")
        if not self.api_base.startswith(("https://", "http://")):
            raise ProviderRefused(f"The API base URL is not an http(s) address: {self.api_base!r}")
        if in_clear_elsewhere(self.api_base):
            # The key would cross the network in clear: only a stand-in on this machine (the
            # fake) is spoken to without TLS.
            raise ProviderRefused("The API base URL must be https:// (the key is sent to it).")
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
            with OPENER.open(request, timeout=self.timeout) as response:
                raw = read_bounded(response, MAX_ANSWER)
        except urllib.error.HTTPError as refused:
            body = refused.read(MAX_ANSWER).decode("utf-8", "replace")
            status = refused.code
            message = _message(body) or str(refused.reason)
            text = f"Stripe answered {status} to {where}: {message}"
            # 409: the same idempotency key is still being carried out; Stripe's own libraries
            # try such a request again, as any whose answer says `Stripe-Should-Retry: true`
            # (https://docs.stripe.com/error-low-level#idempotency).
            again = (refused.headers.get("Stripe-Should-Retry") or "").lower()
            if again != "false" and (status >= 500 or status in (408, 409, 425, 429)):
                raise ProviderUnavailable(text, status=status, body=body) from None
            if again == "true":
                raise ProviderUnavailable(text, status=status, body=body) from None
            raise ProviderRefused(text, status=status, body=body) from None
        except (TimeoutError, OSError) as failed:
            raise ProviderUnavailable(f"Stripe was not reached ({where}): {failed}") from None
        except (ValueError, http.client.InvalidURL):  # a bad address; they quote what they refuse
            raise ProviderRefused(f"The API base URL is not a usable address ({where}).") from None
        except http.client.HTTPException as broken:  # a bad status line, a cut-off answer
            raise ProviderUnavailable(
                f"Stripe's answer to {where} was broken off or not HTTP ({type(broken).__name__})"
            ) from None
        if raw is None:
            raise ProviderUnavailable(f"Stripe's answer to {where} is too large")
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError):
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
        minor = to_minor(request.amount, currency)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": minor,
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
            # The client pays in the checkout's own currency: Adaptive Pricing (on by default
            # in new accounts' Dashboard) would take the money, and refund it, in the client's
            # local currency (https://docs.stripe.com/payments/currencies/localize-prices/
            # adaptive-pricing), which propdesk would not count as this currency.
            "adaptive_pricing": {"enabled": "false"},
        }
        session = self._call(
            "POST", "/v1/checkout/sessions", params, idempotency_key=request.idempotency_key
        )
        ident, url = session.get("id"), session.get("url")
        if not isinstance(ident, str) or not ident or not isinstance(url, str) or not url:
            raise _shape("the Checkout Session has no id or url")
        if (_code(session, "checkout.session"), session.get("amount_total")) != (currency, minor):
            raise ProviderRefused(
                f"Stripe opened the checkout {ident} for {session.get('amount_total')} "
                f"{session.get('currency')}, not {minor} {currency} (smallest units)."
            )
        expires = session.get("expires_at")
        return Checkout(
            provider_ref=ident,
            url=url,
            expires_at=datetime.fromtimestamp(expires, UTC) if isinstance(expires, int) else None,
            raw=session,
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Notice:
        given = {k.lower(): v for k, v in headers.items()}.get("stripe-signature", "")
        if not self.webhook_secret:
            raise BadWebhook("No webhook signing secret is set for Stripe.")
        if not given:
            raise BadWebhook("The Stripe-Signature header is missing.")
        if len(body) > MAX_BODY:
            raise BadWebhook(f"The body is larger than {MAX_BODY} bytes.")
        try:
            stripe.WebhookSignature.verify_header(body, given, self.webhook_secret, TOLERANCE)
        except stripe.SignatureVerificationError as refused:
            raise BadWebhook(f"The signature does not verify: {refused}") from None
        except UnicodeDecodeError:
            raise BadWebhook("The body is not UTF-8.") from None
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):  # nested deeper than the parser goes
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
        sessions = listed.get("data")
        if not isinstance(sessions, list):
            raise _shape("the list of Checkout Sessions has no data")
        mine = [
            s
            for s in sessions
            if isinstance(s, dict) and s.get("payment_intent") == notice.payment_id
        ]
        if not mine:
            raise ProviderRefused(f"Stripe has no checkout for the payment {notice.payment_id}.")
        return self._status_of(mine[0])

    def status(self, provider_ref: str) -> Status | None:
        if not provider_ref:
            raise ProviderRefused("No Checkout Session id to ask Stripe about.")
        session = self._call("GET", f"/v1/checkout/sessions/{quote(provider_ref, safe='')}")
        if session.get("id") != provider_ref:
            raise _shape(f"asked for {provider_ref}, it answered about {session.get('id')!r}")
        return self._status_of(session)

    def _status_of(self, session: dict[str, Any]) -> Status:
        """What arrived and went back, in the session's currency only: money Stripe holds in
        another currency is never counted as this one's (it is refused, for staff to see)."""
        if session.get("object") != "checkout.session":
            raise _shape("not a Checkout Session")
        ident = str(session.get("id") or "")
        currency = _code(session, "checkout.session")
        intent_id = session.get("payment_intent") or ""
        if not isinstance(intent_id, str):
            raise _shape("checkout.session.payment_intent is not an id")
        intent: dict[str, Any] = {}
        charge: dict[str, Any] = {}
        if intent_id:
            intent = self._call("GET", f"/v1/payment_intents/{quote(intent_id, safe='')}")
            charge_id = intent.get("latest_charge")
            if isinstance(charge_id, str) and charge_id:
                charge = self._call("GET", f"/v1/charges/{quote(charge_id, safe='')}")
        received = refunded = 0
        state = State.OPEN
        if session.get("status") == "expired":
            state = State.EXPIRED
        elif (
            session.get("status") == "complete"
            and session.get("payment_status") == "paid"
            and intent.get("status") == "succeeded"
        ):
            received = _minor(intent, "amount_received", "payment_intent")
            state = State.PAID
            self._same_currency(intent, currency, ident)
            if charge:
                self._same_currency(charge, currency, ident)
                refunded = _minor(charge, "amount_refunded", "charge")
                if charge.get("refunded") is True or (received and refunded >= received):
                    state = State.REFUNDED
        elif session.get("status") == "complete" and intent.get("status") in (
            "requires_payment_method",
            "canceled",
        ):
            state = State.FAILED  # an asynchronous method that failed after the page
        raw = {"session": session, "payment_intent": intent or None, "charge": charge or None}
        return Status(
            provider_ref=ident,
            state=state,
            received=from_minor(received, currency),
            currency=currency.upper(),
            payment_id=intent_id,
            raw=raw,
            refunded=from_minor(refunded, currency),
        )

    @staticmethod
    def _same_currency(obj: dict[str, Any], currency: str, session: str) -> None:
        kind = str(obj.get("object") or "object")
        found = _code(obj, kind)
        if found != currency:
            raise ProviderRefused(
                f"Stripe holds the {kind} {obj.get('id')} of the checkout {session} in "
                f"{found.upper()}, not in the checkout's {currency.upper()}: propdesk does not "
                "count it (see it in Stripe's Dashboard)."
            )

    def refund(
        self, payment_id: str, amount: Decimal, currency: str, *, idempotency_key: str
    ) -> Refund:
        if not payment_id:
            raise ProviderRefused("No Stripe payment to refund.")
        code = currency.lower()
        minor = to_minor(amount, code)
        # Stripe refunds in the payment's own currency whatever the amount means: an amount
        # meant in another currency would give back the wrong sum, so it is never sent.
        intent = self._call("GET", f"/v1/payment_intents/{quote(payment_id, safe='')}")
        paid_in = _code(intent, "payment_intent")
        if paid_in != code:
            raise ProviderRefused(
                f"The payment {payment_id} was made in {paid_in.upper()}, not in "
                f"{currency.upper()}: nothing was refunded."
            )
        params = {"payment_intent": payment_id, "amount": minor}
        refund = self._call("POST", "/v1/refunds", params, idempotency_key=idempotency_key)
        refund_id = refund.get("id")
        if refund.get("object") != "refund" or not isinstance(refund_id, str) or not refund_id:
            raise _shape("the refund has no id")
        if refund.get("status") not in ("succeeded", "failed", "canceled"):
            # Still pending (or requires_action): asked again later under the same key, Stripe
            # replays its first answer, so the refund itself is read for what it is now.
            fresh = self._call("GET", f"/v1/refunds/{quote(refund_id, safe='')}")
            if fresh.get("object") == "refund" and fresh.get("id") == refund_id:
                refund = fresh
        status = str(refund.get("status") or "")
        state = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
            status, "pending"
        )
        refunded_in = _code(refund, "refund")
        return Refund(
            refund_id=refund_id,
            state=state,
            amount=from_minor(_minor(refund, "amount", "refund"), refunded_in),
            currency=refunded_in.upper(),
            payment_id=str(refund.get("payment_intent") or payment_id),
            raw=refund,
        )

    def dispute(self, dispute_id: str) -> Dispute:
        if not dispute_id:
            raise ProviderRefused("No Stripe dispute to read.")
        found = self._call("GET", f"/v1/disputes/{quote(dispute_id, safe='')}")
        status = str(found.get("status") or "")
        currency = _code(found, "dispute")
        return Dispute(
            dispute_id=str(found.get("id") or dispute_id),
            state=status,
            open=status in OPEN_DISPUTES,
            lost=status == "lost",
            amount=from_minor(_minor(found, "amount", "dispute"), currency),
            currency=currency.upper(),
            payment_id=str(found.get("payment_intent") or ""),
            reason=str(found.get("reason") or ""),
            raw=found,
        )

    def test_connection(self) -> str:
        balance = self._call("GET", "/v1/balance")
        mode = "live" if balance.get("livemode") else "test"
        available = balance.get("available")
        shown = []
        for fund in available if isinstance(available, list) else []:
            amount = fund.get("amount") if isinstance(fund, dict) else None
            if isinstance(amount, int) and not isinstance(amount, bool):  # may be negative
                code = _code(fund, "balance")
                shown.append(f"{from_minor(amount, code)} {code.upper()}")
        funds = ", ".join(shown)
        return f"Stripe accepted the key ({mode} mode); available balance: {funds or 'none'}."


def _message(body: str) -> str:
    try:
        error = json.loads(body).get("error") or {}
    except (ValueError, AttributeError, RecursionError):
        return ""
    if not isinstance(error, dict):
        return ""
    return str(error.get("message") or error.get("code") or "")
