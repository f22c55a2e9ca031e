"""The events the fake Stripe sends, signed as Stripe signs them and retried when the endpoint
fails, read by the adapter; and every webhook that is not Stripe's, or not now, refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.stripe import FakeStripe, signature_header
from propdesk.wallet.providers.protocol import BadWebhook, Checkout, NoticeKind, State
from propdesk.wallet.providers.stripe import StripeProvider
from tests.wallet.providers.stripe.conftest import SECRET_KEY, WEBHOOK_SECRET, Receiver

Control = Callable[..., tuple[int, Any]]
Start = Callable[..., Checkout]


def paid_checkout(start: Start, fake_control: Control, stripe_fake: FakeStripe) -> Checkout:
    checkout = start("100.00", "USD")
    fake_control("POST", f"/_fake/checkout/sessions/{checkout.provider_ref}/pay", {})
    assert stripe_fake.settle()
    return checkout


def one(receiver: Receiver, type_: str) -> tuple[dict[str, str], bytes]:
    found = receiver.events(type_)
    assert len(found) == 1, [json.loads(b)["type"] for _, b in receiver.received]
    return found[0]


def test_a_paid_checkout_is_told_by_a_signed_event_the_adapter_reads(
    start: Start,
    fake_control: Control,
    stripe_fake: FakeStripe,
    receiver: Receiver,
    provider: StripeProvider,
) -> None:
    checkout = paid_checkout(start, fake_control, stripe_fake)
    headers, body = one(receiver, "checkout.session.completed")
    event = json.loads(body)
    assert event["object"] == "event"
    assert event["id"].startswith("evt_")
    assert event["livemode"] is False
    assert event["api_version"]
    assert isinstance(event["created"], int)
    assert event["data"]["object"]["id"] == checkout.provider_ref
    notice = provider.parse_webhook(body, headers)
    assert notice.kind == NoticeKind.PAYMENT
    assert (notice.event_id, notice.provider_ref) == (event["id"], checkout.provider_ref)
    assert notice.payment_id.startswith("pi_")
    assert notice.raw == event
    assert provider.confirm(notice).state == State.PAID


def test_the_signature_is_stripes_hmac_of_the_timestamp_and_the_raw_body(
    start: Start, fake_control: Control, stripe_fake: FakeStripe, receiver: Receiver
) -> None:
    paid_checkout(start, fake_control, stripe_fake)
    headers, body = one(receiver, "checkout.session.completed")
    parts = dict(part.split("=", 1) for part in headers["Stripe-Signature"].split(","))
    expected = hmac.new(
        WEBHOOK_SECRET.encode(), parts["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert parts["v1"] == expected
    assert abs(int(parts["t"]) - time.time()) < 300
    assert headers["Content-Type"].startswith("application/json")


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, age: int = 0) -> dict[str, str]:
    return {"Stripe-Signature": signature_header(body, secret, int(time.time()) - age)}


EVENT = json.dumps(
    {
        "id": "evt_test_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}},
    }
).encode()


def test_a_body_changed_after_signing_is_refused(provider: StripeProvider) -> None:
    headers = signed(EVENT)
    with pytest.raises(BadWebhook, match="does not verify"):
        provider.parse_webhook(EVENT.replace(b"cs_test_1", b"cs_test_2"), headers)


def test_a_signature_made_with_another_secret_is_refused(provider: StripeProvider) -> None:
    with pytest.raises(BadWebhook):
        provider.parse_webhook(EVENT, signed(EVENT, secret="whsec_someone_else"))


def test_a_signature_older_than_five_minutes_is_refused(provider: StripeProvider) -> None:
    assert provider.parse_webhook(EVENT, signed(EVENT, age=290)).event_id == "evt_test_1"
    with pytest.raises(BadWebhook):
        provider.parse_webhook(EVENT, signed(EVENT, age=301))


def test_a_captured_delivery_replayed_later_is_refused(
    start: Start,
    fake_control: Control,
    stripe_fake: FakeStripe,
    receiver: Receiver,
    provider: StripeProvider,
) -> None:
    paid_checkout(start, fake_control, stripe_fake)
    headers, body = one(receiver, "checkout.session.completed")
    old = int(headers["Stripe-Signature"].split(",")[0][2:]) - 600
    sent_long_ago = {"Stripe-Signature": signature_header(body, WEBHOOK_SECRET, old)}
    with pytest.raises(BadWebhook):
        provider.parse_webhook(body, sent_long_ago)
    t_now = headers["Stripe-Signature"].split(",")[0]
    v1_old = signature_header(body, WEBHOOK_SECRET, old).split(",")[1]
    with pytest.raises(BadWebhook):  # a fresh timestamp does not go with the old signature
        provider.parse_webhook(body, {"Stripe-Signature": f"{t_now},{v1_old}"})


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "t=abc,v1=00", "t=1700000000", "v1=deadbeef", "t=,v1=", "v0=abc,t=1"],
)
def test_a_missing_or_malformed_signature_header_is_refused(
    header: str, provider: StripeProvider
) -> None:
    with pytest.raises(BadWebhook):
        provider.parse_webhook(EVENT, {"Stripe-Signature": header} if header else {})


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"object": "charge"}',
        b'{"object": "event", "type": "x"}',
        b'{"object": "event", "id": "evt_1", "type": "x", "data": []}',
        b"\xff\xfe",
    ],
)
def test_a_signed_body_that_is_not_a_stripe_event_is_refused(
    body: bytes, provider: StripeProvider
) -> None:
    with pytest.raises(BadWebhook):
        provider.parse_webhook(body, signed(body))


def test_without_a_signing_secret_every_webhook_is_refused(stripe_fake: FakeStripe) -> None:
    unset = StripeProvider({"secret_key": SECRET_KEY, "api_base": stripe_fake.url})
    with pytest.raises(BadWebhook, match="No webhook signing secret"):
        unset.parse_webhook(EVENT, signed(EVENT))


def test_the_header_is_found_whatever_its_case(provider: StripeProvider) -> None:
    header = signed(EVENT)["Stripe-Signature"]
    assert provider.parse_webhook(EVENT, {"stripe-signature": header}).event_id == "evt_test_1"


def test_a_failed_delivery_is_retried_until_the_endpoint_takes_it(
    start: Start,
    fake_control: Control,
    stripe_fake: FakeStripe,
    receiver: Receiver,
    provider: StripeProvider,
) -> None:
    receiver.answers_for["checkout.session.completed"] = [500, 503]  # fails twice
    paid_checkout(start, fake_control, stripe_fake)
    _, listed = fake_control("GET", "/_fake/events")
    (first,) = [e for e in listed["events"] if e["event"]["type"] == "checkout.session.completed"]
    assert first["deliveries"][0]["state"] == "delivered"
    assert first["deliveries"][0]["attempts"] == 3
    same = [b for _, b in receiver.received if json.loads(b)["id"] == first["event"]["id"]]
    assert len(same) == 3
    assert all(
        provider.parse_webhook(b, h).event_id == first["event"]["id"]
        for h, b in receiver.received
        if b in same
    )


def test_a_delivery_failing_every_time_is_given_up_after_the_retries(
    start: Start, fake_control: Control, stripe_fake: FakeStripe, receiver: Receiver
) -> None:
    receiver.answers = [500] * 100
    checkout = start()
    expired_now = StripeProvider({"secret_key": SECRET_KEY, "api_base": stripe_fake.url})._call(
        "POST", f"/v1/checkout/sessions/{checkout.provider_ref}/expire"
    )
    assert (expired_now["status"], expired_now["url"]) == ("expired", None)
    assert stripe_fake.settle()
    _, listed = fake_control("GET", "/_fake/events")
    (expired,) = [e for e in listed["events"] if e["event"]["type"] == "checkout.session.expired"]
    assert expired["deliveries"][0]["state"] == "failed"
    assert expired["deliveries"][0]["attempts"] == 4  # the first and the three retries
    assert expired["deliveries"][0]["last_status"] == 500


def test_a_resent_event_keeps_its_id_with_a_fresh_signature(
    start: Start,
    fake_control: Control,
    stripe_fake: FakeStripe,
    receiver: Receiver,
    provider: StripeProvider,
) -> None:
    paid_checkout(start, fake_control, stripe_fake)
    _, body = one(receiver, "checkout.session.completed")
    event_id = json.loads(body)["id"]
    status, answer = fake_control("POST", f"/_fake/events/{event_id}/replay", {})
    assert (status, answer) == (200, {"resent_to": 1})
    assert stripe_fake.settle()
    again = receiver.events("checkout.session.completed")
    assert len(again) == 2
    assert provider.parse_webhook(again[1][1], again[1][0]).event_id == event_id


def test_refunds_are_told_as_refund_notices_naming_the_payment(
    start: Start,
    fake_control: Control,
    stripe_fake: FakeStripe,
    receiver: Receiver,
    provider: StripeProvider,
) -> None:
    checkout = paid_checkout(start, fake_control, stripe_fake)
    payment = provider.confirm(
        provider.parse_webhook(*reversed(one(receiver, "checkout.session.completed")))
    ).payment_id
    status, refund = fake_control(
        "POST", "/_fake/refunds", {"payment_intent": payment, "amount": 2500}
    )  # from the Dashboard
    assert status == 200
    assert stripe_fake.settle()
    created = provider.parse_webhook(*reversed(one(receiver, "refund.created")))
    assert (created.kind, created.object_id, created.payment_id) == (
        NoticeKind.REFUND,
        refund["id"],
        payment,
    )
    charged = provider.parse_webhook(*reversed(one(receiver, "charge.refunded")))
    assert (charged.kind, charged.payment_id) == (NoticeKind.REFUND, payment)
    assert provider.confirm(charged).provider_ref == checkout.provider_ref


def test_disputes_are_told_as_dispute_notices_naming_the_dispute(
    start: Start,
    fake_control: Control,
    stripe_fake: FakeStripe,
    receiver: Receiver,
    provider: StripeProvider,
) -> None:
    paid_checkout(start, fake_control, stripe_fake)
    charge = stripe_fake.book.all("charge")[0]
    _, dispute = fake_control("POST", f"/_fake/charges/{charge['id']}/dispute", {})
    fake_control("POST", f"/_fake/disputes/{dispute['id']}/close", {"outcome": "lost"})
    assert stripe_fake.settle()
    opened = provider.parse_webhook(*reversed(one(receiver, "charge.dispute.created")))
    closed = provider.parse_webhook(*reversed(one(receiver, "charge.dispute.closed")))
    for notice in (opened, closed):
        assert notice.kind == NoticeKind.DISPUTE
        assert notice.object_id == dispute["id"]
        assert notice.payment_id == charge["payment_intent"]
    assert provider.dispute(closed.object_id).lost


def test_other_events_are_read_as_other(
    start: Start,
    fake_control: Control,
    stripe_fake: FakeStripe,
    receiver: Receiver,
    provider: StripeProvider,
) -> None:
    paid_checkout(start, fake_control, stripe_fake)
    notice = provider.parse_webhook(*reversed(one(receiver, "payment_intent.succeeded")))
    assert notice.kind == NoticeKind.OTHER


def test_an_endpoint_made_through_the_api_gets_its_own_secret_and_only_its_events(
    stripe_fake: FakeStripe, start: Start, fake_control: Control
) -> None:
    other = Receiver()
    try:
        made = StripeProvider({"secret_key": SECRET_KEY, "api_base": stripe_fake.url})._call(
            "POST",
            "/v1/webhook_endpoints",
            {"url": other.url, "enabled_events": ["checkout.session.completed"]},
        )
        assert made["secret"].startswith("whsec_")
        assert made["object"] == "webhook_endpoint"
        paid_checkout(start, fake_control, stripe_fake)
        ((headers, body),) = other.events()
        assert json.loads(body)["type"] == "checkout.session.completed"
        reader = StripeProvider({"webhook_secret": made["secret"]})
        assert reader.parse_webhook(body, headers).kind == NoticeKind.PAYMENT
        with pytest.raises(BadWebhook):  # the configured endpoint's secret is another one
            StripeProvider({"webhook_secret": WEBHOOK_SECRET}).parse_webhook(body, headers)
    finally:
        other.stop()


def test_a_huge_body_is_refused_before_its_signature_or_json_is_read(
    provider: StripeProvider,
) -> None:
    event = json.loads(EVENT)
    event["data"]["object"]["padding"] = "x" * 2_000_000
    huge = json.dumps(event).encode()
    with pytest.raises(BadWebhook, match="larger than"):  # even rightly signed
        provider.parse_webhook(huge, signed(huge))
    with pytest.raises(BadWebhook, match="larger than"):
        provider.parse_webhook(huge, signed(EVENT))


def test_the_legacy_refund_update_event_is_a_refund_notice(provider: StripeProvider) -> None:
    body = json.dumps(
        {
            "id": "evt_refund_updated",
            "object": "event",
            "type": "charge.refund.updated",
            "data": {"object": {"id": "re_1", "object": "refund", "payment_intent": "pi_1"}},
        }
    ).encode()
    notice = provider.parse_webhook(body, signed(body))
    assert (notice.kind, notice.object_id, notice.payment_id) == (NoticeKind.REFUND, "re_1", "pi_1")


def test_only_a_v1_signature_made_with_the_secret_is_taken_never_v0(
    provider: StripeProvider,
) -> None:
    t = int(time.time())
    v0 = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + EVENT, hashlib.sha256).hexdigest()
    with pytest.raises(BadWebhook):  # a downgrade to the test-mode scheme
        provider.parse_webhook(EVENT, {"Stripe-Signature": f"t={t},v0={v0}"})
    wrong = "0" * 64
    rolled = f"t={t},v1={wrong},v1={v0}"  # while a secret is rolled, two v1: either verifies
    assert provider.parse_webhook(EVENT, {"Stripe-Signature": rolled}).event_id == "evt_test_1"


def test_a_signed_body_nested_deeper_than_the_parser_goes_is_a_bad_webhook(
    provider: StripeProvider,
) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(BadWebhook, match="not JSON"):
        provider.parse_webhook(deep, signed(deep))
