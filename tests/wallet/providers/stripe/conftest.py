"""The Stripe fake, a webhook receiver standing in for propdesk's endpoint, and the adapter
configured for both (no Django: the provider and the fake are plain Python)."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.stripe import FakeStripe
from propdesk.wallet.providers.protocol import Checkout, CheckoutRequest
from propdesk.wallet.providers.stripe import StripeProvider

SECRET_KEY = "sk_test_propdesk_tests"
WEBHOOK_SECRET = "whsec_propdesk_tests_0123456789"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for 127.0.0.1


class Receiver:
    """An HTTP endpoint that keeps every POST (headers and raw body) and answers each with the
    next of `answers` (then 200); an event of a type in `answers_for`, with the next of its own
    list first."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.answers_for: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append((dict(self.headers.items()), body))
                    try:
                        kind = json.loads(body).get("type", "")
                    except ValueError:
                        kind = ""
                    own = receiver.answers_for.get(kind)
                    status = (
                        own.pop(0) if own else receiver.answers.pop(0) if receiver.answers else 200
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/payments/stripe/"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def events(self, type_: str = "") -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b in self.received if not type_ or json.loads(b)["type"] == type_]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture
def stripe_fake(receiver: Receiver) -> Iterator[FakeStripe]:
    fake = FakeStripe(
        secret_key=SECRET_KEY,
        webhook_url=receiver.url,
        webhook_secret=WEBHOOK_SECRET,
        rate_limit=0,
        retry_delays=(0.05, 0.1, 0.2),
    ).start()
    yield fake
    fake.stop()


@pytest.fixture
def provider(stripe_fake: FakeStripe) -> StripeProvider:
    return StripeProvider(
        {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": stripe_fake.url}
    )


@pytest.fixture
def start(provider: StripeProvider) -> Callable[..., Checkout]:
    """Open a checkout of `amount` `currency` (a new idempotency key unless given)."""

    def open_one(
        amount: str = "100.00", currency: str = "USD", *, key: str = "", reference: str = ""
    ) -> Checkout:
        reference = reference or uuid.uuid4().hex
        return provider.start_checkout(
            CheckoutRequest(
                reference=reference,
                amount=Decimal(amount),
                currency=currency,
                description="The fee of 2-Step 100K",
                customer_email="trader@example.com",
                success_url="https://firm.example/portal/paid/?session={CHECKOUT_SESSION_ID}",
                cancel_url="https://firm.example/portal/cancelled/",
                webhook_url="https://firm.example/webhooks/payments/stripe/",
                idempotency_key=key or uuid.uuid4().hex,
            )
        )

    return open_one


def control(fake: FakeStripe, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Call one of the fake's /_fake/ controls: (status, JSON answer)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(fake.url + path, data=data, method=method)
    try:
        with DIRECT.open(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@pytest.fixture
def fake_control(stripe_fake: FakeStripe) -> Callable[..., tuple[int, Any]]:
    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return control(stripe_fake, method, path, body)

    return call
