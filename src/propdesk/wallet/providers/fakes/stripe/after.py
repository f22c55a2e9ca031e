"""What happens to a paid charge afterwards: refunds (through the API or from the Dashboard)
and disputes (opened by the cardholder's bank, closed won or lost); and the account's balance
and webhook endpoints. The sources are those of `book.py`; see there for what the fake chose.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from propdesk.wallet.providers.fakes.stripe.errors import invalid
from propdesk.wallet.providers.fakes.stripe.params import Params

API_VERSION = "2026-10-28.endive"  # the version the official Python library of 2026 pins
DAY = 86400
OPEN_DISPUTES = {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def new_id(prefix: str) -> str:
    test = "_test" if prefix == "cs" else ""
    return f"{prefix}{test}_{secrets.token_hex(12)}"


class AfterPayment:
    lock: threading.RLock
    objects: dict[str, dict[str, Any]]
    refunds_pending: set[str]

    def get(self, kind: str, ident: str, param: str = "id") -> dict[str, Any]:
        raise NotImplementedError

    def emit(self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    # --- refunds ------------------------------------------------------------------------------

    def create_refund(self, p: Params) -> dict[str, Any]:
        p.only("payment_intent", "charge", "amount", "reason", "metadata")
        intent_id, charge_id = p.text("payment_intent"), p.text("charge")
        if not intent_id and not charge_id:
            raise invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        reason = p.text("reason")
        if reason and reason not in REFUND_REASONS:
            raise invalid(
                f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}", param="reason"
            )
        amount = p.integer("amount", minimum=1, amount=True)
        metadata = p.metadata()
        with self.lock:
            if intent_id:
                intent = self.get("payment_intent", intent_id, "payment_intent")
                if intent["status"] != "succeeded" or not intent["latest_charge"]:
                    raise invalid(
                        f"This PaymentIntent ({intent_id}) does not have a successful charge "
                        "to refund.",
                        param="payment_intent",
                        code="charge_not_refundable",
                    )
                charge_id = intent["latest_charge"]
            charge = self.get("charge", charge_id, "charge")
            return self.refund_charge(charge, amount, reason, metadata)

    def refund_charge(
        self,
        charge: dict[str, Any],
        amount: int | None,
        reason: str = "",
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            dispute = self._dispute_of(charge["id"])
            if dispute is not None and dispute["status"] in OPEN_DISPUTES:
                raise invalid(
                    f"Charge {charge['id']} has been charged back; you cannot issue a refund.",
                    code="charge_disputed",
                )
            left = charge["amount"] - charge["amount_refunded"]
            if left <= 0:
                raise invalid(
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = left if amount is None else amount
            if amount > left:
                raise invalid(
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({left})",
                    param="amount",
                    code="amount_too_large",
                )
            refund = {
                "id": new_id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "created": int(time.time()),
                "currency": charge["currency"],
                "metadata": metadata or {},
                "payment_intent": charge["payment_intent"],
                "reason": reason or None,
                "status": "pending" if charge["id"] in self.refunds_pending else "succeeded",
            }
            self.objects[refund["id"]] = refund
            previous = {"amount_refunded": charge["amount_refunded"], "refunded": False}
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            self.emit("refund.created", refund)
            self.emit("charge.refunded", charge, previous)
            return refund

    def finish_refund(self, refund_id: str, *, failed: bool = False) -> dict[str, Any]:
        """A pending refund ends (https://docs.stripe.com/refunds#failed-refunds): succeeded,
        or failed, when what it took is given back to the charge (`refund.failed`)."""
        with self.lock:
            refund = self.get("refund", refund_id, "refund")
            if refund["status"] != "pending":
                raise invalid(f"Refund {refund_id} is not pending.", param="refund")
            previous = {"status": "pending"}
            if failed:
                charge = self.get("charge", refund["charge"], "charge")
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
                refund.update(status="failed", failure_reason="lost_or_stolen_card")
                self.emit("refund.failed", refund, previous)
            else:
                refund["status"] = "succeeded"
            self.emit("refund.updated", refund, previous)
            return refund

    # --- disputes -----------------------------------------------------------------------------

    def _dispute_of(self, charge_id: str) -> dict[str, Any] | None:
        for obj in self.objects.values():
            if obj.get("object") == "dispute" and obj["charge"] == charge_id:
                return obj
        return None

    def open_dispute(
        self, charge_id: str, reason: str = "fraudulent", amount: int | None = None
    ) -> dict[str, Any]:
        with self.lock:
            charge = self.get("charge", charge_id, "charge")
            if self._dispute_of(charge_id) is not None:
                raise invalid(f"Charge {charge_id} is already disputed.", param="charge")
            left = charge["amount"] - charge["amount_refunded"]
            if left <= 0:
                raise invalid(f"Charge {charge_id} was wholly refunded.", param="charge")
            now = int(time.time())
            dispute = {
                "id": new_id("dp"),
                "object": "dispute",
                "amount": min(amount or left, left),
                "balance_transactions": [],
                "charge": charge_id,
                "created": now,
                "currency": charge["currency"],
                "evidence_details": {"due_by": now + 7 * DAY, "has_evidence": False},
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "status": "needs_response",
            }
            self.objects[dispute["id"]] = dispute
            charge["disputed"] = True
            self.emit("charge.dispute.created", dispute)
            self.emit("charge.dispute.funds_withdrawn", dispute)
            return dispute

    def close_dispute(self, ident: str, outcome: str) -> dict[str, Any]:
        if outcome not in ("won", "lost"):
            raise invalid("outcome: won or lost", param="outcome")
        with self.lock:
            dispute = self.get("dispute", ident, "dispute")
            if dispute["status"] not in OPEN_DISPUTES:
                raise invalid(f"Dispute {ident} is already closed ({dispute['status']}).")
            previous = {"status": dispute["status"]}
            dispute["status"] = outcome
            dispute["evidence_details"]["due_by"] = None
            self.emit("charge.dispute.closed", dispute, previous)
            if outcome == "won":
                self.emit("charge.dispute.funds_reinstated", dispute)
            return dispute

    # --- the balance and webhook endpoints ----------------------------------------------------

    def balance(self) -> dict[str, Any]:
        totals: dict[str, int] = {}
        with self.lock:
            for obj in self.objects.values():
                kind = obj.get("object")
                sign = 0
                if kind == "charge" and obj["paid"]:
                    sign = 1
                elif kind == "refund":
                    sign = -1 if obj["status"] == "succeeded" else 0
                elif kind == "dispute":
                    sign = -1 if obj["status"] != "won" else 0
                if sign:
                    totals[obj["currency"]] = totals.get(obj["currency"], 0) + sign * obj["amount"]
        funds = [{"amount": v, "currency": k} for k, v in sorted(totals.items())] or [
            {"amount": 0, "currency": "usd"}
        ]
        return {
            "object": "balance",
            "available": funds,
            "livemode": False,
            "pending": [{"amount": 0, "currency": f["currency"]} for f in funds],
        }

    def add_endpoint(
        self, url: str, events: list[str], secret: str = "", ident: str = ""
    ) -> dict[str, Any]:
        endpoint: dict[str, Any] = {
            "id": ident or new_id("we"),
            "object": "webhook_endpoint",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "description": None,
            "enabled_events": events,
            "livemode": False,
            "metadata": {},
            "secret": secret or "whsec_" + secrets.token_hex(16),
            "status": "enabled",
            "url": url,
        }
        with self.lock:
            self.objects[endpoint["id"]] = endpoint
        return endpoint

    def create_endpoint(self, p: Params) -> dict[str, Any]:
        p.only("url", "enabled_events", "description", "metadata", "api_version")
        url = p.text("url", required=True)
        if not url.startswith(("http://", "https://")):
            raise invalid("Invalid URL: " + url, param="url", code="url_invalid")
        events = p.strings("enabled_events")
        if not events:
            raise invalid(
                "Missing required param: enabled_events.",
                param="enabled_events",
                code="parameter_missing",
            )
        return self.add_endpoint(url, events)

    def delete_endpoint(self, ident: str) -> dict[str, Any]:
        with self.lock:
            self.get("webhook_endpoint", ident)
            del self.objects[ident]
        return {"id": ident, "object": "webhook_endpoint", "deleted": True}
