"""The API's routes in the fake, each one a documented operation:

  POST /v1/checkout/sessions               https://docs.stripe.com/api/checkout/sessions/create
  GET  /v1/checkout/sessions               https://docs.stripe.com/api/checkout/sessions/list
                                           (filtered by payment_intent)
  GET  /v1/checkout/sessions/{id}          https://docs.stripe.com/api/checkout/sessions/retrieve
  POST /v1/checkout/sessions/{id}/expire   https://docs.stripe.com/api/checkout/sessions/expire
  GET  /v1/checkout/sessions/{id}/line_items
                                   https://docs.stripe.com/api/checkout/sessions/line_items
  GET  /v1/payment_intents/{id}            https://docs.stripe.com/api/payment_intents/retrieve
  GET  /v1/charges/{id}                    https://docs.stripe.com/api/charges/retrieve
  POST /v1/refunds, GET /v1/refunds, GET /v1/refunds/{id}   https://docs.stripe.com/api/refunds
  GET  /v1/disputes/{id}, POST /v1/disputes/{id}/close      https://docs.stripe.com/api/disputes
  GET  /v1/balance                         https://docs.stripe.com/api/balance/balance_retrieve
  POST|GET /v1/webhook_endpoints, GET|DELETE /v1/webhook_endpoints/{id}
                                           https://docs.stripe.com/api/webhook_endpoints
  GET  /v1/events, GET /v1/events/{id}     https://docs.stripe.com/api/events

Any other path or method is answered as Stripe answers one: 404 "Unrecognized request URL".
Lists answer every match in one page (`has_more` false; the fake keeps few objects).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from propdesk.wallet.providers.fakes.stripe.book import listing
from propdesk.wallet.providers.fakes.stripe.errors import unrecognized
from propdesk.wallet.providers.fakes.stripe.params import Params

if TYPE_CHECKING:
    from propdesk.wallet.providers.fakes.stripe.server import FakeStripe

Handler = Callable[["FakeStripe", str, dict[str, Any]], tuple[int, Any]]


def _create_session(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    session = fake.book.create_session(Params(data), fake.url)
    return 200, fake.book._public(session)


def _list_sessions(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    p = Params(data)
    p.only("payment_intent", "limit", "starting_after", "ending_before")
    found = fake.book.sessions(p.text("payment_intent"))
    limit = p.integer("limit", minimum=1) or 10
    return 200, listing(
        "/v1/checkout/sessions", [fake.book._public(s) for s in found[: min(limit, 100)]]
    )


def _session(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book._public(fake.book.get("checkout.session", ident, "session"))


def _expire(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book._public(fake.book.expire_session(ident))


def _line_items(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    session = fake.book.get("checkout.session", ident, "session")
    items = [
        {
            "id": f"li_{ident[-12:]}{index}",
            "object": "item",
            "amount_subtotal": item["unit_amount"] * item["quantity"],
            "amount_total": item["unit_amount"] * item["quantity"],
            "currency": session["currency"],
            "description": item["name"],
            "price": {
                "object": "price",
                "currency": session["currency"],
                "unit_amount": item["unit_amount"],
            },
            "quantity": item["quantity"],
        }
        for index, item in enumerate(fake.book.line_items.get(ident, []))
    ]
    return 200, listing(f"/v1/checkout/sessions/{ident}/line_items", items)


def _getter(kind: str, param: str) -> Handler:
    def get(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
        return 200, fake.book.show(fake.book.get(kind, ident, param))

    return get


def _create_refund(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book.create_refund(Params(data))


def _list_refunds(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    p = Params(data)
    p.only("payment_intent", "charge", "limit")
    found = [
        r
        for r in fake.book.all("refund")
        if (not p.text("payment_intent") or r["payment_intent"] == p.text("payment_intent"))
        and (not p.text("charge") or r["charge"] == p.text("charge"))
    ]
    return 200, listing("/v1/refunds", found)


def _close_dispute(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book.close_dispute(ident, "lost")


def _balance(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book.balance()


def _create_endpoint(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book.create_endpoint(Params(data))  # the only answer with the secret


def _list_endpoints(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    found = [fake.book.show(e) for e in fake.book.all("webhook_endpoint")]
    return 200, listing("/v1/webhook_endpoints", found)


def _delete_endpoint(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    return 200, fake.book.delete_endpoint(ident)


def _list_events(fake: FakeStripe, ident: str, data: dict[str, Any]) -> tuple[int, Any]:
    p = Params(data)
    p.only("type", "limit", "starting_after", "ending_before", "created")
    found = list(reversed(fake.events(p.text("type"))))
    limit = p.integer("limit", minimum=1) or 10
    return 200, listing("/v1/events", found[: min(limit, 100)])


_ID = r"(?P<id>[A-Za-z0-9_]+)"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (m, re.compile(p + r"\Z"), h)
    for m, p, h in [
        ("POST", r"/v1/checkout/sessions", _create_session),
        ("GET", r"/v1/checkout/sessions", _list_sessions),
        ("GET", rf"/v1/checkout/sessions/{_ID}", _session),
        ("POST", rf"/v1/checkout/sessions/{_ID}/expire", _expire),
        ("GET", rf"/v1/checkout/sessions/{_ID}/line_items", _line_items),
        ("GET", rf"/v1/payment_intents/{_ID}", _getter("payment_intent", "intent")),
        ("GET", rf"/v1/charges/{_ID}", _getter("charge", "charge")),
        ("POST", r"/v1/refunds", _create_refund),
        ("GET", r"/v1/refunds", _list_refunds),
        ("GET", rf"/v1/refunds/{_ID}", _getter("refund", "refund")),
        ("GET", rf"/v1/disputes/{_ID}", _getter("dispute", "dispute")),
        ("POST", rf"/v1/disputes/{_ID}/close", _close_dispute),
        ("GET", r"/v1/balance", _balance),
        ("POST", r"/v1/webhook_endpoints", _create_endpoint),
        ("GET", r"/v1/webhook_endpoints", _list_endpoints),
        ("GET", rf"/v1/webhook_endpoints/{_ID}", _getter("webhook_endpoint", "webhook_endpoint")),
        ("DELETE", rf"/v1/webhook_endpoints/{_ID}", _delete_endpoint),
        ("GET", r"/v1/events", _list_events),
        ("GET", rf"/v1/events/{_ID}", _getter("event", "id")),
    ]
]


def route(method: str, path: str) -> tuple[Handler, str]:
    for m, pattern, handler in ROUTES:
        found = pattern.match(path)
        if m == method and found:
            return handler, found.groupdict().get("id") or ""
    raise unrecognized(method, path)
