"""The fake NOWPayments answers as the documentation says NOWPayments does: the key, the
error bodies, the validation, the minimum, the statuses and their signed IPNs."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from propdesk.cli import build_parser
from propdesk.wallet.providers.fakes.nowpayments import FakeNowPayments, command

INVOICE = {
    "price_amount": 100,
    "price_currency": "usd",
    "order_id": "PD-ORDER-1",
    "order_description": "The fee of 2-Step 100K",
    "success_url": "https://firm.example/back",
    "cancel_url": "https://firm.example/cancel",
}


def invoice_for(fake: FakeNowPayments, fake_call: Any, **extra: Any) -> dict[str, Any]:
    status, invoice = fake_call(fake, "POST", "/v1/invoice", {**INVOICE, **extra})
    assert status == 200, invoice
    return dict(invoice)


def documented_signature(body: bytes, secret: str) -> str:
    """As the reference's Python example does it: every level's keys sorted, compact,
    HMAC-SHA512 with the IPN secret."""
    params = json.loads(body)
    text = json.dumps(params, separators=(",", ":"), sort_keys=True)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def test_the_status_answers_ok_without_a_key(nowpayments: FakeNowPayments, fake_call: Any) -> None:
    assert fake_call(nowpayments, "GET", "/v1/status", key=None) == (200, {"message": "OK"})


@pytest.mark.parametrize("key", [None, "WRONG00-KEY0000-0000000-0000000"])
def test_a_missing_or_wrong_key_is_refused_with_the_apis_body(
    nowpayments: FakeNowPayments, fake_call: Any, key: str | None
) -> None:
    status, body = fake_call(nowpayments, "POST", "/v1/invoice", INVOICE, key=key)
    assert status == 403
    assert body == {
        "status": False,
        "statusCode": 403,
        "code": "INVALID_API_KEY",
        "message": "Invalid api key",
    }
    assert fake_call(nowpayments, "GET", "/_fake/invoices")[1] == {"invoices": []}


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"price_amount": None}, "INVALID_REQUEST_PARAMS", "price_amount is required"),
        ({"price_amount": "ten"}, "INVALID_REQUEST_PARAMS", "price_amount must be a number"),
        ({"price_amount": -5}, "INVALID_REQUEST_PARAMS", "price_amount must be a positive number"),
        ({"price_currency": ""}, "INVALID_REQUEST_PARAMS", "price_currency is required"),
        ({"price_currency": "xyz"}, "CURRENCY_UNAVAILABLE", "Currency xyz is unavailable"),
        ({"pay_currency": "doge"}, "CURRENCY_UNAVAILABLE", "Currency doge is unavailable"),
        ({"success_url": "not a url"}, "INVALID_REQUEST_PARAMS", "success_url must be a valid uri"),
        (
            {"ipn_callback_url": "ftp://x"},
            "INVALID_REQUEST_PARAMS",
            "ipn_callback_url must be a valid uri",
        ),
        ({"order_id": 12}, "INVALID_REQUEST_PARAMS", "order_id must be a string"),
        ({"price_amount": "0.50"}, "AMOUNT_MINIMAL_ERROR", "amountTo is too small"),
        (
            {"price_amount": 3, "pay_currency": "btc"},
            "AMOUNT_MINIMAL_ERROR",
            "amountTo is too small",
        ),
    ],
)
def test_bad_invoices_are_refused_with_the_apis_error_body_and_nothing_is_made(
    nowpayments: FakeNowPayments, fake_call: Any, change: dict[str, Any], code: str, message: str
) -> None:
    body = {k: v for k, v in {**INVOICE, **change}.items() if v is not None}
    status, answer = fake_call(nowpayments, "POST", "/v1/invoice", body)
    assert (status, answer) == (
        400,
        {"status": False, "statusCode": 400, "code": code, "message": message},
    )
    assert fake_call(nowpayments, "GET", "/_fake/invoices")[1] == {"invoices": []}


def test_a_body_that_is_not_json_is_a_validation_error(
    nowpayments: FakeNowPayments, fake_call: Any
) -> None:
    status, answer = fake_call(nowpayments, "POST", "/v1/invoice", b"{price_amount: 1")
    assert status == 400
    assert answer["code"] == "INVALID_REQUEST_PARAMS"


def test_an_invoice_is_answered_in_the_documented_shape(
    nowpayments: FakeNowPayments, fake_call: Any
) -> None:
    invoice = invoice_for(nowpayments, fake_call, price_amount=99.99)
    assert invoice["order_id"] == "PD-ORDER-1"
    assert invoice["price_amount"] == "99.99"  # a string, as the API answers it
    assert invoice["price_currency"] == "usd"
    assert invoice["pay_currency"] is None
    assert invoice["invoice_url"] == f"{nowpayments.url}/payment/?iid={invoice['id']}"
    assert re.fullmatch(r"\d+", invoice["id"])
    assert re.fullmatch(r"\d+", invoice["token_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", invoice["created_at"])
    assert {"success_url", "cancel_url", "partially_paid_url", "is_fixed_rate"} <= set(invoice)


def test_an_unknown_payment_is_not_found_and_a_bad_id_is_invalid(
    nowpayments: FakeNowPayments, fake_call: Any
) -> None:
    status, answer = fake_call(nowpayments, "GET", "/v1/payment/123")
    assert status == 404
    assert answer["code"] == "PAYMENT_NOT_FOUND"
    status, answer = fake_call(nowpayments, "GET", "/v1/payment/abc")
    assert status == 400
    assert answer["code"] == "INVALID_REQUEST_PARAMS"


def test_each_status_change_is_told_by_an_ipn_signed_as_documented(
    nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    invoice = invoice_for(nowpayments, fake_call, ipn_callback_url=ipn_receiver.url)
    status, payment = fake_call(nowpayments, "POST", "/_fake/pay", {"invoice_id": invoice["id"]})
    assert status == 200
    assert payment["payment_status"] == "finished"
    assert ipn_receiver.statuses() == ["waiting", "confirming", "confirmed", "sending", "finished"]
    for body, headers in ipn_receiver.received:
        assert headers["content-type"] == "application/json"
        assert headers["x-nowpayments-sig"] == documented_signature(body, nowpayments.ipn_secret)
        assert next(iter(json.loads(body))) == "payment_id"  # sent unsorted, signed sorted
    last = json.loads(ipn_receiver.received[-1][0])
    # The documented webhook's extra fields: a re-deposit's parent, extra ids, a nested fee.
    assert last.pop("parent_payment_id") is None
    assert last.pop("payment_extra_ids") is None
    fee = last.pop("fee")
    assert list(fee) == ["currency", "depositFee", "withdrawalFee", "serviceFee"]
    assert fee["currency"] == last["pay_currency"]
    assert fake_call(nowpayments, "GET", f"/v1/payment/{last['payment_id']}")[1] == last
    assert last["invoice_id"] == int(invoice["id"])
    assert last["order_id"] == "PD-ORDER-1"
    assert last["actually_paid"] == last["pay_amount"]


def test_a_part_paid_payment_ends_partially_paid_and_an_over_paid_one_finished(
    nowpayments: FakeNowPayments, fake_call: Any
) -> None:
    part = invoice_for(nowpayments, fake_call, order_id="PART")
    over = invoice_for(nowpayments, fake_call, order_id="OVER")
    _, paid_part = fake_call(
        nowpayments, "POST", "/_fake/pay", {"order_id": "PART", "fraction": "0.5"}
    )
    _, paid_over = fake_call(
        nowpayments, "POST", "/_fake/pay", {"invoice_id": over["id"], "fraction": "1.2"}
    )
    assert paid_part["payment_status"] == "partially_paid"
    assert paid_part["invoice_id"] == int(part["id"])
    assert paid_part["actually_paid"] < paid_part["pay_amount"]
    assert paid_over["payment_status"] == "finished"
    assert paid_over["actually_paid"] > paid_over["pay_amount"]


def test_a_payment_waits_confirming_until_advanced(
    nowpayments: FakeNowPayments, fake_call: Any
) -> None:
    invoice = invoice_for(nowpayments, fake_call)
    _, payment = fake_call(
        nowpayments, "POST", "/_fake/pay", {"invoice_id": invoice["id"], "settle": False}
    )
    assert payment["payment_status"] == "confirming"
    _, payment = fake_call(
        nowpayments, "POST", "/_fake/advance", {"payment_id": payment["payment_id"]}
    )
    assert payment["payment_status"] == "finished"


def test_an_expired_payment_is_told_and_then_takes_no_more(
    nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    invoice = invoice_for(nowpayments, fake_call, ipn_callback_url=ipn_receiver.url)
    _, payment = fake_call(nowpayments, "POST", "/_fake/expire", {"invoice_id": invoice["id"]})
    assert payment["payment_status"] == "expired"
    assert payment["actually_paid"] == 0
    status, _ = fake_call(nowpayments, "POST", "/_fake/pay", {"invoice_id": invoice["id"]})
    assert status == 409
    assert ipn_receiver.statuses() == ["waiting", "expired"]


def test_an_ipn_is_replayed_with_the_same_body_and_signature(
    nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    invoice = invoice_for(nowpayments, fake_call, ipn_callback_url=ipn_receiver.url)
    fake_call(nowpayments, "POST", "/_fake/pay", {"invoice_id": invoice["id"]})
    _, sent = fake_call(nowpayments, "GET", "/_fake/ipns")
    assert [i["answered"] for i in sent["ipns"]] == [200] * 5
    fake_call(nowpayments, "POST", "/_fake/ipns/replay", {"index": 4})
    body, headers = ipn_receiver.received[-1]
    assert body == ipn_receiver.received[4][0]
    assert headers["x-nowpayments-sig"] == ipn_receiver.received[4][1]["x-nowpayments-sig"]
    assert len(ipn_receiver.received) == 6


def test_the_payer_picks_a_coin_and_pays_on_the_hosted_page(
    nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    invoice = invoice_for(nowpayments, fake_call, ipn_callback_url=ipn_receiver.url)
    page = urllib.request.urlopen(invoice["invoice_url"]).read().decode()
    assert 'value="btc"' in page
    assert "100 USD" in page
    form = urllib.parse.urlencode({"coin": "ltc"}).encode()
    page = urllib.request.urlopen(invoice["invoice_url"], data=form).read().decode()
    asked = re.search(r'id="pay-amount">([\d.]+)<', page)
    assert asked is not None
    assert "LTC" in page
    send = urllib.parse.urlencode({"amount": asked.group(1)}).encode()
    pay_url = f"{nowpayments.url}/payment/pay?iid={invoice['id']}"
    page = urllib.request.urlopen(pay_url, data=send).read().decode()
    assert 'id="status">finished<' in page
    assert 'href="https://firm.example/back"' in page
    assert ipn_receiver.statuses()[-1] == "finished"


def test_ordered_faults_answer_as_the_api_does_then_pass(
    nowpayments: FakeNowPayments, fake_call: Any
) -> None:
    fake_call(nowpayments, "POST", "/_fake/fail", {"count": 1, "status": 503})
    fake_call(nowpayments, "POST", "/_fake/fail", {"count": 1, "status": 429, "path": "invoice"})
    status, answer = fake_call(nowpayments, "GET", "/v1/currencies")
    assert status == 503
    assert answer["statusCode"] == 503
    status, answer = fake_call(nowpayments, "POST", "/v1/invoice", INVOICE)
    assert status == 429
    assert "429 Too Many Requests" in answer
    assert fake_call(nowpayments, "POST", "/v1/invoice", INVOICE)[0] == 200


def test_the_books_survive_a_restart_with_a_state_file(tmp_path: Any, fake_call: Any) -> None:
    state = tmp_path / "nowpayments.json"
    first = FakeNowPayments(state_file=state).start()
    try:
        invoice = invoice_for(first, fake_call)
        fake_call(first, "POST", "/_fake/pay", {"invoice_id": invoice["id"], "fraction": "0.5"})
    finally:
        first.stop()
    second = FakeNowPayments(state_file=state).start()
    try:
        _, listed = fake_call(second, "GET", "/_fake/invoices")
        assert [i["id"] for i in listed["invoices"]] == [invoice["id"]]
        assert listed["invoices"][0]["payment"]["payment_status"] == "partially_paid"
        assert invoice_for(second, fake_call)["id"] != invoice["id"]
    finally:
        second.stop()


def test_the_minimum_is_told_per_coin(nowpayments: FakeNowPayments, fake_call: Any) -> None:
    status, answer = fake_call(
        nowpayments, "GET", "/v1/min-amount?currency_from=btc&currency_to=usd"
    )
    assert status == 200
    assert answer["currency_from"] == "btc"
    assert answer["min_amount"] > 0


def test_the_fake_runs_as_propdesk_fake_vendor_nowpayments() -> None:
    ns = build_parser().parse_args(
        ["fake-vendor", "nowpayments", "--port", "9300", "--state", "np.json"]
    )
    assert (ns.fake_vendor, ns.port, ns.state) == ("nowpayments", 9300, "np.json")
    assert ns.func is command.run


def test_coins_sent_again_to_a_paid_address_are_a_payment_of_their_own_naming_the_parent(
    nowpayments: FakeNowPayments, fake_call: Any, ipn_receiver: Any
) -> None:
    invoice = invoice_for(nowpayments, fake_call, ipn_callback_url=ipn_receiver.url)
    _, waiting = fake_call(nowpayments, "POST", "/_fake/redeposit", {"invoice_id": invoice["id"]})
    assert waiting["code"] == "NOT_PAID"
    _, paid = fake_call(nowpayments, "POST", "/_fake/pay", {"invoice_id": invoice["id"]})
    status, again = fake_call(
        nowpayments,
        "POST",
        "/_fake/redeposit",
        {"payment_id": paid["payment_id"], "amount": "0.001"},
    )
    assert status == 200
    assert again["payment_id"] != paid["payment_id"]
    assert again["payment_status"] == "partially_paid"
    assert (again["invoice_id"], again["order_id"]) == (None, None)  # as the documented example
    assert again["actually_paid"] == again["pay_amount"] == 0.001
    assert again["pay_currency"] == paid["pay_currency"]
    body, headers = ipn_receiver.received[-1]
    told = json.loads(body)
    assert told["parent_payment_id"] == paid["payment_id"]
    assert headers["x-nowpayments-sig"] == documented_signature(body, nowpayments.ipn_secret)
    assert fake_call(nowpayments, "GET", f"/v1/payment/{paid['payment_id']}")[1] == paid
