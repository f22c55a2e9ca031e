"""What the fake Stripe keeps: Checkout Sessions, PaymentIntents, Charges, Refunds, Disputes,
webhook endpoints, the events it raised and the idempotent requests' answers; and what each
documented operation does to them.

  https://docs.stripe.com/api/checkout/sessions/object  (status open/complete/expired,
      payment_status paid/unpaid, amount_total, currency, payment_intent, url null once the
      session is no longer open)
  https://docs.stripe.com/api/checkout/sessions/create  (expires_at: 30 minutes to 24 hours
      after creation, 24 hours by default, a Unix timestamp, not an amount; adaptive_pricing
      [enabled]: the fake never localizes prices, it always charges the session's currency)
  https://docs.stripe.com/currencies  (amounts at most eight digits in the smallest unit)
  https://docs.stripe.com/api/checkout/sessions/expire  (only an open session)
  https://docs.stripe.com/api/payment_intents/object, https://docs.stripe.com/api/charges/object
  https://docs.stripe.com/api/refunds/create  ("You can optionally refund only part of a
      charge ... until the entire charge has been refunded ... an error when called on an
      already-refunded charge, or when trying to refund more money than is left")
  https://docs.stripe.com/api/disputes/object  (status warning_needs_response,
      warning_under_review, warning_closed, needs_response, under_review, won, lost)
  https://docs.stripe.com/api/disputes/close  (closing is accepting the loss)
  https://docs.stripe.com/api/events/object  (the envelope)
  https://docs.stripe.com/api/balance/balance_object

Chosen where the documentation is silent: a card refund succeeds at once (status
`succeeded`); refunding more than is left is `amount_too_large` on `amount`; a charge with an
open dispute cannot be refunded (`charge_disputed`); a session's expiry is noticed within a
second (Stripe gives no figure).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from propdesk.wallet.providers.fakes.stripe.after import API_VERSION, DAY, AfterPayment, new_id
from propdesk.wallet.providers.fakes.stripe.cards import card, last4
from propdesk.wallet.providers.fakes.stripe.errors import StripeError, invalid, no_such
from propdesk.wallet.providers.fakes.stripe.params import MAX_AMOUNT, Params

KINDS = {
    "cs": "checkout.session",
    "pi": "payment_intent",
    "ch": "charge",
    "re": "refund",
    "dp": "dispute",
    "evt": "event",
    "we": "webhook_endpoint",
}


def listing(url: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url}


class Book(AfterPayment):
    def __init__(self, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = state_file
        self.objects: dict[str, dict[str, Any]] = {}
        self.line_items: dict[str, list[dict[str, Any]]] = {}
        self.idempotent: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.deliveries: dict[str, list[dict[str, Any]]] = {}  # event id -> per endpoint
        # Charges paid with the card whose refunds start pending (kept in memory only).
        self.refunds_pending: set[str] = set()
        self.on_event: Callable[[dict[str, Any]], None] = lambda event: None
        self.load()

    # --- keeping ------------------------------------------------------------------------------

    def load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        data = json.loads(self.state_file.read_text())
        self.objects = data.get("objects", {})
        self.line_items = data.get("line_items", {})
        self.idempotent = data.get("idempotent", {})
        self.events = data.get("events", [])
        self.deliveries = data.get("deliveries", {})

    def save(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            data = {
                "objects": self.objects,
                "line_items": self.line_items,
                "idempotent": self.idempotent,
                "events": self.events,
                "deliveries": self.deliveries,
            }
            temporary = self.state_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(data))
            temporary.replace(self.state_file)

    def reset(self) -> None:
        with self.lock:
            endpoints = {k: v for k, v in self.objects.items() if k.startswith("we_")}
            self.objects = endpoints
            self.line_items.clear()
            self.idempotent.clear()
            self.events.clear()
            self.deliveries.clear()
            self.refunds_pending.clear()
        self.save()

    # --- reading ------------------------------------------------------------------------------

    def get(self, kind: str, ident: str, param: str = "id") -> dict[str, Any]:
        self.tick()
        with self.lock:
            found = self.objects.get(ident)
            if found is None or found.get("object") != kind:
                raise no_such(kind, ident, param)
            return found

    def show(self, obj: dict[str, Any]) -> dict[str, Any]:
        shown = copy.deepcopy(obj)
        if shown.get("object") == "webhook_endpoint":
            shown.pop("secret", None)  # the secret is shown only when the endpoint is made
        return shown

    def all(self, kind: str) -> list[dict[str, Any]]:
        self.tick()
        with self.lock:
            found = [o for o in self.objects.values() if o.get("object") == kind]
        return sorted(found, key=lambda o: o.get("created", 0), reverse=True)

    # --- events -------------------------------------------------------------------------------

    def emit(self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        with self.lock:
            endpoints = [
                e
                for e in self.objects.values()
                if e.get("object") == "webhook_endpoint"
                and e.get("status") == "enabled"
                and ("*" in e["enabled_events"] or type_ in e["enabled_events"])
            ]
            data: dict[str, Any] = {"object": copy.deepcopy(obj)}
            if previous:
                data["previous_attributes"] = previous
            event: dict[str, Any] = {
                "id": new_id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": int(time.time()),
                "data": data,
                "livemode": False,
                "pending_webhooks": len(endpoints),
                "request": {"id": None, "idempotency_key": None},
                "type": type_,
            }
            self.events.append(event)
            self.objects[event["id"]] = event
            self.deliveries[event["id"]] = [
                {
                    "endpoint": e["id"],
                    "url": e["url"],
                    "attempts": 0,
                    "state": "pending",
                    "last_status": None,
                }
                for e in endpoints
            ]
        self.on_event(event)

    def tick(self) -> None:
        """Expire the open sessions whose time is up (as Stripe does, unasked)."""
        now = time.time()
        with self.lock:
            due = [
                o
                for o in self.objects.values()
                if o.get("object") == "checkout.session"
                and o["status"] == "open"
                and o["expires_at"] <= now
            ]
            for session in due:
                self._expire(session)

    # --- Checkout Sessions --------------------------------------------------------------------

    def create_session(self, p: Params, base_url: str) -> dict[str, Any]:
        p.only(
            "mode",
            "line_items",
            "success_url",
            "cancel_url",
            "client_reference_id",
            "customer_email",
            "metadata",
            "expires_at",
            "payment_method_types",
            "payment_intent_data",
            "locale",
            "submit_type",
            "adaptive_pricing",
        )
        mode = p.text("mode", required=True)
        if mode not in ("payment", "setup", "subscription"):
            raise invalid(
                "Invalid mode: must be one of payment, setup, or subscription", param="mode"
            )
        if mode != "payment":  # the fake's choice: propdesk takes one-off payments only
            raise invalid("This fake Stripe supports mode=payment only.", param="mode")
        items, currency, total = [], "", 0
        for item in p.items("line_items", required=True):
            item.only("price_data", "quantity", "price")
            price = item.text("price")
            if price:  # no Prices API in the fake: every price is missing
                raise no_such("price", price, item.name("price"))
            data = item.child("price_data", required=True)
            assert data is not None
            data.only("currency", "unit_amount", "product_data", "tax_behavior")
            item_currency = data.text("currency", required=True).lower()
            if len(item_currency) != 3 or not item_currency.isalpha():
                raise invalid(f"Invalid currency: {item_currency}", param=data.name("currency"))
            if currency and item_currency != currency:
                raise invalid(
                    "All line items must have the same currency.", param=data.name("currency")
                )
            currency = item_currency
            unit = data.integer("unit_amount", required=True, amount=True)
            product = data.child("product_data", required=True)
            assert product is not None
            assert unit is not None
            product.only("name", "description")
            name = product.text("name", required=True, limit=250)
            quantity = item.integer("quantity", required=True, minimum=1)
            assert quantity is not None
            total += unit * quantity
            items.append({"name": name, "unit_amount": unit, "quantity": quantity})
        if total < 50 and currency not in ZERO_DECIMAL:
            raise invalid(
                "The Checkout Session's total amount due must add up to at least 50 in the "
                "currency's smallest unit.",
                param="line_items",
                code="amount_too_small",
            )
        if total > MAX_AMOUNT:
            raise invalid(
                "The Checkout Session's total amount due must be no more than 99999999 in the "
                "currency's smallest unit.",
                param="line_items",
                code="amount_too_large",
            )
        adaptive = p.child("adaptive_pricing")
        localized = True  # the Dashboard's default in new accounts (the fake never localizes)
        if adaptive is not None:
            adaptive.only("enabled")
            if adaptive.text("enabled") not in ("", "true", "false"):
                raise invalid(
                    "Invalid boolean: " + adaptive.text("enabled"),
                    param="adaptive_pricing[enabled]",
                )
            localized = adaptive.text("enabled") != "false"
        for key in ("success_url", "cancel_url"):
            url = p.text(key, limit=5000)
            if url and (
                not url.startswith(("http://", "https://"))
                or any(ch.isspace() or ord(ch) < 32 for ch in url)
            ):
                raise invalid("Not a valid URL", param=key, code="url_invalid")
        email = p.text("customer_email", limit=800)
        if email and ("@" not in email or " " in email):
            raise invalid(
                "Invalid email address: " + email, param="customer_email", code="email_invalid"
            )
        now = int(time.time())
        expires_at = p.integer("expires_at") or now + DAY
        if not now + 1800 - 5 <= expires_at <= now + DAY + 5:
            raise invalid(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                param="expires_at",
            )
        intent_data = p.child("payment_intent_data")
        intent_metadata: dict[str, str] = {}
        description = ""
        if intent_data is not None:
            intent_data.only("metadata", "description")
            intent_metadata = intent_data.metadata()
            description = intent_data.text("description", limit=1000)
        session_id = new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "adaptive_pricing": {"enabled": localized},
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": p.text("cancel_url") or None,
            "client_reference_id": p.text("client_reference_id", limit=200) or None,
            "created": now,
            "currency": currency,
            "customer_details": None,
            "customer_email": email or None,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": p.metadata(),
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": p.text("success_url") or None,
            "url": f"{base_url}/c/pay/{session_id}",
            "_intent": {"metadata": intent_metadata, "description": description or None},
        }
        with self.lock:
            self.objects[session_id] = session
            self.line_items[session_id] = items
        return session

    def expire_session(self, ident: str) -> dict[str, Any]:
        with self.lock:
            session = self.get("checkout.session", ident, "session")
            if session["status"] != "open":
                raise invalid(
                    f'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f'This Checkout Session has a status of "{session["status"]}".',
                    param="session",
                )
            self._expire(session)
            return session

    def _expire(self, session: dict[str, Any]) -> None:
        session.update(status="expired", url=None)
        self.emit("checkout.session.expired", self._public(session))

    def sessions(self, payment_intent: str = "") -> list[dict[str, Any]]:
        found = self.all("checkout.session")
        if payment_intent:
            found = [s for s in found if s["payment_intent"] == payment_intent]
        return found

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    # --- paying on the hosted page ------------------------------------------------------------

    def pay(self, ident: str, number: str, email: str = "") -> dict[str, Any]:
        """The customer pays the session with a card: the session when paid; a card error
        (402, as the API would answer a confirmation) when declined."""
        with self.lock:
            session = self.get("checkout.session", ident, "session")
            if session["status"] != "open":
                raise invalid(
                    f"This Checkout Session is {session['status']}: it can no longer be paid.",
                    param="session",
                )
            now = int(time.time())
            intent = self.objects.get(session["payment_intent"] or "")
            if intent is None:
                extra = session["_intent"]
                intent = {
                    "id": new_id("pi"),
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "amount_received": 0,
                    "currency": session["currency"],
                    "created": now,
                    "description": extra["description"],
                    "last_payment_error": None,
                    "latest_charge": None,
                    "livemode": False,
                    "metadata": extra["metadata"],
                    "payment_method_types": ["card"],
                    "status": "requires_payment_method",
                }
                self.objects[intent["id"]] = intent
                session["payment_intent"] = intent["id"]
            chosen = card(number)
            if chosen.code:
                error = {
                    "type": "card_error",
                    "code": chosen.code,
                    "decline_code": chosen.decline_code or None,
                    "message": chosen.message,
                }
                intent["last_payment_error"] = error
                self.emit("payment_intent.payment_failed", intent)
                raise StripeError(
                    402,
                    "card_error",
                    chosen.message,
                    code=chosen.code,
                    decline_code=chosen.decline_code,
                    payment_intent=intent["id"],
                )
            charge = {
                "id": new_id("ch"),
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": intent["amount"],
                "amount_refunded": 0,
                "captured": True,
                "created": now,
                "currency": intent["currency"],
                "disputed": False,
                "livemode": False,
                "metadata": intent["metadata"],
                "paid": True,
                "payment_intent": intent["id"],
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": chosen.brand, "last4": last4(number)},
                },
                "refunded": False,
                "status": "succeeded",
            }
            self.objects[charge["id"]] = charge
            if chosen.refunds_pending:
                self.refunds_pending.add(charge["id"])
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                last_payment_error=None,
            )
            session.update(
                status="complete",
                payment_status="paid",
                url=None,
                customer_details={"email": email or session["customer_email"]},
            )
            self.emit("charge.succeeded", charge)
            self.emit("payment_intent.succeeded", intent)
            self.emit("checkout.session.completed", self._public(session))
            if chosen.disputed:
                self.open_dispute(charge["id"], chosen.disputed)
            return session


# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
