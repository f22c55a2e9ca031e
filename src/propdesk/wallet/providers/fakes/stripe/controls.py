"""The fake-only controls under `/_fake/` (no key, no limit; JSON in and out): playing the
customer, the cardholder's bank and the Dashboard, and ordering faults. See the package's
docstring for the list."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from propdesk.wallet.providers.fakes.stripe.errors import StripeError, invalid, no_such

if TYPE_CHECKING:
    from propdesk.wallet.providers.fakes.stripe.server import FakeStripe

Control = Callable[["FakeStripe", str, dict[str, Any]], tuple[int, Any]]


def _number(body: dict[str, Any], key: str, default: float | None = None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid(f"{key}: a number of at least 0", param=key)
    return float(value)


def _pay(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    number = str(body.get("card") or "4242424242424242")
    session = fake.book.pay(ident, number, str(body.get("email") or ""))
    return 200, fake.book._public(session)


def _charge_of(fake: FakeStripe, ident: str) -> dict[str, Any]:
    if ident.startswith("pi_"):
        intent = fake.book.get("payment_intent", ident, "payment_intent")
        ident = intent["latest_charge"] or ""
        if not ident:
            raise no_such("charge", "(none: the payment intent is not paid)", "payment_intent")
    return fake.book.get("charge", ident, "charge")


def _dispute(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    charge = _charge_of(fake, ident)
    amount = body.get("amount")
    if amount is not None and (not isinstance(amount, int) or amount <= 0):
        raise invalid("amount: a positive integer (minor units)", param="amount")
    reason = str(body.get("reason") or "fraudulent")
    return 200, fake.book.open_dispute(charge["id"], reason, amount)


def _close(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book.close_dispute(ident, str(body.get("outcome") or ""))


def _refund(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    """A refund made in the Dashboard (not through the API)."""
    charge = _charge_of(fake, str(body.get("payment_intent") or body.get("charge") or ""))
    amount = body.get("amount")
    if amount is not None and (not isinstance(amount, int) or amount <= 0):
        raise invalid("amount: a positive integer (minor units)", param="amount")
    return 200, fake.book.refund_charge(charge, amount, "requested_by_customer")


def _events(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    with fake.book.lock:
        return 200, {
            "events": [
                {"event": e, "deliveries": fake.book.deliveries.get(e["id"], [])}
                for e in fake.book.events
            ]
        }


def _replay(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    fake.book.get("event", ident)
    return 200, {"resent_to": fake.sender.replay(ident)}


def _endpoint(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    url = str(body.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise invalid("url: an http(s) address", param="url")
    endpoint = fake.configure_endpoint(url, str(body.get("secret") or ""))
    return 200, endpoint


def _fault(kind: str) -> Control:
    def order(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
        count = int(_number(body, "count", 1))
        fake.faults.add(
            kind,
            count,
            status=int(_number(body, "status", 500)),
            seconds=_number(body, "seconds", 0),
            method=str(body.get("method") or ""),
            path=str(body.get("path") or ""),
        )
        return 200, {kind: count}

    return order


def _down(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    seconds = _number(body, "seconds")
    threading.Timer(0.05, fake.go_down, args=(seconds,)).start()  # answer first
    return 200, {"down_for": seconds}


def _finish_refund(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book.finish_refund(ident, failed=body.get("outcome") == "failed")


def _settle(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"settled": fake.settle()}


def _reset(fake: FakeStripe, ident: str, body: dict[str, Any]) -> tuple[int, Any]:
    fake.book.reset()
    fake.faults.clear()
    return 200, {"reset": True}


_ID = r"(?P<id>[A-Za-z0-9_]+)"
CONTROLS: list[tuple[str, re.Pattern[str], Control]] = [
    (m, re.compile(p + r"\Z"), c)
    for m, p, c in [
        ("POST", rf"/_fake/checkout/sessions/{_ID}/pay", _pay),
        ("POST", rf"/_fake/charges/{_ID}/dispute", _dispute),
        ("POST", rf"/_fake/disputes/{_ID}/close", _close),
        ("POST", r"/_fake/refunds", _refund),
        ("POST", rf"/_fake/refunds/{_ID}/finish", _finish_refund),
        ("GET", r"/_fake/events", _events),
        ("POST", rf"/_fake/events/{_ID}/replay", _replay),
        ("POST", r"/_fake/webhook_endpoint", _endpoint),
        ("POST", r"/_fake/fail", _fault("fail")),
        ("POST", r"/_fake/delay", _fault("delay")),
        ("POST", r"/_fake/down", _down),
        ("GET", r"/_fake/settle", _settle),
        ("POST", r"/_fake/reset", _reset),
    ]
]


def control(fake: FakeStripe, method: str, path: str, raw: bytes) -> tuple[int, Any]:
    try:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise invalid("The control's body is not JSON.") from None
        if not isinstance(body, dict):
            raise invalid("The control's body is a JSON object.")
        for m, pattern, action in CONTROLS:
            found = pattern.match(path)
            if m == method and found:
                answer = action(fake, found.groupdict().get("id") or "", body)
                fake.book.save()
                return answer
        raise invalid(f"No control {method} {path}", status=404)
    except StripeError as refused:
        return refused.status, refused.body()
