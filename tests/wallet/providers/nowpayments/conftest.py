"""The fake NOWPayments on a free port, a small HTTP receiver standing for propdesk's IPN
endpoint (no Django needed), and the adapter pointed at the fake."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.nowpayments import FakeNowPayments
from propdesk.wallet.providers.nowpayments import NowPaymentsProvider


class IpnReceiver:
    """Every POST it is sent, kept as (body bytes, headers by lower-case name); answers
    `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/payments/nowpayments/"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def statuses(self) -> list[str]:
        return [json.loads(body)["payment_status"] for body, _ in self.received]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def nowpayments() -> Iterator[FakeNowPayments]:
    fake = FakeNowPayments().start()
    yield fake
    fake.stop()


@pytest.fixture
def ipn_receiver() -> Iterator[IpnReceiver]:
    receiver = IpnReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def provider(nowpayments: FakeNowPayments) -> NowPaymentsProvider:
    return NowPaymentsProvider(
        {
            "api_key": nowpayments.api_key,
            "ipn_secret": nowpayments.ipn_secret,
            "api_url": nowpayments.url,
        }
    )


def call(
    fake: FakeNowPayments, method: str, path: str, body: Any = None, *, key: str | None = ""
) -> tuple[int, Any]:
    """One request to the fake (with its key unless `key` is None or another), answered as
    (status, JSON or text)."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key or fake.api_key
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body else None)
    request = urllib.request.Request(fake.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        status, text = refused.code, refused.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@pytest.fixture
def fake_call() -> Any:
    return call
