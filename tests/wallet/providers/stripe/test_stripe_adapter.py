"""The Stripe adapter against the fake Stripe: checkouts, their outcome asked of Stripe,
refunds, disputes, idempotent retries and how Stripe's failures are told apart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.stripe import FakeStripe, signature_header
from propdesk.wallet.providers.protocol import (
    Checkout,
    Notice,
    NoticeKind,
    ProviderRefused,
    ProviderUnavailable,
    State,
)
from propdesk.wallet.providers.stripe import StripeProvider
from tests.wallet.providers.stripe.conftest import SECRET_KEY, WEBHOOK_SECRET

Control = Callable[..., tuple[int, Any]]
Start = Callable[..., Checkout]


def pay(fake_control: Control, checkout: Checkout, card: str = "4242424242424242") -> Any:
    status, answer = fake_control(
        "POST", f"/_fake/checkout/sessions/{checkout.provider_ref}/pay", {"card": card}
    )
    return status, answer


def payment_notice(checkout: Checkout) -> Notice:
    return Notice("evt_x", NoticeKind.PAYMENT, "checkout.session.completed", checkout.provider_ref)


def test_a_checkout_is_opened_at_stripe_with_the_amount_in_cents_and_the_hosted_page(
    start: Start, stripe_fake: FakeStripe
) -> None:
    checkout = start("100.00", "USD", reference="pay-ref-1")
    assert checkout.provider_ref.startswith("cs_test_")
    assert checkout.url == f"{stripe_fake.url}/c/pay/{checkout.provider_ref}"
    assert checkout.expires_at is not None
    session = checkout.raw
    assert session["amount_total"] == 10000
    assert session["currency"] == "usd"
    assert session["client_reference_id"] == "pay-ref-1"
    assert session["metadata"] == {"reference": "pay-ref-1"}
    assert session["customer_email"] == "trader@example.com"
    assert (session["status"], session["payment_status"]) == ("open", "unpaid")


def test_a_zero_decimal_currency_is_sent_in_whole_units(start: Start) -> None:
    assert start("5000", "JPY").raw["amount_total"] == 5000


def test_an_amount_finer_than_the_currency_takes_is_refused_before_calling(start: Start) -> None:
    with pytest.raises(ProviderRefused, match="decimals"):
        start("10.005", "USD")


def test_starting_again_with_the_same_idempotency_key_gives_the_same_checkout(
    start: Start, stripe_fake: FakeStripe
) -> None:
    first = start(key="retry-1", reference="r1")
    again = start(key="retry-1", reference="r1")
    other = start(key="retry-2", reference="r1")
    assert again.provider_ref == first.provider_ref
    assert other.provider_ref != first.provider_ref
    assert len(stripe_fake.book.all("checkout.session")) == 2


def test_the_same_idempotency_key_with_another_amount_is_refused(start: Start) -> None:
    start("100.00", key="retry-3", reference="r3")
    with pytest.raises(ProviderRefused) as refused:
        start("90.00", key="retry-3", reference="r3")
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["error"]["type"] == "idempotency_error"


def test_a_paid_checkout_is_confirmed_paid_with_what_stripe_received(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    checkout = start("250.50", "EUR")
    assert provider.confirm(payment_notice(checkout)).state == State.OPEN
    status, _ = pay(fake_control, checkout)
    assert status == 200
    confirmed = provider.confirm(payment_notice(checkout))
    assert confirmed.state == State.PAID
    assert confirmed.received == Decimal("250.50")
    assert confirmed.currency == "EUR"
    assert confirmed.payment_id.startswith("pi_")
    assert confirmed.raw["session"]["id"] == checkout.provider_ref


def test_a_declined_card_leaves_the_checkout_open_with_nothing_received(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    checkout = start()
    status, answer = pay(fake_control, checkout, "4000000000000002")
    assert status == 402
    assert answer["error"]["type"] == "card_error"
    assert answer["error"]["decline_code"] == "generic_decline"
    found = provider.status(checkout.provider_ref)
    assert found is not None
    assert (found.state, found.received) == (State.OPEN, Decimal("0.00"))
    status, _ = pay(fake_control, checkout, "4242 4242 4242 4242")  # another card, then paid
    assert status == 200
    found = provider.status(checkout.provider_ref)
    assert found is not None
    assert found.state == State.PAID


def test_confirm_believes_stripe_not_the_webhook_body(
    start: Start, provider: StripeProvider
) -> None:
    checkout = start()
    lie = {
        "id": "evt_forged_body",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": checkout.provider_ref,
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                "amount_total": 10000,
            }
        },
    }
    body = json.dumps(lie).encode()
    notice = provider.parse_webhook(
        body, {"Stripe-Signature": signature_header(body, WEBHOOK_SECRET, int(time.time()))}
    )
    assert notice.kind == NoticeKind.PAYMENT
    assert notice.provider_ref == checkout.provider_ref
    confirmed = provider.confirm(notice)
    assert (confirmed.state, confirmed.received) == (State.OPEN, Decimal("0.00"))


def test_an_expired_checkout_is_confirmed_expired(
    start: Start, provider: StripeProvider, fake_control: Control, stripe_fake: FakeStripe
) -> None:
    checkout = start()
    stripe_fake.book.expire_session(checkout.provider_ref)
    found = provider.status(checkout.provider_ref)
    assert found is not None
    assert found.state == State.EXPIRED
    status, answer = pay(fake_control, checkout)
    assert status == 400
    assert answer["error"]["param"] == "session"


def test_a_notice_naming_only_the_payment_is_confirmed_through_its_checkout(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    checkout = start()
    pay(fake_control, checkout)
    paid = provider.status(checkout.provider_ref)
    assert paid is not None
    notice = Notice("evt_y", NoticeKind.REFUND, "charge.refunded", payment_id=paid.payment_id)
    assert provider.confirm(notice).provider_ref == checkout.provider_ref


def paid(start: Start, provider: StripeProvider, fake_control: Control, card: str = "") -> str:
    checkout = start("100.00", "USD")
    pay(fake_control, checkout, card or "4242424242424242")
    found = provider.status(checkout.provider_ref)
    assert found is not None
    return found.payment_id


def test_refunds_partial_then_the_rest_and_never_more_than_was_paid(
    start: Start, provider: StripeProvider, fake_control: Control, stripe_fake: FakeStripe
) -> None:
    payment = paid(start, provider, fake_control)
    part = provider.refund(payment, Decimal("30.00"), "USD", idempotency_key="refund-1")
    assert (part.state, part.amount, part.currency) == ("succeeded", Decimal("30.00"), "USD")
    assert part.refund_id.startswith("re_")
    assert part.payment_id == payment
    with pytest.raises(ProviderRefused) as refused:
        provider.refund(payment, Decimal("70.01"), "USD", idempotency_key="refund-2")
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["error"]["code"] == "amount_too_large"
    rest = provider.refund(payment, Decimal("70.00"), "USD", idempotency_key="refund-3")
    assert rest.amount == Decimal("70.00")
    charge = stripe_fake.book.all("charge")[0]
    assert (charge["amount_refunded"], charge["refunded"]) == (10000, True)
    with pytest.raises(ProviderRefused, match="already been refunded"):
        provider.refund(payment, Decimal("1.00"), "USD", idempotency_key="refund-4")


def test_a_wholly_refunded_payment_is_confirmed_refunded(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    checkout = start("100.00", "USD")
    pay(fake_control, checkout)
    payment = provider.confirm(payment_notice(checkout)).payment_id
    provider.refund(payment, Decimal("100.00"), "USD", idempotency_key="whole")
    assert provider.confirm(payment_notice(checkout)).state == State.REFUNDED


def test_a_retried_refund_with_its_key_refunds_once(
    start: Start, provider: StripeProvider, fake_control: Control, stripe_fake: FakeStripe
) -> None:
    payment = paid(start, provider, fake_control)
    first = provider.refund(payment, Decimal("40.00"), "USD", idempotency_key="refund-once")
    again = provider.refund(payment, Decimal("40.00"), "USD", idempotency_key="refund-once")
    assert again.refund_id == first.refund_id
    assert len(stripe_fake.book.all("refund")) == 1
    assert stripe_fake.book.all("charge")[0]["amount_refunded"] == 4000


@pytest.mark.parametrize(("outcome", "ends"), [("succeeded", "succeeded"), ("failed", "failed")])
def test_a_pending_refund_asked_again_under_its_key_says_how_it_ended(
    start: Start,
    provider: StripeProvider,
    fake_control: Control,
    stripe_fake: FakeStripe,
    outcome: str,
    ends: str,
) -> None:
    """Stripe replays a key's first answer (pending): the refund itself is read for its end."""
    payment = paid(start, provider, fake_control, card="4000000000007726")  # refunds pending
    first = provider.refund(payment, Decimal("40.00"), "USD", idempotency_key="slow-refund")
    assert first.state == "pending"
    fake_control("POST", f"/_fake/refunds/{first.refund_id}/finish", {"outcome": outcome})
    again = provider.refund(payment, Decimal("40.00"), "USD", idempotency_key="slow-refund")
    assert (again.refund_id, again.state) == (first.refund_id, ends)
    assert len(stripe_fake.book.all("refund")) == 1
    refunded = 4000 if ends == "succeeded" else 0
    assert stripe_fake.book.all("charge")[0]["amount_refunded"] == refunded


