"""The fake NOWPayments' books: invoices, the payments made on them, and every IPN sent.

An invoice is what the merchant creates (`POST /v1/invoice`); a payment is made on it when
the payer picks a coin on the invoice's page (the deposit address and the amount in that
coin); the payment's status then moves as the coin arrives:

    waiting -> confirming -> confirmed -> sending -> finished | partially_paid
    waiting -> expired;  any -> failed;  finished | partially_paid -> refunded

and each change is told to the invoice's `ipn_callback_url` (an IPN, signed), in order and
before the request that made the change is answered (so a test reads them all at once).

Where the documentation is silent the fake chooses: one payment per invoice (a second pick
of a coin while it waits gives the same payment); invoices themselves never expire (the help
centre: invoices are "timeless"), their payments do; no IPN is sent after a payment expired
(the reference: "no callbacks are sent after a payment expires"), so paying an expired
payment is refused by the controls; a failed delivery is not retried by itself (the
dashboard's "recurrent notifications" are off), `replay` sends one again.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from propdesk.wallet.providers.fakes.nowpayments.basics import (
    COINS,
    FIAT_IN_USD,
    ApiError,
    Coin,
    dumps,
    fiat_in_usd,
    invalid,
    now_iso,
    pay_amount,
    read_amount,
    sign,
    truncate,
)

STATUSES = (
    "waiting",
    "confirming",
    "confirmed",
    "sending",
    "partially_paid",
    "finished",
    "failed",
    "refunded",
    "expired",
    # A firm's own mark on a partially paid payment, at the dashboard (the help centre,
    # https://nowpayments.zendesk.com/hc/en-us/articles/18395434917149-Payment-statuses).
    "cancelled",
)
FINAL = ("finished", "partially_paid", "failed", "refunded", "expired", "cancelled")
IPN_TIMEOUT = 3.0  # the help centre: the endpoint "shall respond within 3000 ms"
URL_FIELDS = ("ipn_callback_url", "success_url", "cancel_url", "partially_paid_url")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_DECIMALS = (
    "price_amount",
    "pay_amount",
    "actually_paid",
    "actually_paid_at_fiat",
    "outcome_amount",
)


def _valid_uri(value: str) -> bool:
    return value.startswith(("http://", "https://")) and " " not in value and "|" not in value


class Book:
    def __init__(self, url: str, ipn_secret: str, state_file: Path | None = None) -> None:
        self.url = url  # where the fake listens (the invoice pages' address)
        self.ipn_secret = ipn_secret
        self.state_file = state_file
        self.lock = threading.RLock()
        self.invoices: dict[str, dict[str, Any]] = {}
        self.payments: dict[int, dict[str, Any]] = {}
        self.ipns: list[dict[str, Any]] = []
        self.next_invoice = 4_000_000_001
        self.next_payment = 5_000_000_001
        self._load()

    # --- state ------------------------------------------------------------------------------

    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        data = json.loads(self.state_file.read_text(), parse_float=Decimal)
        for invoice in data.get("invoices", []):
            invoice["price_amount"] = Decimal(str(invoice["price_amount"]))
            self.invoices[invoice["id"]] = invoice
        for payment in data.get("payments", []):
            for key in _DECIMALS:
                payment[key] = Decimal(str(payment[key]))
            self.payments[int(payment["payment_id"])] = payment
        self.ipns = data.get("ipns", [])
        self.next_invoice = int(data.get("next_invoice", self.next_invoice))
        self.next_payment = int(data.get("next_payment", self.next_payment))

    def save(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            text = dumps(
                {
                    "invoices": list(self.invoices.values()),
                    "payments": list(self.payments.values()),
                    "ipns": self.ipns,
                    "next_invoice": self.next_invoice,
                    "next_payment": self.next_payment,
                }
            )
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.state_file)

    def reset(self) -> None:
        with self.lock:
            self.invoices.clear()
            self.payments.clear()
            self.ipns.clear()
        self.save()

    # --- invoices ---------------------------------------------------------------------------

    def create_invoice(self, body: Any) -> dict[str, Any]:
        """`POST /v1/invoice`, validated as the API does (required price, known currencies,
        valid URIs, the pair's minimum)."""
        if not isinstance(body, dict):
            raise invalid("body must be an object")
        price = read_amount(body.get("price_amount"), "price_amount")
        currency = body.get("price_currency")
        if not isinstance(currency, str) or not currency:
            raise invalid("price_currency is required")
        currency = currency.lower()
        if currency not in FIAT_IN_USD and currency not in COINS:
            raise ApiError(400, "CURRENCY_UNAVAILABLE", f"Currency {currency} is unavailable")
        if currency in COINS:
            # A price in a coin is allowed by the API; the fake keeps to fiat prices.
            raise ApiError(400, "CURRENCY_UNAVAILABLE", f"Currency {currency} is unavailable")
        coin_code = body.get("pay_currency")
        coin: Coin | None = None
        if coin_code not in (None, ""):
            if not isinstance(coin_code, str) or coin_code.lower() not in COINS:
                raise ApiError(400, "CURRENCY_UNAVAILABLE", f"Currency {coin_code} is unavailable")
            coin = COINS[coin_code.lower()]
        for key in ("order_id", "order_description"):
            if body.get(key) is not None and not isinstance(body.get(key), str):
                raise invalid(f"{key} must be a string")
        for key in URL_FIELDS:
            value = body.get(key)
            if value in (None, ""):
                continue
            if not isinstance(value, str) or not _valid_uri(value):
                raise invalid(f"{key} must be a valid uri")
        worth = fiat_in_usd(price, currency)
        floor = coin.min_usd if coin else min(c.min_usd for c in COINS.values())
        if worth < floor:
            # The API's minimum per pair (GET /v1/min-amount); its message is not documented.
            raise ApiError(400, "AMOUNT_MINIMAL_ERROR", "amountTo is too small")
        with self.lock:
            invoice_id = str(self.next_invoice)
            self.next_invoice += 1
            stamp = now_iso()
            invoice = {
                "id": invoice_id,
                "token_id": str(self.next_invoice + 1_000_000_000),
                "order_id": body.get("order_id"),
                "order_description": body.get("order_description"),
                "price_amount": price,
                "price_currency": currency,
                "pay_currency": coin.code if coin else None,
                "ipn_callback_url": body.get("ipn_callback_url") or None,
                "invoice_url": f"{self.url}/payment/?iid={invoice_id}",
                "success_url": body.get("success_url") or None,
                "cancel_url": body.get("cancel_url") or None,
                "customer_email": None,
                "partially_paid_url": body.get("partially_paid_url") or None,
                "payout_currency": None,
                "created_at": stamp,
                "updated_at": stamp,
                "is_fixed_rate": bool(body.get("is_fixed_rate", False)),
                "is_fee_paid_by_user": bool(body.get("is_fee_paid_by_user", False)),
            }
            self.invoices[invoice_id] = invoice
        self.save()
        return invoice_view(invoice)

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        invoice = self.invoices.get(str(invoice_id))
        if invoice is None:
            raise ApiError(404, "INVOICE_NOT_FOUND", f"Invoice {invoice_id} not found")
        return invoice

    def invoice_by_order(self, order_id: str) -> dict[str, Any]:
        found = [i for i in self.invoices.values() if i["order_id"] == order_id]
        if not found:
            raise ApiError(404, "INVOICE_NOT_FOUND", f"No invoice for order {order_id}")
        return found[-1]

    def payment_of(self, invoice_id: str) -> dict[str, Any] | None:
        for payment in self.payments.values():
            if payment["invoice_id"] == int(invoice_id):
                return payment
        return None

    # --- payments ---------------------------------------------------------------------------

    def pick_coin(self, invoice_id: str, coin_code: str) -> dict[str, Any]:
        """The payer picked a coin on the invoice's page: its payment, waiting."""
        with self.lock:
            invoice = self.invoice(invoice_id)
            existing = self.payment_of(invoice_id)
            if existing is not None:
                return existing
            code = (invoice["pay_currency"] or coin_code or "").lower()
            coin = COINS.get(code)
            if coin is None:
                raise ApiError(400, "CURRENCY_UNAVAILABLE", f"Currency {code} is unavailable")
            if fiat_in_usd(invoice["price_amount"], invoice["price_currency"]) < coin.min_usd:
                raise ApiError(400, "AMOUNT_MINIMAL_ERROR", "amountTo is too small")
            payment_id = self.next_payment
            self.next_payment += 1
            stamp = now_iso()
            asked = pay_amount(invoice["price_amount"], invoice["price_currency"], coin)
            payment = {
                "payment_id": payment_id,
                "invoice_id": int(invoice["id"]),
                "payment_status": "waiting",
                "pay_address": f"fake{coin.code}{payment_id:x}",
                "payin_extra_id": None,
                "price_amount": invoice["price_amount"],
                "price_currency": invoice["price_currency"],
                "pay_amount": asked,
                "actually_paid": Decimal(0),
                "actually_paid_at_fiat": Decimal(0),
                "pay_currency": coin.code,
                "order_id": invoice["order_id"],
                "order_description": invoice["order_description"],
                "purchase_id": str(payment_id + 1_000_000_000),
                "outcome_amount": asked,
                "outcome_currency": coin.code,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.payments[payment_id] = payment
        self._tell(payment)
        return payment

    def payment(self, payment_id: Any) -> dict[str, Any]:
        try:
            key = int(str(payment_id))
        except ValueError:
            raise invalid("paymentID must be a number") from None
        payment = self.payments.get(key)
        if payment is None:
            raise ApiError(404, "PAYMENT_NOT_FOUND", f"Payment {payment_id} not found")
        return payment

    def pay(self, payment: dict[str, Any], amount: Decimal, *, settle: bool) -> None:
        """Coins arrive at the payment's address: confirming, and (settled) on through
        confirmed and sending to finished (all of it, or more) or partially_paid."""
        with self.lock:
            if payment["payment_status"] not in ("waiting", "confirming"):
                raise ApiError(
                    409,
                    "PAYMENT_CLOSED",
                    f"Payment {payment['payment_id']} is {payment['payment_status']}",
                )
            coin = COINS[payment["pay_currency"]]
            payment["actually_paid"] = truncate(payment["actually_paid"] + amount, coin.decimals)
            share = payment["actually_paid"] / payment["pay_amount"]
            payment["actually_paid_at_fiat"] = truncate(payment["price_amount"] * share, 2)
            payment["outcome_amount"] = payment["actually_paid"]
        self.move(payment, "confirming")
        if settle:
            self.settle(payment)

    def redeposit(self, parent: dict[str, Any], amount: Decimal) -> dict[str, Any]:
        """Coins sent again to the address of a payment that was already paid (whole or in
        part): the reference's "Repeated Deposits" (https://documenter.getpostman.com/view/
        7907941/2s93JusNJt): a payment of its own, at the rate of the moment, in the same
        coin, naming the original as `parent_payment_id`, marked partially paid (the default
        the integration guide advises; "Finished" is the other choice). The documented
        example has no invoice_id and no order_id: so has the fake's."""
        with self.lock:
            if parent["payment_status"] not in ("finished", "partially_paid"):
                raise ApiError(409, "NOT_PAID", f"Payment {parent['payment_id']} was not paid yet")
            coin = COINS[parent["pay_currency"]]
            sent = truncate(amount, coin.decimals)
            worth = truncate(sent * coin.usd / FIAT_IN_USD[parent["price_currency"]], 2)
            payment_id = self.next_payment
            self.next_payment += 1
            stamp = now_iso()
            payment = {
                **parent,
                "payment_id": payment_id,
                "parent_payment_id": parent["payment_id"],
                "invoice_id": None,
                "order_id": None,
                "order_description": None,
                "payment_status": "partially_paid",
                "price_amount": worth,
                "pay_amount": sent,
                "actually_paid": sent,
                "actually_paid_at_fiat": worth,
                "outcome_amount": sent,
                "purchase_id": str(payment_id + 1_000_000_000),
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.payments[payment_id] = payment
        self.save()
        self._tell(payment, url_of=parent)
        return payment

    def settle(self, payment: dict[str, Any]) -> None:
        for status in ("confirmed", "sending"):
            self.move(payment, status)
        whole = payment["actually_paid"] >= payment["pay_amount"]
        self.move(payment, "finished" if whole else "partially_paid")

    def move(self, payment: dict[str, Any], status: str) -> None:
        if status not in STATUSES:
            raise invalid(f"status must be one of {', '.join(STATUSES)}")
        with self.lock:
            if payment["payment_status"] == "expired":
                raise ApiError(409, "PAYMENT_CLOSED", f"Payment {payment['payment_id']} is expired")
            if payment["payment_status"] == status:
                return
            payment["payment_status"] = status
            payment["updated_at"] = now_iso()
        self.save()
        self._tell(payment)  # the expiry itself is told; nothing after it

    # --- IPNs -------------------------------------------------------------------------------

    def _tell(self, payment: dict[str, Any], *, url_of: dict[str, Any] | None = None) -> None:
        invoice = self.invoices.get(str((url_of or payment)["invoice_id"]))
        url = invoice["ipn_callback_url"] if invoice else None
        if not url:
            return
        body = ipn_view(payment)
        text = dumps(body)  # in the API's order (payment_id first); signed sorted
        record = {
            "index": len(self.ipns),
            "url": url,
            "payment_id": payment["payment_id"],
            "payment_status": payment["payment_status"],
            "body": text,
            "signature": sign(body, self.ipn_secret),
            "sent_at": now_iso(),
        }
        with self.lock:
            self.ipns.append(record)
        self.deliver(record)

    def deliver(self, record: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310  (the merchant's configured URL)
            record["url"],
            data=record["body"].encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "x-nowpayments-sig": record["signature"],
                "User-Agent": "FakeNOWPayments-IPN",
            },
        )
        try:
            with _NO_PROXY.open(request, timeout=IPN_TIMEOUT) as answer:
                record["answered"] = answer.status
        except urllib.error.HTTPError as refused:
            record["answered"] = refused.code
        except (OSError, ValueError) as failure:
            record["answered"] = None
            record["error"] = str(failure)
        record["attempts"] = int(record.get("attempts", 0)) + 1
        self.save()


def invoice_view(invoice: dict[str, Any]) -> dict[str, Any]:
    """`POST /v1/invoice`'s answer: the invoice, its price as a string (as the API gives it)."""
    view = dict(invoice)
    view["price_amount"] = str(invoice["price_amount"])
    return view


def payment_view(payment: dict[str, Any]) -> dict[str, Any]:
    """`GET /v1/payment/{id}`'s answer, and an IPN's body."""
    return {
        key: payment[key]
        for key in (
            "payment_id",
            "invoice_id",
            "payment_status",
            "pay_address",
            "payin_extra_id",
            "price_amount",
            "price_currency",
            "pay_amount",
            "actually_paid",
            "actually_paid_at_fiat",
            "pay_currency",
            "order_id",
            "order_description",
            "purchase_id",
            "outcome_amount",
            "outcome_currency",
            "created_at",
            "updated_at",
        )
    }


def ipn_view(payment: dict[str, Any]) -> dict[str, Any]:
    """An IPN's body: the payment as `GET /v1/payment/{id}` gives it, with what the
    reference's "Webhooks Examples" add (https://documenter.getpostman.com/view/7907941/
    2s93JusNJt): `parent_payment_id` (a re-deposit's original payment; none here),
    `payment_extra_ids`, and a nested `fee` object. The fake charges no fees: all are 0."""
    view = payment_view(payment)
    body: dict[str, Any] = {
        "payment_id": view.pop("payment_id"),
        "parent_payment_id": payment.get("parent_payment_id"),
    }
    body.update(view)
    body["payment_extra_ids"] = None
    body["fee"] = {
        "currency": payment["pay_currency"],
        "depositFee": Decimal(0),
        "withdrawalFee": Decimal(0),
        "serviceFee": Decimal(0),
    }
    return body
