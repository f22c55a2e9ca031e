"""The fake Stripe answers as Stripe's documentation says: its gate (keys, limits, idempotency
keys), its error bodies, its parameters in bracket notation, the hosted page and its state
across a restart."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from propdesk.wallet.providers.fakes.stripe import FakeStripe
from propdesk.wallet.providers.protocol import Checkout
from tests.wallet.providers.stripe.conftest import DIRECT, SECRET_KEY

Start = Callable[..., Checkout]
SESSION = {
    "mode": "payment",
    "line_items[0][price_data][currency]": "usd",
    "line_items[0][price_data][unit_amount]": "1999",
    "line_items[0][price_data][product_data][name]": "The fee of 1-Step 10K",
    "line_items[0][quantity]": "2",
    "success_url": "https://firm.example/ok?session={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://firm.example/cancelled",
    "metadata[reference]": "ref-1",
}


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, body

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.json["error"]
        return error


def call(
    fake: FakeStripe,
    method: str,
    path: str,
    form: dict[str, str] | str | None = None,
    *,
    auth: str | None = f"Bearer {SECRET_KEY}",
    headers: dict[str, str] | None = None,
) -> Answer:
    body = None
    if form is not None:
        text = form if isinstance(form, str) else urllib.parse.urlencode(form)
        body = text.encode()
    request = urllib.request.Request(fake.url + path, data=body, method=method)
    if auth:
        request.add_header("Authorization", auth)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with DIRECT.open(request) as answer:
            return Answer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as refused:
        return Answer(refused.code, refused.headers, refused.read())


def test_a_checkout_session_is_made_from_bracket_notation_in_minor_units(
    stripe_fake: FakeStripe,
) -> None:
    answer = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION)
    assert answer.status == 200
    session = answer.json
    assert session["object"] == "checkout.session"
    assert (session["amount_total"], session["currency"]) == (3998, "usd")
    assert session["metadata"] == {"reference": "ref-1"}
    assert (session["status"], session["payment_status"], session["payment_intent"]) == (
        "open",
        "unpaid",
        None,
    )
    items = call(stripe_fake, "GET", f"/v1/checkout/sessions/{session['id']}/line_items").json
    assert items["object"] == "list"
    assert items["data"][0]["quantity"] == 2
    assert items["data"][0]["price"]["unit_amount"] == 1999


def test_an_unknown_path_is_answered_404_in_stripes_shape(stripe_fake: FakeStripe) -> None:
    answer = call(stripe_fake, "GET", "/v1/nothing_here")
    assert answer.status == 404
    assert answer.error["type"] == "invalid_request_error"
    assert answer.error["message"].startswith("Unrecognized request URL (GET: /v1/nothing_here)")


def test_a_missing_object_is_resource_missing_naming_the_parameter(
    stripe_fake: FakeStripe,
) -> None:
    answer = call(stripe_fake, "GET", "/v1/checkout/sessions/cs_test_nothing")
    assert answer.status == 404
    assert answer.error["code"] == "resource_missing"
    assert answer.error["message"] == "No such checkout.session: 'cs_test_nothing'"
    assert answer.error["param"] == "session"


def test_no_key_is_401(stripe_fake: FakeStripe) -> None:
    answer = call(stripe_fake, "GET", "/v1/balance", auth=None)
    assert answer.status == 401
    assert answer.error["type"] == "invalid_request_error"
    assert "You did not provide an API key" in answer.error["message"]


def test_a_wrong_key_is_401_and_shown_masked(stripe_fake: FakeStripe) -> None:
    answer = call(stripe_fake, "GET", "/v1/balance", auth="Bearer sk_test_abcdefghijkl9876")
    assert answer.status == 401
    assert answer.error["message"] == "Invalid API Key provided: sk_test_****9876"


def test_a_key_with_characters_no_key_has_is_401_not_a_dropped_connection(
    stripe_fake: FakeStripe,
) -> None:
    answer = call(stripe_fake, "GET", "/v1/balance", auth="Bearer sk_test_caf\u00e9_1234567890")
    assert answer.status == 401
    assert answer.error["message"].startswith("Invalid API Key provided")


def test_the_key_may_be_basic_auths_user_name(stripe_fake: FakeStripe) -> None:
    basic = base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    answer = call(stripe_fake, "GET", "/v1/balance", auth=f"Basic {basic}")
    assert answer.status == 200
    assert answer.json["object"] == "balance"


@pytest.mark.parametrize(
    ("drop", "add", "param", "code"),
    [
        (
            "line_items[0][price_data][currency]",
            {},
            "line_items[0][price_data][currency]",
            "parameter_missing",
        ),
        ("mode", {}, "mode", "parameter_missing"),
        (
            "",
            {"line_items[0][quantity]": "two"},
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            "",
            {"line_items[0][price_data][unit_amount]": "-5"},
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        ("", {"colour": "blue"}, "colour", "parameter_unknown"),
        ("", {"success_url": "javascript:alert(1)"}, "success_url", "url_invalid"),
        ("", {"cancel_url": "https://x.example/\r\nSet-Cookie: a=b"}, "cancel_url", "url_invalid"),
        ("", {"customer_email": "not an email"}, "customer_email", "email_invalid"),
        (
            "",
            {"line_items[0][price_data][unit_amount]": "999999999"},
            "line_items[0][price_data][unit_amount]",
            "amount_too_large",
        ),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    drop: str, add: dict[str, str], param: str, code: str, stripe_fake: FakeStripe
) -> None:
    form = {k: v for k, v in SESSION.items() if k != drop} | add
    answer = call(stripe_fake, "POST", "/v1/checkout/sessions", form)
    assert answer.status == 400
    assert (answer.error["param"], answer.error["code"]) == (param, code)
    assert answer.error["type"] == "invalid_request_error"
    assert stripe_fake.book.all("checkout.session") == []


def test_an_expiry_outside_half_an_hour_to_a_day_is_refused(stripe_fake: FakeStripe) -> None:
    answer = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION | {"expires_at": "1"})
    assert answer.status == 400
    assert answer.error["param"] == "expires_at"


def test_an_expiry_within_half_an_hour_to_a_day_is_taken_as_a_timestamp_not_an_amount(
    stripe_fake: FakeStripe,
) -> None:
    in_an_hour = int(time.time()) + 3600
    answer = call(
        stripe_fake, "POST", "/v1/checkout/sessions", SESSION | {"expires_at": str(in_an_hour)}
    )
    assert answer.status == 200, answer.json
    assert answer.json["expires_at"] == in_an_hour
    too_late = str(int(time.time()) + 2 * 86400)
    answer = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION | {"expires_at": too_late})
    assert (answer.status, answer.error["param"]) == (400, "expires_at")
    assert "code" not in answer.error  # not an amount_too_large


def test_a_total_past_stripes_largest_amount_is_refused(stripe_fake: FakeStripe) -> None:
    form = SESSION | {"line_items[0][price_data][unit_amount]": "99999999"}  # twice that
    answer = call(stripe_fake, "POST", "/v1/checkout/sessions", form)
    assert (answer.status, answer.error["code"]) == (400, "amount_too_large")
    assert stripe_fake.book.all("checkout.session") == []


def test_adaptive_pricing_may_be_turned_off_and_only_with_a_boolean(
    stripe_fake: FakeStripe,
) -> None:
    off = call(
        stripe_fake,
        "POST",
        "/v1/checkout/sessions",
        SESSION | {"adaptive_pricing[enabled]": "false"},
    )
    assert (off.status, off.json["adaptive_pricing"]) == (200, {"enabled": False})
    bad = call(
        stripe_fake, "POST", "/v1/checkout/sessions", SESSION | {"adaptive_pricing[enabled]": "no"}
    )
    assert (bad.status, bad.error["param"]) == (400, "adaptive_pricing[enabled]")


def test_an_idempotency_key_older_than_a_day_is_pruned_and_makes_a_new_request(
    stripe_fake: FakeStripe,
) -> None:
    key = {"Idempotency-Key": "old-key"}
    first = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION, headers=key)
    again = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION, headers=key)
    assert again.json["id"] == first.json["id"]
    stripe_fake.book.idempotent["old-key"]["saved_at"] -= 2 * 86400  # two days on
    later = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION, headers=key)
    assert later.status == 200
    assert later.json["id"] != first.json["id"]
    assert "Idempotent-Replayed" not in later.headers


def test_metadata_past_stripes_limits_is_refused(stripe_fake: FakeStripe) -> None:
    form = SESSION | {f"metadata[k{i}]": "v" for i in range(51)}
    assert call(stripe_fake, "POST", "/v1/checkout/sessions", form).status == 400
    form = SESSION | {"metadata[reference]": "x" * 501}
    assert call(stripe_fake, "POST", "/v1/checkout/sessions", form).status == 400


def test_a_body_that_is_not_a_form_is_refused(stripe_fake: FakeStripe) -> None:
    answer = call(stripe_fake, "POST", "/v1/checkout/sessions", "mode=payment&line_items[0=x")
    assert answer.status == 400
    assert answer.error["type"] == "invalid_request_error"


def test_an_idempotent_request_repeated_is_answered_the_same_and_marked_replayed(
    stripe_fake: FakeStripe,
) -> None:
    key = {"Idempotency-Key": "same-key"}
    first = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION, headers=key)
    again = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION, headers=key)
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    other = call(
        stripe_fake,
        "POST",
        "/v1/checkout/sessions",
        SESSION | {"customer_email": "a@b.co"},
        headers=key,
    )
    assert other.status == 400
    assert other.error["type"] == "idempotency_error"
    assert len(stripe_fake.book.all("checkout.session")) == 1


def test_a_request_that_failed_validation_is_not_kept_under_its_key(
    stripe_fake: FakeStripe,
) -> None:
    key = {"Idempotency-Key": "fixed-later"}
    bad = call(stripe_fake, "POST", "/v1/checkout/sessions", {"mode": "payment"}, headers=key)
    assert bad.status == 400
    good = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION, headers=key)
    assert good.status == 200


def test_an_idempotency_key_longer_than_255_is_refused(stripe_fake: FakeStripe) -> None:
    answer = call(
        stripe_fake,
        "POST",
        "/v1/checkout/sessions",
        SESSION,
        headers={"Idempotency-Key": "k" * 256},
    )
    assert answer.status == 400


def test_past_the_request_limit_it_answers_429_rate_limit() -> None:
    # Counted over an hour, so that a slow machine still makes its requests inside the window.
    with FakeStripe(secret_key=SECRET_KEY, rate_limit=2, rate_window=3600) as fake:
        answers = [call(fake, "GET", "/v1/balance").status for _ in range(3)]
        limited = call(fake, "GET", "/v1/balance")
    assert answers[:2] == [200, 200]
    assert limited.status == 429
    assert limited.error["code"] == "rate_limit"


def test_an_only_open_session_can_be_expired(stripe_fake: FakeStripe) -> None:
    session = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION).json
    path = f"/v1/checkout/sessions/{session['id']}/expire"
    assert call(stripe_fake, "POST", path).json["status"] == "expired"
    again = call(stripe_fake, "POST", path)
    assert again.status == 400
    assert "expired" in again.error["message"]


@pytest.mark.parametrize(
    ("currency", "minor", "shown"),
    [("usd", "1999", "19.99 USD"), ("jpy", "1999", "1999 JPY"), ("kwd", "19990", "19.990 KWD")],
)
def test_the_hosted_page_shows_the_amount_in_the_currencys_own_decimals(
    currency: str, minor: str, shown: str, stripe_fake: FakeStripe
) -> None:
    form = SESSION | {
        "line_items[0][price_data][currency]": currency,
        "line_items[0][price_data][unit_amount]": minor,
        "line_items[0][quantity]": "1",
    }
    session = call(stripe_fake, "POST", "/v1/checkout/sessions", form).json
    page = call(stripe_fake, "GET", f"/c/pay/{session['id']}", auth=None)
    assert shown in page.raw.decode()


def test_the_hosted_page_takes_a_test_card_and_sends_the_customer_back(
    stripe_fake: FakeStripe,
) -> None:
    session = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION).json
    shown = call(stripe_fake, "GET", f"/c/pay/{session['id']}", auth=None)
    assert shown.status == 200
    assert b"39.98 USD" in shown.raw
    assert b"The fee of 1-Step 10K" in shown.raw
    declined = call(
        stripe_fake,
        "POST",
        f"/c/pay/{session['id']}",
        {"cardnumber": "4000 0000 0000 0002"},
        auth=None,
    )
    assert declined.status == 402
    assert b"Your card was declined." in declined.raw

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    request = urllib.request.Request(
        f"{stripe_fake.url}/c/pay/{session['id']}",
        data=b"cardnumber=4242424242424242&email=t%40example.com",
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(request)
    assert redirected.value.code == 303
    assert (
        redirected.value.headers["Location"] == f"https://firm.example/ok?session={session['id']}"
    )
    after = call(stripe_fake, "GET", f"/v1/checkout/sessions/{session['id']}").json
    assert (after["status"], after["payment_status"], after["url"]) == ("complete", "paid", None)
    assert after["customer_details"]["email"] == "t@example.com"


def test_a_card_not_among_the_test_cards_is_declined_as_in_test_mode(
    stripe_fake: FakeStripe,
) -> None:
    session = call(stripe_fake, "POST", "/v1/checkout/sessions", SESSION).json
    path = f"/_fake/checkout/sessions/{session['id']}/pay"
    real = call(stripe_fake, "POST", path, json.dumps({"card": "4111111111111111"}))
    assert real.error["decline_code"] == "test_mode_live_card"
    wrong = call(stripe_fake, "POST", path, json.dumps({"card": "4242424242424241"}))
    assert wrong.error["code"] == "incorrect_number"


def test_what_it_keeps_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "stripe.json"
    with FakeStripe(secret_key=SECRET_KEY, state_file=state) as fake:
        made = call(
            fake, "POST", "/v1/checkout/sessions", SESSION, headers={"Idempotency-Key": "kept"}
        ).json
        port = fake.port
    with FakeStripe(secret_key=SECRET_KEY, state_file=state, port=port) as again:
        assert call(again, "GET", f"/v1/checkout/sessions/{made['id']}").json == made
        replay = call(
            again, "POST", "/v1/checkout/sessions", SESSION, headers={"Idempotency-Key": "kept"}
        )
        assert replay.json["id"] == made["id"]


def test_going_down_refuses_connections_then_it_answers_again(stripe_fake: FakeStripe) -> None:
    stripe_fake.go_down(60)
    with pytest.raises(urllib.error.URLError):
        DIRECT.open(urllib.request.Request(stripe_fake.url + "/v1/balance"), timeout=2)
    assert stripe_fake.up()
    assert call(stripe_fake, "GET", "/v1/balance").status == 200


def test_the_command_line_runs_it_as_a_vendor_of_its_own() -> None:
    from propdesk.cli import build_parser
    from propdesk.wallet.providers.fakes.stripe import command

    ns = build_parser().parse_args(
        ["fake-vendor", "stripe", "--port", "9200", "--state", "s.json", "--webhook-secret", "w"]
    )
    assert ns.func is command.run
    assert (ns.port, ns.state, ns.webhook_secret) == (9200, "s.json", "w")