def test_a_dispute_is_read_open_then_lost(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    payment = paid(start, provider, fake_control, card="4000000000000259")  # disputed card
    _status, listed = fake_control("GET", "/_fake/events")
    created = [
        e["event"] for e in listed["events"] if e["event"]["type"] == "charge.dispute.created"
    ]
    dispute_id = created[0]["data"]["object"]["id"]
    found = provider.dispute(dispute_id)
    assert (found.open, found.lost, found.state) == (True, False, "needs_response")
    assert (found.amount, found.currency, found.payment_id) == (Decimal("100.00"), "USD", payment)
    assert found.reason == "fraudulent"
    with pytest.raises(ProviderRefused, match="charged back"):
        provider.refund(payment, Decimal("1.00"), "USD", idempotency_key="during-dispute")
    fake_control("POST", f"/_fake/disputes/{dispute_id}/close", {"outcome": "lost"})
    closed = provider.dispute(dispute_id)
    assert (closed.open, closed.lost, closed.state) == (False, True, "lost")


def test_a_dispute_won_is_closed_and_not_lost(
    start: Start, provider: StripeProvider, fake_control: Control
) -> None:
    payment = paid(start, provider, fake_control)
    status, dispute = fake_control("POST", f"/_fake/charges/{payment}/dispute", {})
    assert status == 200
    fake_control("POST", f"/_fake/disputes/{dispute['id']}/close", {"outcome": "won"})
    won = provider.dispute(dispute["id"])
    assert (won.open, won.lost, won.state) == (False, False, "won")


def test_an_unknown_dispute_is_refused_with_stripes_body(provider: StripeProvider) -> None:
    with pytest.raises(ProviderRefused) as refused:
        provider.dispute("dp_nothing")
    assert refused.value.status == 404
    assert json.loads(refused.value.body)["error"]["code"] == "resource_missing"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_stripe_failing_or_limiting_is_unavailable(
    status: int, start: Start, fake_control: Control
) -> None:
    fake_control("POST", "/_fake/fail", {"count": 1, "status": status})
    with pytest.raises(ProviderUnavailable) as failed:
        start()
    assert failed.value.status == status
    assert "error" in json.loads(failed.value.body)


def test_stripe_not_answering_in_time_is_unavailable(
    stripe_fake: FakeStripe, fake_control: Control
) -> None:
    impatient = StripeProvider({"secret_key": SECRET_KEY, "api_base": stripe_fake.url}, timeout=0.2)
    fake_control("POST", "/_fake/delay", {"count": 1, "seconds": 1})
    with pytest.raises(ProviderUnavailable, match="not reached"):
        impatient.test_connection()


def test_stripe_not_listening_is_unavailable(stripe_fake: FakeStripe) -> None:
    stripe_fake.stop()
    gone = StripeProvider({"secret_key": SECRET_KEY, "api_base": stripe_fake.url})
    with pytest.raises(ProviderUnavailable):
        gone.test_connection()


def test_a_wrong_key_is_refused_and_the_key_is_not_echoed(stripe_fake: FakeStripe) -> None:
    wrong = StripeProvider({"secret_key": "sk_test_wrong_key_123456", "api_base": stripe_fake.url})
    with pytest.raises(ProviderRefused) as refused:
        wrong.test_connection()
    assert refused.value.status == 401
    assert "Invalid API Key" in str(refused.value)
    assert "sk_test_wrong_key_123456" not in refused.value.body


def test_no_key_is_refused_without_calling() -> None:
    with pytest.raises(ProviderRefused, match="No Stripe secret key"):
        StripeProvider({}).test_connection()


def test_test_connection_says_what_stripe_answered(provider: StripeProvider) -> None:
    said = provider.test_connection()
    assert "test mode" in said
    assert "USD" in said


def test_the_settings_it_asks_for(provider: StripeProvider) -> None:
    fields = {f.key: f for f in StripeProvider.fields}
    assert fields["secret_key"].secret
    assert fields["webhook_secret"].secret
    assert not fields["api_base"].secret
    assert fields["api_base"].default == "https://api.stripe.com"
    assert StripeProvider({"secret_key": "k"}).api_base == "https://api.stripe.com"
    assert (StripeProvider.kind, StripeProvider.label) == ("stripe", "Stripe")
    assert StripeProvider.refunds
    assert StripeProvider.disputes
