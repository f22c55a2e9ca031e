"""What the payment core relies on from the Stripe adapter: confirm tells what went back as well
as what arrived, and only ever in the checkout's currency; refunds never go out in another
currency; answers not in Stripe's shape, conflicts and redirects are told apart; the secret key
never follows a redirect; non-amounts are refused before calling."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.stripe import FakeStripe
from propdesk.wallet.providers.protocol import (
    Checkout,
    Notice,
    NoticeKind,
    ProviderRefused,
    ProviderUnavailable,
    State,
)
from propdesk.wallet.providers.stripe import StripeProvider
from tests.wallet.providers.stripe.conftest import SECRET_KEY

Control = Callable[..., tuple[int, Any]]
Start = Callable[..., Checkout]


def paid(start: Start, fake_control: Control, amount: str = "100.00") -> Checkout:
    checkout = start(amount, "USD")
    status, _ = fake_control(
        "POST",
        f"/_fake/checkout/sessions/{checkout.provider_ref}/pay",
        {"card": "4242424242424242"},
    )
    assert status == 200
    return checkout


def asked(checkout: Checkout) -> Notice:
    return Notice("evt_q", NoticeKind.PAYMENT, "checkout.session.completed", checkout.provider_ref)


def test_a_refund_made_at_stripe_is_told_by_confirm_as_refunded(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    checkout = paid(start, fake_control)
    payment = provider.confirm(asked(checkout)).payment_id
    fake_control("POST", "/_fake/refunds", {"payment_intent": payment, "amount": 2500})
    part = provider.confirm(asked(checkout))
    assert (part.state, part.received, part.refunded) == (
        State.PAID,
        Decimal("100.00"),
        Decimal("25.00"),
    )
    fake_control("POST", "/_fake/refunds", {"payment_intent": payment})
    whole = provider.confirm(asked(checkout))
    assert (whole.state, whole.received, whole.refunded) == (
        State.REFUNDED,
        Decimal("100.00"),
        Decimal("100.00"),
    )


def test_a_refund_propdesk_asked_for_is_told_by_confirm_too(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    checkout = paid(start, fake_control, "80.00")
    payment = provider.confirm(asked(checkout)).payment_id
    provider.refund(payment, Decimal("30.00"), "USD", idempotency_key="ours-1")
    assert provider.confirm(asked(checkout)).refunded == Decimal("30.00")


def test_money_stripe_holds_in_another_currency_is_never_counted_as_the_checkouts(
    start: Start, provider: StripeProvider, fake_control: Control, stripe_fake: FakeStripe
) -> None:
    checkout = paid(start, fake_control)
    intent = stripe_fake.book.all("payment_intent")[0]
    intent["currency"] = "eur"  # as a payment presented in the client's local currency
    with pytest.raises(ProviderRefused, match="in EUR, not in the checkout's USD"):
        provider.confirm(asked(checkout))
    intent["currency"] = "usd"
    stripe_fake.book.all("charge")[0]["currency"] = "eur"
    with pytest.raises(ProviderRefused, match="in EUR"):
        provider.confirm(asked(checkout))


def test_checkouts_are_opened_without_adaptive_pricing(start: Start) -> None:
    assert start("100.00", "USD").raw["adaptive_pricing"] == {"enabled": False}


@pytest.mark.parametrize("lie", ["10000", -5, True, 1.5, None, 10**15])
def test_an_amount_not_in_stripes_shape_is_unavailable_never_money(
    lie: Any,
    start: Start,
    provider: StripeProvider,
    fake_control: Control,
    stripe_fake: FakeStripe,
) -> None:
    checkout = paid(start, fake_control)
    stripe_fake.book.all("payment_intent")[0]["amount_received"] = lie
    with pytest.raises(ProviderUnavailable, match="amount_received"):
        provider.confirm(asked(checkout))


def test_a_session_without_a_currency_is_unavailable(
    start: Start, provider: StripeProvider, stripe_fake: FakeStripe
) -> None:
    checkout = start("100.00", "USD")
    stripe_fake.book.objects[checkout.provider_ref]["currency"] = None
    with pytest.raises(ProviderUnavailable, match="currency"):
        provider.confirm(asked(checkout))


def test_no_checkout_id_is_refused_rather_than_listing_every_session(
    provider: StripeProvider, start: Start
) -> None:
    start()
    with pytest.raises(ProviderRefused, match="No Checkout Session id"):
        provider.status("")


def test_a_refund_in_another_currency_than_the_payment_is_refused_before_refunding(
    start: Start, provider: StripeProvider, fake_control: Control, stripe_fake: FakeStripe
) -> None:
    checkout = paid(start, fake_control)
    payment = provider.confirm(asked(checkout)).payment_id
    with pytest.raises(ProviderRefused, match="made in USD, not in JPY"):
        provider.refund(payment, Decimal("100"), "JPY", idempotency_key="yen")
    assert stripe_fake.book.all("refund") == []


@pytest.mark.parametrize("amount", ["0", "-5.00", "NaN", "Infinity", "-Infinity"])
def test_what_is_not_a_positive_amount_is_refused_before_calling(
    amount: str,
    start: Start,
    provider: StripeProvider,
    fake_control: Control,
    stripe_fake: FakeStripe,
) -> None:
    checkout = paid(start, fake_control)
    payment = provider.confirm(asked(checkout)).payment_id
    with pytest.raises(ProviderRefused, match="not an amount"):
        provider.refund(payment, Decimal(amount), "USD", idempotency_key=f"bad-{amount}")
    with pytest.raises(ProviderRefused, match="not an amount"):
        start(amount, "USD")
    assert stripe_fake.book.all("refund") == []
    assert len(stripe_fake.book.all("checkout.session")) == 1


def test_an_idempotency_key_still_being_carried_out_is_unavailable_to_try_again(
    start: Start, fake_control: Control
) -> None:
    fake_control("POST", "/_fake/fail", {"count": 1, "status": 409})
    with pytest.raises(ProviderUnavailable) as conflict:
        start()
    assert conflict.value.status == 409


class _Redirecting:
    """An address that answers every request with a redirect to a second one, which keeps the
    headers it is sent."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        seen = self.seen

        class Target(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                seen.append(dict(self.headers.items()))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"object": "balance", "available": [], "livemode": false}')

        self.target = ThreadingHTTPServer(("127.0.0.1", 0), Target)
        elsewhere = f"http://127.0.0.1:{self.target.server_address[1]}/v1/balance"

        class Redirect(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self.send_response(307)
                self.send_header("Location", elsewhere)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.redirect = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        self.url = f"http://127.0.0.1:{self.redirect.server_address[1]}"
        for server in (self.target, self.redirect):
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        for server in (self.target, self.redirect):
            server.shutdown()
            server.server_close()


@pytest.fixture
def redirecting() -> Iterator[_Redirecting]:
    running = _Redirecting()
    yield running
    running.stop()


def test_a_redirect_is_refused_and_the_key_never_goes_elsewhere(redirecting: _Redirecting) -> None:
    provider = StripeProvider({"secret_key": SECRET_KEY, "api_base": redirecting.url})
    with pytest.raises(ProviderRefused) as refused:
        provider.test_connection()
    assert refused.value.status == 307
    assert redirecting.seen == []
    assert SECRET_KEY not in str(refused.value)


def test_a_pasted_key_with_a_line_break_is_refused_and_never_shown(
    stripe_fake: FakeStripe,
) -> None:
    pasted = "sk_test_first_half\nsk_test_second_half"
    provider = StripeProvider({"secret_key": pasted, "api_base": stripe_fake.url})
    with pytest.raises(ProviderRefused) as refused:
        provider.test_connection()
    assert "first_half" not in str(refused.value)
    assert "characters no Stripe key has" in str(refused.value)


def test_an_answer_that_is_not_http_is_unavailable() -> None:
    class Garbage(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        provider = StripeProvider(
            {"secret_key": SECRET_KEY, "api_base": f"http://127.0.0.1:{server.server_address[1]}"}
        )
        with pytest.raises(ProviderUnavailable, match="not HTTP"):
            provider.test_connection()
    finally:
        server.shutdown()
        server.server_close()


def test_three_decimal_currencies_and_isk_go_in_the_steps_stripe_takes(start: Start) -> None:
    assert start("10.010", "KWD").raw["amount_total"] == 10010
    with pytest.raises(ProviderRefused, match="steps of 10"):
        start("10.015", "KWD")
    assert start("1000", "ISK").raw["amount_total"] == 100000
    with pytest.raises(ProviderRefused, match="steps of 100"):
        start("1000.50", "ISK")


@pytest.mark.parametrize(
    "base", ["http://api.stripe.invalid", "http://fake-stripe.invalid:9200", "ftp://x"]
)
def test_the_key_is_never_sent_in_clear_beyond_this_machine(base: str) -> None:
    provider = StripeProvider({"secret_key": SECRET_KEY, "api_base": base})
    with pytest.raises(ProviderRefused) as refused:
        provider.test_connection()
    assert refused.value.status is None  # refused before any call
    assert SECRET_KEY not in str(refused.value)


def test_an_api_address_urllib_cannot_use_is_refused_plainly() -> None:
    provider = StripeProvider({"secret_key": SECRET_KEY, "api_base": "http://127.0.0.1:notaport"})
    with pytest.raises(ProviderRefused, match="not a usable address"):
        provider.test_connection()


def test_an_answer_nested_deeper_than_the_parser_goes_is_unavailable() -> None:
    class Deep(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            body = b"[" * 200_000 + b"]" * 200_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Deep)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        provider = StripeProvider(
            {"secret_key": SECRET_KEY, "api_base": f"http://127.0.0.1:{server.server_address[1]}"}
        )
        with pytest.raises(ProviderUnavailable, match="not JSON"):
            provider.test_connection()
    finally:
        server.shutdown()
        server.server_close()
