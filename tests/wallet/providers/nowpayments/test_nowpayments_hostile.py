"""The NOWPayments adapter under hostile or odd input: nesting deeper than a parser follows,
ids in other scripts' digits, an API key that cannot be a header (never repeated in an error),
a payment of another invoice, a malformed answer to an invoice."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.nowpayments import FakeNowPayments
from propdesk.wallet.providers.nowpayments import NowPaymentsProvider
from propdesk.wallet.providers.protocol import (
    BadWebhook,
    CheckoutRequest,
    Notice,
    NoticeKind,
    ProviderRefused,
    ProviderUnavailable,
)


def request(webhook_url: str, reference: str = "PAY-HOSTILE") -> CheckoutRequest:
    return CheckoutRequest(
        reference=reference,
        amount=Decimal("100.00"),
        currency="USD",
        description="The fee of 2-Step 100K",
        customer_email="client@example.com",
        success_url="https://firm.example/portal/payments/done/",
        cancel_url="https://firm.example/portal/challenges/",
        webhook_url=webhook_url,
        idempotency_key=f"checkout-{reference}",
    )


def signed(body: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    signature = hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()
    return json.dumps(body).encode(), {"x-nowpayments-sig": signature}


@pytest.mark.parametrize("depth", [900, 20_000])
def test_json_nested_deeper_than_can_be_followed_is_a_bad_webhook_not_a_crash(
    provider: NowPaymentsProvider, depth: int
) -> None:
    body = b'{"payment_id":1,"x":' + b"[" * depth + b"]" * depth + b"}"
    assert len(body) < 64 * 1024
    with pytest.raises(BadWebhook):
        provider.parse_webhook(body, {"x-nowpayments-sig": "0" * 128})


@pytest.mark.parametrize("payment_id", ["\u0661\u0662\u0663", "\u00b2", "12\u00b3"])
def test_a_payment_id_in_digits_other_than_ascii_is_refused_even_when_signed(
    provider: NowPaymentsProvider, payment_id: str
) -> None:
    body, headers = signed(
        {"payment_id": payment_id, "payment_status": "finished"}, provider.ipn_secret
    )
    with pytest.raises(BadWebhook):
        provider.parse_webhook(body, headers)
    notice = Notice(event_id="e", kind=NoticeKind.PAYMENT, type="x", payment_id=payment_id)
    with pytest.raises(ProviderRefused):
        provider.confirm(notice)


@pytest.mark.parametrize("key", ["SECRET-KEY\nX-Other: 1", "SECRET KEY", "SECRET-KÉY"])
def test_an_api_key_a_header_cannot_carry_is_refused_without_repeating_it(
    nowpayments: FakeNowPayments, key: str
) -> None:
    provider = NowPaymentsProvider({"api_key": key, "ipn_secret": "s", "api_url": nowpayments.url})
    with pytest.raises(ProviderRefused) as refused:
        provider.test_connection()
    assert "SECRET" not in str(refused.value)
    assert "SECRET" not in refused.value.body
    with pytest.raises(ProviderRefused) as refused:
        provider.start_checkout(request("https://firm.example/ipn/"))
    assert "SECRET" not in str(refused.value)


def test_a_payment_of_another_invoice_is_never_told_as_this_checkouts(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    mine = provider.start_checkout(request(ipn_receiver.url, "PAY-MINE"))
    theirs = provider.start_checkout(request(ipn_receiver.url, "PAY-THEIRS"))
    fake_call(nowpayments, "POST", "/_fake/pay", {"invoice_id": theirs.provider_ref})
    paid = provider.parse_webhook(*ipn_receiver.received[-1])
    asked = Notice(
        event_id="",
        kind=NoticeKind.PAYMENT,
        type="confirm",
        provider_ref=mine.provider_ref,
        payment_id=paid.payment_id,
    )
    with pytest.raises(ProviderRefused, match="not of invoice"):
        provider.confirm(asked)
    # Named with its own invoice (or with none), the same payment is told.
    assert provider.confirm(paid).provider_ref == theirs.provider_ref


class OddVendor:
    """Answers every request 200 with the body it is given (a vendor's malformed answer), or
    with a redirect to `redirect`; keeps the headers of each request."""

    def __init__(self, answer: str, redirect: str = "") -> None:
        body = answer.encode()
        self.headers: list[dict[str, str]] = []
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                vendor.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(307 if redirect else 200)
                if redirect:
                    self.send_header("Location", redirect + self.path)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def odd_vendor(request: pytest.FixtureRequest) -> Iterator[OddVendor]:
    vendor = OddVendor(request.param)
    yield vendor
    vendor.stop()


@pytest.mark.parametrize(
    ("odd_vendor", "error"),
    [
        ('{"id": "4000000001", "price_amount": 100.5}', ProviderUnavailable),
        (
            '{"id": "4000000001", "price_amount": 100.5, "order_id": "PAY-OTHER",'
            ' "invoice_url": "https://nowpayments.io/payment/?iid=4000000001"}',
            ProviderRefused,
        ),
    ],
    indirect=["odd_vendor"],
)
def test_an_invoice_answered_without_a_page_or_for_another_order_is_an_error_not_a_crash(
    odd_vendor: OddVendor, error: type[Exception]
) -> None:
    provider = NowPaymentsProvider({"api_key": "k", "ipn_secret": "s", "api_url": odd_vendor.url})
    with pytest.raises(error) as failed:
        provider.start_checkout(request("https://firm.example/ipn/"))
    assert "100.5" in failed.value.body  # type: ignore[attr-defined]


def test_a_redirect_is_refused_and_the_api_key_never_follows_it() -> None:
    elsewhere = OddVendor('{"message": "OK"}')
    redirecting = OddVendor("", redirect=elsewhere.url)
    try:
        provider = NowPaymentsProvider(
            {"api_key": "THE-KEY", "ipn_secret": "s", "api_url": redirecting.url}
        )
        with pytest.raises(ProviderRefused) as refused:
            provider.test_connection()  # GETs: the ones urllib would follow
        assert refused.value.status == 307
        assert redirecting.headers[0]["x-api-key"] == "THE-KEY"
        assert elsewhere.headers == []
    finally:
        elsewhere.stop()
        redirecting.stop()


def test_an_answer_too_large_to_be_an_invoice_is_unavailable_not_read_whole() -> None:
    huge = OddVendor('{"id": "4000000001", "pad": "' + "x" * 1_100_000 + '"}')
    try:
        provider = NowPaymentsProvider({"api_key": "k", "ipn_secret": "s", "api_url": huge.url})
        with pytest.raises(ProviderUnavailable, match="too much"):
            provider.start_checkout(request("https://firm.example/ipn/"))
    finally:
        huge.stop()
