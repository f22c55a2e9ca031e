"""The NOWPayments adapter against the fake: invoices opened, IPNs verified exactly as
NOWPayments signs them, payments confirmed by asking (whole, in part, over, expired), and
the API's failures told apart (try again later, or refused)."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.nowpayments import FakeNowPayments
from propdesk.wallet.providers.nowpayments import NowPaymentsProvider, status_of
from propdesk.wallet.providers.protocol import (
    BadWebhook,
    CheckoutRequest,
    Notice,
    NoticeKind,
    PaymentProvider,
    ProviderRefused,
    ProviderUnavailable,
    State,
)


def checkout_request(webhook_url: str, **change: Any) -> CheckoutRequest:
    values: dict[str, Any] = {
        "reference": "PAY-7F3K2Q",
        "amount": Decimal("100.00"),
        "currency": "USD",
        "description": "The fee of 2-Step 100K",
        "customer_email": "client@example.com",
        "success_url": "https://firm.example/portal/payments/PAY-7F3K2Q/",
        "cancel_url": "https://firm.example/portal/challenges/",
        "webhook_url": webhook_url,
        "idempotency_key": "checkout-PAY-7F3K2Q",
    }
    return CheckoutRequest(**{**values, **change})


def signed(body: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """A body as NOWPayments sends one: its own key order, signed over the keys sorted."""
    text = json.dumps(dict(sorted(body.items())), separators=(",", ":"))
    signature = hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()
    return json.dumps(body, separators=(",", ":")).encode(), {"x-nowpayments-sig": signature}


def open_and_pay(
    provider: NowPaymentsProvider,
    fake: FakeNowPayments,
    fake_call: Any,
    receiver: Any,
    **pay: Any,
) -> Any:
    checkout = provider.start_checkout(checkout_request(receiver.url))
    status, _ = fake_call(fake, "POST", "/_fake/pay", {"invoice_id": checkout.provider_ref, **pay})
    assert status == 200
    body, headers = receiver.received[-1]
    return checkout, provider.parse_webhook(body, headers)


def test_the_adapter_says_what_it_is_and_keeps_to_the_protocol(
    provider: NowPaymentsProvider,
) -> None:
    checked: PaymentProvider = provider
    assert checked.kind == "nowpayments"
    assert checked.label == "NOWPayments (crypto)"
    assert [(f.key, f.secret) for f in checked.fields] == [
        ("api_key", True),
        ("ipn_secret", True),
        ("api_url", False),
    ]
    assert NowPaymentsProvider.fields[2].default == "https://api.nowpayments.io"
    assert checked.refunds is False
    assert checked.disputes is False


def test_a_checkout_is_an_invoice_for_the_reference_and_its_hosted_page(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    checkout = provider.start_checkout(checkout_request(ipn_receiver.url))
    _, listed = fake_call(nowpayments, "GET", "/_fake/invoices")
    (invoice,) = listed["invoices"]
    assert checkout.provider_ref == invoice["id"]
    assert checkout.url == invoice["invoice_url"]
    assert checkout.expires_at is None
    assert checkout.raw["order_id"] == "PAY-7F3K2Q"
    assert invoice["order_id"] == "PAY-7F3K2Q"
    assert invoice["price_amount"] == "100"
    assert invoice["price_currency"] == "usd"
    assert invoice["ipn_callback_url"] == ipn_receiver.url
    assert invoice["success_url"] == "https://firm.example/portal/payments/PAY-7F3K2Q/"
    assert invoice["partially_paid_url"] == invoice["success_url"]
    assert invoice["cancel_url"] == "https://firm.example/portal/challenges/"


def test_a_retried_checkout_opens_a_second_unpaid_invoice_and_each_is_confirmed_as_its_own(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    first = provider.start_checkout(checkout_request(ipn_receiver.url))
    second = provider.start_checkout(checkout_request(ipn_receiver.url))
    assert first.provider_ref != second.provider_ref
    fake_call(nowpayments, "POST", "/_fake/pay", {"invoice_id": second.provider_ref})
    notice = provider.parse_webhook(*ipn_receiver.received[-1])
    status = provider.confirm(notice)
    assert status.provider_ref == second.provider_ref
    assert status.raw["order_id"] == "PAY-7F3K2Q"


def test_paid_whole_is_paid_at_the_price(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    checkout, notice = open_and_pay(provider, nowpayments, fake_call, ipn_receiver)
    assert notice.kind is NoticeKind.PAYMENT
    assert notice.type == "finished"
    assert notice.provider_ref == checkout.provider_ref
    status = provider.confirm(notice)
    assert status.state is State.PAID
    assert status.received == Decimal("100.00")
    assert status.currency == "USD"
    assert status.provider_ref == checkout.provider_ref
    assert status.payment_id == notice.payment_id
    assert status.raw["payment_status"] == "finished"


def test_paid_in_part_is_the_fiat_worth_of_what_arrived_rounded_down(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    _, notice = open_and_pay(provider, nowpayments, fake_call, ipn_receiver, fraction="0.5")
    status = provider.confirm(notice)
    payment = status.raw
    worth = (
        Decimal("100")
        * Decimal(str(payment["actually_paid"]))
        / Decimal(str(payment["pay_amount"]))
    )
    assert status.state is State.PARTIALLY_PAID
    assert status.received == worth.quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    assert Decimal("49") < status.received < Decimal("50.01")


def test_paid_over_is_more_than_the_price(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    _, notice = open_and_pay(provider, nowpayments, fake_call, ipn_receiver, fraction="1.2")
    status = provider.confirm(notice)
    assert status.state is State.PAID
    assert Decimal("119.99") <= status.received <= Decimal("120.01")


def test_an_expired_payment_received_nothing(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    checkout = provider.start_checkout(checkout_request(ipn_receiver.url))
    fake_call(nowpayments, "POST", "/_fake/expire", {"invoice_id": checkout.provider_ref})
    status = provider.confirm(provider.parse_webhook(*ipn_receiver.received[-1]))
    assert status.state is State.EXPIRED
    assert status.received == Decimal("0.00")


def test_a_payment_on_its_way_is_still_open_with_nothing_received(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    _, notice = open_and_pay(provider, nowpayments, fake_call, ipn_receiver, settle=False)
    assert notice.type == "confirming"
    status = provider.confirm(notice)
    assert status.state is State.OPEN
    assert status.received == Decimal("0.00")


def test_each_status_of_a_payment_is_its_own_event_and_a_replay_is_the_same_one(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    open_and_pay(provider, nowpayments, fake_call, ipn_receiver)
    fake_call(nowpayments, "POST", "/_fake/ipns/replay", {"index": 4})
    ids = [
        provider.parse_webhook(body, headers).event_id for body, headers in ipn_receiver.received
    ]
    assert len(set(ids[:5])) == 5
    assert ids[5] == ids[4]


def test_confirm_believes_the_api_not_the_ipn(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    _, notice = open_and_pay(provider, nowpayments, fake_call, ipn_receiver, settle=False)
    claimed = {
        **notice.raw,
        "payment_status": "finished",
        "actually_paid": 99,
        "price_amount": 9999,
    }
    lying = provider.parse_webhook(*signed(claimed, nowpayments.ipn_secret))
    assert lying.type == "finished"
    status = provider.confirm(lying)
    assert status.state is State.OPEN
    assert status.received == Decimal("0.00")


def test_keys_in_any_order_and_sorted_nested_objects_verify(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments
) -> None:
    body = {"payment_status": "finished", "payment_id": 5000000001, "actually_paid": 0.00166667}
    reordered = dict(reversed(list(body.items())))
    assert provider.parse_webhook(*signed(reordered, nowpayments.ipn_secret)).payment_id == (
        "5000000001"
    )
    nested = {**body, "fee": {"serviceFee": 0.1, "currency": "btc"}}
    text = json.dumps(nested, sort_keys=True, separators=(",", ":"))
    signature = hmac.new(nowpayments.ipn_secret.encode(), text.encode(), hashlib.sha512)
    notice = provider.parse_webhook(
        json.dumps(nested).encode(), {"X-NOWPayments-Sig": signature.hexdigest()}
    )
    assert notice.payment_id == "5000000001"


def test_the_former_references_replacer_array_signature_verifies_with_a_nested_fee(
    provider: NowPaymentsProvider,
) -> None:
    """`JSON.stringify(params, Object.keys(params).sort())`: the array filters nested objects
    to the top-level keys, so `fee`'s own keys are not in the signed string."""
    body = {
        "payment_id": 5000000001,
        "payment_status": "finished",
        "fee": {"currency": "btc", "depositFee": 0.09853637216235617, "serviceFee": 0},
    }
    text = '{"fee":{},"payment_id":5000000001,"payment_status":"finished"}'
    signature = hmac.new(provider.ipn_secret.encode(), text.encode(), hashlib.sha512)
    notice = provider.parse_webhook(
        json.dumps(body).encode(), {"x-nowpayments-sig": signature.hexdigest()}
    )
    assert notice.payment_id == "5000000001"
    other = NowPaymentsProvider({"ipn_secret": "another-secret"})
    with pytest.raises(BadWebhook):
        other.parse_webhook(json.dumps(body).encode(), {"x-nowpayments-sig": signature.hexdigest()})


