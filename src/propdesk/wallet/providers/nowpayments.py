"""NOWPayments (crypto): a hosted invoice the client pays in the coin of their choice, told by
signed IPNs and confirmed by asking for the payment.

- `start_checkout` creates an invoice (`POST /v1/invoice`) for the payment's fiat price, our
  reference as its `order_id`, and sends the client to its `invoice_url`.
- `parse_webhook` checks an IPN's `x-nowpayments-sig`: HMAC-SHA512, keyed with the IPN
  secret, of the JSON body with its keys sorted, as NOWPayments specifies
  (https://documenter.getpostman.com/view/7907941/2s93JusNJt, "Instant Payments
  Notifications"; https://nowpayments.zendesk.com/hc/en-us/articles/21395546303389).
- `confirm` asks `GET /v1/payment/{payment_id}` and says what was received in the invoice's
  fiat currency; the IPN's body is never believed.

NOWPayments has no refund API for payments (the help centre: partially paid payments are not
refunded) and crypto payments cannot be charged back: `refunds` and `disputes` are False.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, ClassVar

from propdesk.core.money import is_currency, quantum
from propdesk.core.outbound import OPENER, read_bounded
from propdesk.wallet.providers.protocol import (
    BadWebhook,
    Checkout,
    CheckoutRequest,
    Dispute,
    Field,
    Notice,
    NoticeKind,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
    Refund,
    State,
    Status,
    settings_of,
)

DEFAULT_API_URL = "https://api.nowpayments.io"
TIMEOUT = 15.0
MAX_IPN_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 1_000_000


_RETRYABLE = (408, 425, 429)
_HEX_SHA512 = re.compile(r"[0-9a-f]{128}")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]*")  # printable ASCII, no space or control

# NOWPayments' statuses (the reference's list) as propdesk's states.
STATES: dict[str, State] = {
    "waiting": State.OPEN,  # nothing sent yet
    "confirming": State.OPEN,  # seen on the chain, not yet confirmed: not received yet
    "confirmed": State.OPEN,
    "sending": State.OPEN,  # on its way to the firm's wallet
    "partially_paid": State.PARTIALLY_PAID,  # final: less than asked arrived
    "finished": State.PAID,  # all of it (or more)
    "failed": State.FAILED,
    "refunded": State.REFUNDED,
    "expired": State.EXPIRED,
    # The help centre's "additional custom status" a firm may give a partially paid payment
    # at the dashboard (https://nowpayments.zendesk.com/hc/en-us/articles/18395434917149):
    # the coins did arrive and are not given back by NOWPayments (the firm owes that by
    # hand), so it still counts what arrived, as partially paid.
    "cancelled": State.PARTIALLY_PAID,
}


class NowPaymentsProvider:
    kind: ClassVar[str] = "nowpayments"
    label: ClassVar[str] = "NOWPayments (crypto)"
    fields: ClassVar[tuple[Field, ...]] = (
        Field(
            "api_key",
            "API key",
            secret=True,
            help="Dashboard, Settings, Payments, API keys.",
        ),
        Field(
            "ipn_secret",
            "IPN secret",
            secret=True,
            help="Dashboard, Settings, Payments, Instant payment notifications "
            "(shown once when generated).",
        ),
        Field(
            "api_url",
            "API base URL",
            default=DEFAULT_API_URL,
            help="https://api.nowpayments.io (the sandbox: https://api-sandbox.nowpayments.io).",
        ),
    )
    refunds: ClassVar[bool] = False
    disputes: ClassVar[bool] = False

    def __init__(self, values: Mapping[str, str], *, timeout: float = TIMEOUT) -> None:
        settings = settings_of(values, self.fields)
        self.api_key = settings["api_key"].strip()
        self.ipn_secret = settings["ipn_secret"].strip()
        self.api_url = settings["api_url"].strip().rstrip("/") or DEFAULT_API_URL
        self.timeout = timeout

    # --- checkout ---------------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> Checkout:
        """Create the invoice. NOWPayments takes no idempotency key: a retry after a lost
        answer creates a second invoice with the same `order_id`. That is accepted: only the
        invoice whose answer arrived is shown to the client, the other is never paid, and
        every payment is matched by the invoice id the API gives back in `confirm` (and
        carries our reference as its `order_id`)."""
        body = {
            "price_amount": _number(request.amount),
            "price_currency": request.currency.lower(),
            "order_id": request.reference,
            "order_description": request.description[:255],
            "ipn_callback_url": request.webhook_url,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            # A partial payment is final at NOWPayments: the client comes back to our page,
            # where the purchase waits with what arrived credited to the wallet.
            "partially_paid_url": request.success_url,
        }
        answer = self._call("POST", "/v1/invoice", body)
        invoice_id = str(answer.get("id") or "") if isinstance(answer, dict) else ""
        url = answer.get("invoice_url") if isinstance(answer, dict) else None
        if not invoice_id or not isinstance(url, str) or not url.startswith("http"):
            raise ProviderUnavailable(
                "NOWPayments answered the invoice without an id or a page",
                body=json.dumps(answer, default=str)[:2000],
            )
        if str(answer.get("order_id") or "") != request.reference:
            raise ProviderRefused(
                "NOWPayments answered with an invoice for another order",
                body=json.dumps(answer, default=str)[:2000],
            )
        return Checkout(provider_ref=invoice_id, url=url, expires_at=None, raw=answer)

    # --- IPNs -------------------------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Notice:
        if not self.ipn_secret:
            raise BadWebhook("No IPN secret is set for NOWPayments")
        if len(body) > MAX_IPN_BYTES:
            raise BadWebhook("The IPN is too large")
        given = _header(headers, "x-nowpayments-sig").strip().lower()
        if not given:
            raise BadWebhook("The IPN carries no x-nowpayments-sig")
        if not _HEX_SHA512.fullmatch(given):
            raise BadWebhook("The IPN's x-nowpayments-sig is not an HMAC-SHA512")
        try:
            data = json.loads(body, parse_float=_Literal, parse_int=_Literal)
            forms = _signed_forms(data) if isinstance(data, dict) else []
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: nesting deeper than the parser (or the signed forms) can follow,
            # sent by anyone (the signature is checked after parsing): refused, never a 500.
            raise BadWebhook("The IPN is not JSON") from None
        if not isinstance(data, dict):
            raise BadWebhook("The IPN is not a JSON object")
        if not any(hmac.compare_digest(given, self._sign(text)) for text in forms):
            raise BadWebhook("The IPN's signature does not verify")
        payment_id = str(data.get("payment_id") or "").strip()
        status = data.get("payment_status")
        if not _is_id(payment_id) or not isinstance(status, str) or not status:
            raise BadWebhook("The IPN names no payment or no status")
        invoice_id = str(data.get("invoice_id") or "")
        paid = str(data.get("actually_paid") or "0")
        parent = str(data.get("parent_payment_id") or "")
        if _is_id(parent):
            # A repeated deposit (coins sent again to a paid payment's address) is a payment
            # of its own, at the rate of the moment, naming the original; NOWPayments advises
            # against acting on it automatically (https://documenter.getpostman.com/view/
            # 7907941/2s93JusNJt, "Repeated Deposits and Wrong-Asset Deposits"). It is told
            # as news about the original payment (so it is kept with that checkout for staff),
            # the new payment as `object_id`, and moves no money by itself: `confirm` on the
            # checkout's payment does not count it.
            return Notice(
                event_id=f"{payment_id}:{status}:{paid}",
                kind=NoticeKind.OTHER,
                type=f"repeated deposit ({status})",
                provider_ref=invoice_id if _is_id(invoice_id) else "",
                payment_id=parent,
                object_id=payment_id,
                raw=json.loads(body),
            )
        return Notice(
            # One status of one payment with what had arrived: a repeated IPN is the same
            # event (handled once); more coins on the same status are a new one.
            event_id=f"{payment_id}:{status}:{paid}",
            kind=NoticeKind.PAYMENT,
            type=status,
            provider_ref=invoice_id if _is_id(invoice_id) else "",
            payment_id=payment_id,
            raw=json.loads(body),
        )

    def _sign(self, text: str) -> str:
        return hmac.new(self.ipn_secret.encode(), text.encode(), hashlib.sha512).hexdigest()

    # --- asking -----------------------------------------------------------------------------

    def confirm(self, notice: Notice) -> Status:
        if not _is_id(notice.payment_id):
            # An invoice alone cannot be asked about with the API key (listing its payments
            # needs the account's login token): the payment id comes from the first IPN.
            raise ProviderRefused(
                "NOWPayments is asked by payment id, from its IPN: none is known yet for "
                f"invoice {notice.provider_ref or '(none)'}"
            )
        payment = self._call("GET", f"/v1/payment/{notice.payment_id}")
        if not isinstance(payment, dict):
            raise ProviderUnavailable("NOWPayments answered the payment with no object")
        invoice_id = str(payment.get("invoice_id") or "")
        if notice.provider_ref and invoice_id != notice.provider_ref:
            # Never another checkout's money told as this one's (a payment id stored wrongly,
            # or a re-deposit NOWPayments made a payment of its own, outside the invoice).
            raise ProviderRefused(
                f"NOWPayments' payment {notice.payment_id} is not of invoice "
                f"{notice.provider_ref} (its invoice: {invoice_id or 'none'})",
                body=json.dumps(payment, default=str)[:4000],
            )
        return status_of(payment)

    def status(self, provider_ref: str) -> Status | None:
        """An invoice cannot be asked about with the API key alone (the payments list by
        invoice needs the account's login token): the IPNs and `confirm` tell."""
        return None

    def refund(
        self, payment_id: str, amount: Decimal, currency: str, *, idempotency_key: str
    ) -> Refund:
        raise ProviderRefused("NOWPayments has no refund API: refund the payer by hand")

    def dispute(self, dispute_id: str) -> Dispute:
        raise ProviderRefused("Crypto payments cannot be disputed")

    def test_connection(self) -> str:
        if not self.api_key:
            raise ProviderRefused("No API key is set")
        if not self.ipn_secret:
            raise ProviderRefused("No IPN secret is set: NOWPayments sends no IPN without one")
        state = self._call("GET", "/v1/status")
        message = state.get("message") if isinstance(state, dict) else None
        if message != "OK":
            raise ProviderUnavailable(f"NOWPayments says it is not OK: {message!r}")
        coins = self._call("GET", "/v1/currencies")
        count = len(coins.get("currencies") or []) if isinstance(coins, dict) else 0
        return f"NOWPayments is OK and accepts the API key ({count} coins available)."

    # --- HTTP -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        if not _HEADER_SAFE.fullmatch(self.api_key):
            # http.client would refuse the header with the key's value in its message, which
            # is then shown to staff and logged: told apart here, the key never repeated.
            raise ProviderRefused(
                "The API key has characters an HTTP header cannot carry (paste it again)"
            )
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310  (the configured http(s) address)
            self.api_url + path,
            data=data,
            method=method,
            headers={
                "x-api-key": self.api_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with OPENER.open(request, timeout=self.timeout) as answer:
                raw = read_bounded(answer, MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as refused:
            text = refused.read(4000).decode("utf-8", "replace")
            reason = _message(text) or f"HTTP {refused.code}"
            message = f"NOWPayments refused {method} {path}: {reason}"
            if refused.code >= 500 or refused.code in _RETRYABLE:
                raise ProviderUnavailable(message, status=refused.code, body=text) from None
            raise ProviderRefused(message, status=refused.code, body=text) from None
        except OSError as failure:  # refused, reset, timed out
            raise ProviderUnavailable(f"NOWPayments not reached: {failure}") from None
        except ValueError:  # a bad address (its text may quote the request: not repeated)
            raise ProviderUnavailable(
                f"NOWPayments not reached: the API base URL {self.api_url!r} is not valid"
            ) from None
        if raw is None:
            raise ProviderUnavailable(f"NOWPayments answered {method} {path} with too much")
        text = raw.decode("utf-8", "replace")
        try:
            return json.loads(text, parse_float=Decimal)
        except (ValueError, RecursionError):
            raise ProviderUnavailable(
                f"NOWPayments answered {method} {path} with no JSON", body=text[:4000]
            ) from None


def status_of(payment: Mapping[str, Any]) -> Status:
    """What a payment (`GET /v1/payment/{id}`) says was received, in the invoice's currency.

    finished: the price, or more when more coins arrived than asked; partially_paid: the
    price times actually_paid / pay_amount (the same rate the invoice was priced at),
    rounded down to the currency's cents; refunded: what had arrived, all of it given back;
    anything else: nothing yet (or nothing at all).
    (The reference's own example of a list of payments has a finished one with actually_paid
    180 for a pay_amount of 165.652609: more than asked is still finished.)"""
    currency = str(payment.get("price_currency") or "").upper()
    if not is_currency(currency):
        raise ProviderRefused(f"NOWPayments priced the payment in {currency!r}")
    raw_status = str(payment.get("payment_status") or "")
    # An unknown status moves nothing: it is read as still open.
    state = STATES.get(raw_status, State.OPEN)
    price = _decimal(payment.get("price_amount"))
    asked = _decimal(payment.get("pay_amount"))
    paid = _decimal(payment.get("actually_paid"))
    worth = price * paid / asked if asked > 0 else Decimal(0)
    cents = quantum(currency)
    refunded = Decimal(0)
    if state is State.PAID:
        received = max(price, worth)
    elif state is State.PARTIALLY_PAID:
        received = min(worth, price)
    elif state is State.REFUNDED:
        # What had arrived went back whole (NOWPayments, at the firm's request by hand).
        received = refunded = worth
    else:
        received = Decimal(0)
    received = received.quantize(cents, rounding=ROUND_DOWN)
    refunded = refunded.quantize(cents, rounding=ROUND_DOWN)
    return Status(
        provider_ref=str(payment.get("invoice_id") or ""),
        state=state,
        received=received,
        currency=currency,
        payment_id=str(payment.get("payment_id") or ""),
        raw=dict(payment),
        refunded=refunded,
    )


# --- helpers -----------------------------------------------------------------------------


class _Literal(str):
    """A JSON number kept as it was written (signatures are over the sender's digits)."""


def _signed_forms(data: dict[str, Any]) -> list[str]:
    """The strings NOWPayments may have signed, each tried (all need the IPN secret):

    - the reference today (https://documenter.getpostman.com/view/7907941/2s93JusNJt,
      "Instant Payments Notifications"): every level sorted (its Node `sortObject`, its Python
      `json.dumps(..., separators=(",", ":"), sort_keys=True)`, its PHP `tksort` with
      `json_encode(..., JSON_UNESCAPED_SLASHES)`), non-ASCII as is or as \\u escapes;
    - the reference before (and the libraries that copied it): `JSON.stringify(params,
      Object.keys(params).sort())`. A replacer *array* applies at every level: a nested
      object (the documented `fee`) keeps only the keys that are also top-level keys, in that
      order (`"fee":{}` for `fee`'s currency, depositFee...);
    - its PHP example then: the top level `ksort`ed only, `json_encode`d ("/" as "\\/")."""
    forms: list[str] = []
    for deep in (False, True):
        for ascii_only in (False, True):
            text = _dump(data, deep=deep, ascii_only=ascii_only)
            forms.append(text)
            if ascii_only:
                forms.append(text.replace("/", "\\/"))
    listed = sorted(data)
    forms.append(_dump(data, deep=True, ascii_only=False, only=listed))
    return list(dict.fromkeys(forms))


def _dump(
    value: Any,
    *,
    deep: bool,
    ascii_only: bool,
    top: bool = True,
    only: list[str] | None = None,
) -> str:
    if isinstance(value, dict):
        if only is not None:  # JSON.stringify's replacer array: its keys, in its order
            items = [(k, value[k]) for k in only if k in value]
        else:
            items = sorted(value.items()) if (top or deep) else list(value.items())
        inner = ",".join(
            json.dumps(k, ensure_ascii=ascii_only)
            + ":"
            + _dump(v, deep=deep, ascii_only=ascii_only, top=False, only=only)
            for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return (
            "["
            + ",".join(
                _dump(v, deep=deep, ascii_only=ascii_only, top=False, only=only) for v in value
            )
            + "]"
        )
    if isinstance(value, _Literal):
        return str(value)
    return json.dumps(value, ensure_ascii=ascii_only)


def _is_id(value: str) -> bool:
    """NOWPayments' ids are ASCII digits (`str.isdigit` alone takes "١٢٣" and "²", which
    would then be put in a URL)."""
    return value.isascii() and value.isdigit()


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    if isinstance(data, dict):
        code = data.get("code")
        message = data.get("message")
        return " ".join(str(p) for p in (code, message) if p)
    return ""


def _decimal(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise ProviderRefused(f"NOWPayments gave a non-number {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ProviderRefused(f"NOWPayments gave an amount of {value!r}")
    return amount


def _number(amount: Decimal) -> float | int:
    """The price as a JSON number (the API takes numbers); exact for money's few decimals."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


__all__ = ["NowPaymentsProvider", "ProviderError", "status_of"]