@pytest.mark.parametrize(
    "case",
    [
        "forged",
        "tampered",
        "no signature",
        "not hex",
        "not json",
        "a list",
        "no payment",
        "huge",
    ],
)
def test_a_bad_ipn_is_refused(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, case: str
) -> None:
    good = {"payment_id": 5000000001, "payment_status": "finished", "actually_paid": 1}
    body, headers = signed(good, nowpayments.ipn_secret)
    if case == "forged":
        body, headers = signed(good, "someone-elses-secret")
    elif case == "tampered":
        body = body.replace(b'"actually_paid":1', b'"actually_paid":100')
    elif case == "no signature":
        headers = {}
    elif case == "not hex":
        headers = {"x-nowpayments-sig": "\u00e9" * 128}
    elif case == "not json":
        body = b"payment_id=5000000001&payment_status=finished"
    elif case == "a list":
        body, headers = signed(good, nowpayments.ipn_secret)
        body = b"[" + body + b"]"
    elif case == "no payment":
        body, headers = signed({"payment_status": "finished"}, nowpayments.ipn_secret)
    elif case == "huge":
        body, headers = signed({**good, "pad": "x" * 70_000}, nowpayments.ipn_secret)
    with pytest.raises(BadWebhook):
        provider.parse_webhook(body, headers)


def test_an_ipn_signed_with_another_secret_than_ours_is_refused(
    nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    ours = NowPaymentsProvider(
        {"api_key": nowpayments.api_key, "ipn_secret": "not-the-one", "api_url": nowpayments.url}
    )
    checkout = ours.start_checkout(checkout_request(ipn_receiver.url))
    fake_call(nowpayments, "POST", "/_fake/pay", {"invoice_id": checkout.provider_ref})
    with pytest.raises(BadWebhook):
        ours.parse_webhook(*ipn_receiver.received[-1])
    unset = NowPaymentsProvider({"api_key": nowpayments.api_key, "api_url": nowpayments.url})
    with pytest.raises(BadWebhook):
        unset.parse_webhook(*ipn_receiver.received[-1])


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_server_errors_and_the_rate_limit_are_unavailable(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, status: int
) -> None:
    fake_call(nowpayments, "POST", "/_fake/fail", {"count": 1, "status": status})
    with pytest.raises(ProviderUnavailable) as failure:
        provider.start_checkout(
            checkout_request("https://firm.example/webhooks/payments/nowpayments/")
        )
    assert failure.value.status == status
    assert fake_call(nowpayments, "GET", "/_fake/invoices")[1] == {"invoices": []}


def test_a_refused_connection_and_a_timeout_are_unavailable(
    nowpayments: FakeNowPayments, fake_call: Any
) -> None:
    slow = NowPaymentsProvider(
        {"api_key": nowpayments.api_key, "ipn_secret": "s", "api_url": nowpayments.url},
        timeout=0.2,
    )
    fake_call(nowpayments, "POST", "/_fake/delay", {"count": 1, "seconds": 2})
    with pytest.raises(ProviderUnavailable):
        slow.start_checkout(checkout_request("https://firm.example/ipn/"))
    gone = NowPaymentsProvider({"api_key": "k", "ipn_secret": "s", "api_url": "http://127.0.0.1:9"})
    with pytest.raises(ProviderUnavailable):
        gone.start_checkout(checkout_request("https://firm.example/ipn/"))


def test_refusals_are_refused_with_the_apis_reason(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments
) -> None:
    with pytest.raises(ProviderRefused) as below:
        provider.start_checkout(
            checkout_request("https://firm.example/ipn/", amount=Decimal("0.50"))
        )
    assert below.value.status == 400
    assert "AMOUNT_MINIMAL_ERROR" in str(below.value)
    assert json.loads(below.value.body)["code"] == "AMOUNT_MINIMAL_ERROR"
    wrong = NowPaymentsProvider({"api_key": "WRONG", "ipn_secret": "s", "api_url": nowpayments.url})
    with pytest.raises(ProviderRefused) as refused:
        wrong.start_checkout(checkout_request("https://firm.example/ipn/"))
    assert refused.value.status == 403
    assert "Invalid api key" in str(refused.value)


def test_confirming_an_unknown_payment_is_refused(provider: NowPaymentsProvider) -> None:
    body, headers = signed({"payment_id": 42, "payment_status": "finished"}, provider.ipn_secret)
    with pytest.raises(ProviderRefused) as refused:
        provider.confirm(provider.parse_webhook(body, headers))
    assert refused.value.status == 404


def test_refunds_and_disputes_are_not_asked_of_nowpayments(provider: NowPaymentsProvider) -> None:
    with pytest.raises(ProviderRefused):
        provider.refund("5000000001", Decimal("10.00"), "USD", idempotency_key="r-1")
    with pytest.raises(ProviderRefused):
        provider.dispute("d-1")
    assert provider.status("4000000001") is None


def test_the_connection_test_says_what_nowpayments_answered(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments
) -> None:
    assert "OK" in provider.test_connection()
    wrong = NowPaymentsProvider({"api_key": "WRONG", "ipn_secret": "s", "api_url": nowpayments.url})
    with pytest.raises(ProviderRefused, match="Invalid api key"):
        wrong.test_connection()
    no_secret = NowPaymentsProvider({"api_key": nowpayments.api_key, "api_url": nowpayments.url})
    with pytest.raises(ProviderRefused, match="IPN secret"):
        no_secret.test_connection()


def test_an_unknown_status_moves_nothing() -> None:
    payment = {
        "payment_id": 5000000001,
        "invoice_id": 4000000001,
        "payment_status": "wrong_asset_confirmed",
        "price_amount": 100,
        "price_currency": "eur",
        "pay_amount": 0.0016,
        "actually_paid": 0.0016,
    }
    status = status_of(payment)
    assert status.state is State.OPEN
    assert status.received == Decimal("0.00")
    assert status.currency == "EUR"
    assert status.provider_ref == "4000000001"


def test_while_nowpayments_is_down_it_is_unavailable(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments
) -> None:
    nowpayments.go_down(60)
    with pytest.raises(ProviderUnavailable):
        provider.test_connection()


@pytest.mark.parametrize("style", ["javascript", "php", "python"])
def test_descriptions_with_accents_and_slashes_verify_however_the_json_was_escaped(
    provider: NowPaymentsProvider, style: str
) -> None:
    body = {
        "payment_id": 5000000001,
        "payment_status": "finished",
        "order_description": "Depósito / 2-Step 100K",
        "pay_amount": 0.00166667,
    }
    text = json.dumps(
        dict(sorted(body.items())), separators=(",", ":"), ensure_ascii=style != "javascript"
    )
    if style == "php":
        text = text.replace("/", "\\/")
    signature = hmac.new(provider.ipn_secret.encode(), text.encode(), hashlib.sha512).hexdigest()
    sent = json.dumps(body, ensure_ascii=False).encode()
    notice = provider.parse_webhook(sent, {"x-nowpayments-sig": signature})
    assert notice.raw["order_description"] == "Depósito / 2-Step 100K"


def test_a_payment_refunded_at_nowpayments_says_all_that_arrived_went_back(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    _, notice = open_and_pay(provider, nowpayments, fake_call, ipn_receiver)
    fake_call(
        nowpayments,
        "POST",
        "/_fake/status",
        {"payment_id": notice.payment_id, "status": "refunded"},
    )
    status = provider.confirm(provider.parse_webhook(*ipn_receiver.received[-1]))
    assert status.state is State.REFUNDED
    assert status.received == Decimal("100.00")
    assert status.refunded == Decimal("100.00")


def test_a_repeated_deposit_is_news_of_the_original_payment_and_moves_no_money_by_itself(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    checkout, paid = open_and_pay(provider, nowpayments, fake_call, ipn_receiver, fraction="0.5")
    status, again = fake_call(
        nowpayments, "POST", "/_fake/redeposit", {"payment_id": paid.payment_id, "fraction": "0.5"}
    )
    assert status == 200
    notice = provider.parse_webhook(*ipn_receiver.received[-1])
    assert notice.kind is NoticeKind.OTHER
    assert notice.payment_id == paid.payment_id  # the core finds the checkout by it
    assert notice.object_id == str(again["payment_id"])
    assert notice.raw["parent_payment_id"] == int(paid.payment_id)
    assert notice.event_id != paid.event_id
    # The checkout's own payment is what `confirm` tells: unchanged by the re-deposit.
    status_after = provider.confirm(paid)
    assert status_after.state is State.PARTIALLY_PAID
    assert status_after.provider_ref == checkout.provider_ref
    assert status_after.received < Decimal("50.01")


def test_a_partial_payment_the_firm_marked_cancelled_still_counts_what_arrived(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    _, paid = open_and_pay(provider, nowpayments, fake_call, ipn_receiver, fraction="0.5")
    before = provider.confirm(paid)
    fake_call(
        nowpayments, "POST", "/_fake/status", {"payment_id": paid.payment_id, "status": "cancelled"}
    )
    notice = provider.parse_webhook(*ipn_receiver.received[-1])
    assert notice.type == "cancelled"
    status = provider.confirm(notice)
    assert status.state is State.PARTIALLY_PAID
    assert status.received == before.received > Decimal("49")
    assert status.refunded == Decimal("0")


def test_a_finished_payment_a_little_short_is_paid_at_the_price(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    """NOWPayments may finish a payment a little short (the account's covering setting):
    finished is the firm's word that the price was paid."""
    _, confirming = open_and_pay(
        provider, nowpayments, fake_call, ipn_receiver, fraction="0.99", settle=False
    )
    fake_call(
        nowpayments,
        "POST",
        "/_fake/status",
        {"payment_id": confirming.payment_id, "status": "finished"},
    )
    status = provider.confirm(provider.parse_webhook(*ipn_receiver.received[-1]))
    assert status.state is State.PAID
    assert status.received == Decimal("100.00")


def test_a_checkout_is_confirmed_by_the_payment_id_its_ipn_gave_not_by_the_invoice_alone(
    provider: NowPaymentsProvider, nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    checkout, paid = open_and_pay(provider, nowpayments, fake_call, ipn_receiver)
    by_invoice = Notice(
        event_id="", kind=NoticeKind.PAYMENT, type="confirm", provider_ref=checkout.provider_ref
    )
    with pytest.raises(ProviderRefused, match="payment id, from its IPN"):
        provider.confirm(by_invoice)
    kept = Notice(
        event_id="",
        kind=NoticeKind.PAYMENT,
        type="confirm",
        provider_ref=checkout.provider_ref,
        payment_id=paid.payment_id,
    )
    assert provider.confirm(kept).state is State.PAID
