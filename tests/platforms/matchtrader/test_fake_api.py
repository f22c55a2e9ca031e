"""The fake Match-Trader answers as the Broker API v2 documentation says: the key in the
Authorization header, the error body, validation, optimistic locking, the request limit,
pages; and its books, market and fake-only controls behave. No database here."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal

import pytest

from propdesk.cli import build_parser
from propdesk.platforms.matchtrader.fake import Offer
from tests.platforms.matchtrader.factories import (
    CHALLENGE,
    call,
    control,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
)

ERROR_FIELDS = {"status", "type", "title", "detail", "path", "timestamp"}


def user(fake, email="ann@example.com"):
    status, _, answer = call(
        fake, "POST", "/v1/user-accounts", {"email": email, "password": "Secret123"}
    )
    assert status == 200, answer
    return answer


def trading_account(fake, email="ann@example.com", group=CHALLENGE.group, deposit="0"):
    owner = user(fake, email)
    status, _, answer = call(
        fake,
        "POST",
        f"/v1/user-accounts/{owner['uuid']}/trading-accounts",
        {
            "group": group,
            "leverageRatioPercent": 10000,
            "accountType": "DEMO",
            "accountDetails": {"firstName": "Ann"},
        },
    )
    assert status == 200, answer
    if Decimal(deposit):
        call(
            fake,
            "POST",
            f"/v1/trading-accounts/{answer['login']}/deposit",
            {"amount": float(deposit), "comment": "start"},
        )
    return answer


def test_a_request_without_the_key_is_refused_with_the_documented_error_body(fake):
    status, _, answer = call(fake, "GET", "/v1/offers", key=None)
    assert status == 401
    assert set(answer) == ERROR_FIELDS
    assert answer["status"] == 401
    assert answer["path"] == "/v1/offers"


def test_a_wrong_key_is_refused(fake):
    status, _, answer = call(fake, "GET", "/v1/offers", key="not-the-key")
    assert (status, answer["title"]) == (401, "Unauthorized")


def test_the_key_is_taken_with_or_without_the_bearer_word(fake):
    status, _, _ = call(fake, "GET", "/v1/offers", key=f"Bearer {fake.api_key}")
    bare = call(fake, "GET", "/v1/offers", key=fake.api_key)
    assert status == 200
    assert bare[0] == 200


def test_offers_are_the_pre_configured_ones_with_their_groups(fake):
    _, _, answer = call(fake, "GET", "/v1/offers")
    assert [(o["name"], o["groupName"], o["currency"], o["demo"]) for o in answer["offers"]] == [
        ("Challenge 100K", "challenge-usd", "USD", True),
        ("Funded", "funded-usd", "USD", False),
    ]


def test_offers_given_to_the_fake_keep_a_stable_uuid():
    assert Offer("Pro", "pro-usd").uuid == Offer.parse("Pro:pro-usd:USD:live").uuid
    assert Offer.parse("Pro:pro-usd:EUR:live:50") == Offer("Pro", "pro-usd", "EUR", False, 50)


def test_a_user_account_without_a_password_is_a_validation_error_naming_it(fake):
    status, _, answer = call(fake, "POST", "/v1/user-accounts", {"email": "ann@example.com"})
    assert status == 400
    assert answer["detail"].startswith("password")


def test_a_weak_password_is_refused(fake):
    status, _, answer = call(
        fake, "POST", "/v1/user-accounts", {"email": "ann@example.com", "password": "lowercase"}
    )
    assert status == 400
    assert "uppercase" in answer["detail"]


def test_a_second_user_account_with_the_same_email_is_a_conflict(fake):
    user(fake)
    status, _, answer = call(
        fake, "POST", "/v1/user-accounts", {"email": "ANN@example.com", "password": "Secret123"}
    )
    assert status == 409
    assert answer["type"] == "error://broker-api/user-account/already-exists"


def test_a_user_account_is_found_by_its_email(fake):
    made = user(fake)
    status, _, found = call(fake, "GET", "/v1/user-accounts/email/ann@example.com")
    assert status == 200
    assert found["uuid"] == made["uuid"]


def test_an_unknown_email_is_not_found(fake):
    status, _, answer = call(fake, "GET", "/v1/user-accounts/email/nobody@example.com")
    assert status == 404
    assert set(answer) == ERROR_FIELDS


def test_a_trading_account_in_an_unknown_group_is_refused(fake):
    owner = user(fake)
    status, _, answer = call(
        fake,
        "POST",
        f"/v1/user-accounts/{owner['uuid']}/trading-accounts",
        {
            "group": "nope",
            "leverageRatioPercent": 10000,
            "accountType": "DEMO",
            "accountDetails": {},
        },
    )
    assert status == 400
    assert "nope" in answer["detail"]


def test_a_new_trading_account_has_the_offers_currency_version_one_and_full_access(fake):
    created = trading_account(fake)
    assert created["financeInfo"]["currency"] == "USD"
    assert (created["version"], created["accessRight"]) == (1, "FULL")


def test_an_update_without_version_is_a_validation_error(fake):
    login = trading_account(fake)["login"]
    status, _, answer = call(
        fake, "PATCH", f"/v1/trading-accounts/{login}", {"accessRight": "CLOSE_ONLY"}
    )
    assert status == 400
    assert answer["detail"].startswith("version")


def test_an_update_with_a_stale_version_is_refused_and_changes_nothing(fake):
    login = trading_account(fake)["login"]
    assert (
        call(
            fake,
            "PATCH",
            f"/v1/trading-accounts/{login}",
            {"accessRight": "CLOSE_ONLY", "version": 1},
        )[0]
        == 204
    )
    status, _, answer = call(
        fake, "PATCH", f"/v1/trading-accounts/{login}", {"accessRight": "FULL", "version": "1"}
    )
    assert status == 409
    assert answer["type"] == "error://broker-api/trading-account/version-mismatch"
    _, _, now = call(fake, "GET", f"/v1/trading-accounts/{login}")
    assert (now["accessRight"], now["version"]) == ("CLOSE_ONLY", 2)


def test_an_unknown_trading_account_is_not_found(fake):
    status, _, answer = call(fake, "GET", "/v1/trading-accounts/999999")
    assert status == 404
    assert answer["path"] == "/v1/trading-accounts/999999"


def test_trading_accounts_are_listed_in_pages_counted_from_zero(fake):
    for n in range(5):
        trading_account(fake, f"t{n}@example.com")
    _, _, first = call(fake, "GET", "/v1/trading-accounts?page=0&size=2")
    _, _, last = call(fake, "GET", "/v1/trading-accounts?page=2&size=2")
    assert (first["totalElements"], first["totalPages"], first["number"], first["size"]) == (
        5,
        3,
        0,
        2,
    )
    assert len(first["content"]) == 2
    assert len(last["content"]) == 1


def test_trading_accounts_are_filtered_by_access_right(fake):
    kept = trading_account(fake, "a@example.com")["login"]
    trading_account(fake, "b@example.com")
    call(fake, "PATCH", f"/v1/trading-accounts/{kept}", {"accessRight": "CLOSE_ONLY", "version": 1})
    _, _, page = call(fake, "GET", "/v1/trading-accounts?accessRightsFilter=CLOSE_ONLY")
    assert [a["login"] for a in page["content"]] == [kept]


def test_a_page_larger_than_the_ceiling_is_refused(fake):
    assert call(fake, "GET", "/v1/trading-accounts?size=1001")[0] == 400


def test_requests_past_the_limit_are_answered_429_with_the_error_body():
    fake = start_fake(rate_limit=2, rate_window=3600)
    try:
        for _ in range(2):
            assert call(fake, "GET", "/v1/offers")[0] == 200
        status, headers, answer = call(fake, "GET", "/v1/offers")
    finally:
        fake.stop()
    assert status == 429
    assert set(answer) == ERROR_FIELDS
    assert int(headers["Retry-After"]) > 0


def test_the_fakes_controls_do_not_count_against_the_limit():
    fake = start_fake(rate_limit=1, rate_window=3600)
    try:
        for _ in range(3):
            control(fake, "prices", method="GET")
        status = call(fake, "GET", "/v1/offers")[0]
    finally:
        fake.stop()
    assert status == 200


def test_a_deposit_moves_the_balance_and_is_in_the_ledger(fake):
    login = trading_account(fake, deposit="100000")["login"]
    _, _, account = call(fake, "GET", f"/v1/trading-accounts/{login}")
    _, _, ledger = call(
        fake,
        "POST",
        "/v1/trading-accounts/trading-data/ledgers",
        {"logins": [login], "types": ["DEPOSIT"]},
    )
    assert account["financeInfo"]["balance"] == 100000
    assert [(e["type"], e["profit"], e["comment"]) for e in ledger["operations"]] == [
        ("DEPOSIT", 100000, "start")
    ]


def ledger_of(fake, body):
    status, _, answer = call(fake, "POST", "/v1/trading-accounts/trading-data/ledgers", body)
    return status, answer


def test_a_withdrawal_is_in_the_ledger_with_its_type_negative_amount_and_login(fake):
    login = trading_account(fake, deposit="1000")["login"]
    status, _, _ = call(
        fake,
        "POST",
        f"/v1/trading-accounts/{login}/withdraw",
        {"amount": 250.5, "comment": "Payout", "additionalType": "REVENUE_SHARE"},
    )
    _, answer = ledger_of(fake, {"logins": [login], "types": ["WITHDRAWAL"]})
    [entry] = answer["operations"]
    assert status == 204
    assert (entry["type"], entry["additionalType"], entry["profit"], entry["comment"]) == (
        "WITHDRAWAL",
        "REVENUE_SHARE",
        -250.5,
        "Payout",
    )
    assert (entry["login"], bool(entry["id"]), entry["time"][-1]) == (login, True, "Z")
    balance = call(fake, "GET", f"/v1/trading-accounts/{login}")[2]["financeInfo"]["balance"]
    assert balance == 749.5


def test_the_ledger_of_several_logins_names_each_entrys_login_and_keeps_to_the_times_asked(fake):
    first = trading_account(fake, deposit="100")["login"]
    second = trading_account(fake, email="bob@example.com", deposit="200")["login"]
    _, both = ledger_of(fake, {"logins": [first, second], "types": ["DEPOSIT", "WITHDRAWAL"]})
    _, later = ledger_of(
        fake, {"logins": [first, second], "types": ["DEPOSIT"], "from": "2100-01-01T00:00:00Z"}
    )
    assert [(e["login"], e["profit"]) for e in both["operations"]] == [(first, 100), (second, 200)]
    assert later["operations"] == []


def test_every_documented_ledger_type_filters_and_another_is_refused(fake):
    login = trading_account(fake, deposit="100")["login"]
    documented = ["AGENT_COMMISSION", "COMMISSIONS", "SWAPS", "CREDIT_IN", "CLOSED_POSITION"]
    status, answer = ledger_of(fake, {"logins": [login], "types": documented})
    refused, error = ledger_of(fake, {"logins": [login], "types": ["BONUS"]})
    assert (status, answer["operations"]) == (200, [])
    assert (refused, error["detail"].startswith("types")) == (400, True)


def test_a_withdrawal_larger_than_the_balance_is_refused(fake):
    login = trading_account(fake, deposit="100")["login"]
    status, _, answer = call(
        fake, "POST", f"/v1/trading-accounts/{login}/withdraw", {"amount": 101}
    )
    assert status == 400
    assert answer["type"] == "error://broker-api/insufficient-funds"


def test_a_balance_operation_of_no_amount_is_a_validation_error(fake):
    login = trading_account(fake)["login"]
    status, _, answer = call(fake, "POST", f"/v1/trading-accounts/{login}/deposit", {})
    assert status == 400
    assert answer["detail"].startswith("amount")


def test_an_open_position_is_revalued_as_the_price_moves(fake):
    login = trading_account(fake, deposit="100000")["login"]
    tick(fake, "XAUUSD", "2350.00")
    trader_opens(fake, login, "XAUUSD", volume="1")  # at the ask, 2350.30
    tick(fake, "XAUUSD", "2360.30")
    _, _, account = call(fake, "GET", f"/v1/trading-accounts/{login}")
    assert account["financeInfo"]["equity"] == 101000  # 10.00 of gold, 100 USD each
    assert account["financeInfo"]["balance"] == 100000


def test_closing_a_position_books_its_profit_and_keeps_a_record(fake):
    login = trading_account(fake, deposit="100000")["login"]
    tick(fake, "XAUUSD", "2350.00")
    position = trader_opens(fake, login)
    tick(fake, "XAUUSD", "2345.30")
    trader_closes(fake, login, position)
    _, _, account = call(fake, "GET", f"/v1/trading-accounts/{login}")
    _, _, history = call(
        fake,
        "POST",
        "/v1/trading-accounts/trading-data/closed-positions",
        {"logins": [login], "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
    )
    assert account["financeInfo"]["balance"] == 99500
    [closed] = history["closedPositions"]
    assert (closed["id"], closed["netProfit"], closed["side"]) == (position, -500, "BUY")
    assert "login" not in closed


def test_positions_are_opened_and_closed_through_the_broker_api(fake):
    login = trading_account(fake, deposit="100000")["login"]
    _, _, opened = call(
        fake,
        "POST",
        "/v1/trading-accounts/positions/open",
        {"login": login, "symbol": "EURUSD", "orderSide": "SELL", "volume": 2},
    )
    _, _, held = call(
        fake, "POST", "/v1/trading-accounts/trading-data/open-positions", {"logins": [login]}
    )
    _, _, closed = call(
        fake,
        "POST",
        "/v1/trading-accounts/positions/close",
        {"login": login, "closePositions": [{"positionId": opened["orderId"]}]},
    )
    assert opened["status"] == "OK"
    assert [(p["id"], p["side"], p["volume"]) for p in held[0]["positions"]] == [
        (opened["orderId"], "SELL", 2)
    ]
    assert closed["status"] == "OK"


def test_close_all_closes_every_position_of_the_logins(fake):
    login = trading_account(fake, deposit="100000")["login"]
    trader_opens(fake, login, "EURUSD")
    trader_opens(fake, login, "US30")
    _, _, answer = call(
        fake, "POST", "/v1/trading-accounts/positions/close-all", {"logins": [login]}
    )
    _, _, held = call(
        fake, "POST", "/v1/trading-accounts/trading-data/open-positions", {"logins": [login]}
    )
    assert len(answer["responses"][0]["partialResponses"]) == 2
    assert held[0]["positions"] == []


@pytest.mark.parametrize("right", ["CLOSE_ONLY", "TRADING_DISABLED", "TRADING_AND_LOGIN_DISABLED"])
def test_a_trader_without_full_access_cannot_open(fake, right):
    login = trading_account(fake, deposit="1000")["login"]
    call(fake, "PATCH", f"/v1/trading-accounts/{login}", {"accessRight": right, "version": 1})
    status, _, answer = call(
        fake,
        "POST",
        "/_fake/positions/open",
        {"login": login, "symbol": "EURUSD", "side": "BUY", "volume": 1},
        key=None,
    )
    assert (status, answer["status"]) == (403, "REJECTED")


def test_a_close_only_trader_may_still_close(fake):
    login = trading_account(fake, deposit="10000")["login"]
    position = trader_opens(fake, login, "EURUSD")
    call(
        fake, "PATCH", f"/v1/trading-accounts/{login}", {"accessRight": "CLOSE_ONLY", "version": 1}
    )
    assert trader_closes(fake, login, position)["id"] == position


def test_every_access_change_is_logged_with_its_time(fake):
    login = trading_account(fake)["login"]
    call(
        fake,
        "PATCH",
        f"/v1/trading-accounts/{login}",
        {"accessRight": "TRADING_DISABLED", "version": 1},
    )
    changes = control(fake, f"access-log?login={login}", method="GET")["changes"]
    assert [(c["accessRight"], c["version"]) for c in changes] == [
        ("FULL", 1),
        ("TRADING_DISABLED", 2),
    ]
    assert all(c["at"].endswith("Z") for c in changes)


def test_ordered_failures_answer_the_next_matching_requests(fake):
    control(fake, "fail", {"count": 1, "status": 503, "method": "GET", "path": "/v1/offers"})
    other = call(fake, "GET", "/service-info")[0]
    failed = call(fake, "GET", "/v1/offers")
    again = call(fake, "GET", "/v1/offers")[0]
    assert (other, failed[0], again) == (200, 503, 200)
    assert failed[2]["title"] == "Service Unavailable"


def test_the_books_survive_a_restart_with_a_state_file(tmp_path):
    state = tmp_path / "fake.json"
    first = start_fake(state_file=state)
    try:
        login = trading_account(first, deposit="2500")["login"]
    finally:
        first.stop()
    second = start_fake(state_file=state)
    try:
        _, _, account = call(second, "GET", f"/v1/trading-accounts/{login}")
    finally:
        second.stop()
    assert account["financeInfo"]["balance"] == 2500


def test_a_reset_forgets_every_account(fake):
    login = trading_account(fake)["login"]
    control(fake, "reset")
    assert call(fake, "GET", f"/v1/trading-accounts/{login}")[0] == 404


def test_the_command_line_takes_the_fakes_options():
    ns = build_parser().parse_args(
        [
            "fake-platform",
            "match-trader",
            "--port",
            "9001",
            "--offer",
            "Pro:pro-usd:USD:live",
            "--tick-rate",
            "0",
        ]
    )
    assert (ns.port, ns.offer, ns.tick_rate) == (9001, ["Pro:pro-usd:USD:live"], 0.0)


@contextlib.contextmanager
def fake_process(*options: str) -> Iterator[str]:
    """`propdesk fake-platform match-trader` on a free port, as the demo runs it: its URL."""
    command = [sys.executable, "-m", "propdesk.cli", "fake-platform", "match-trader"]
    process = subprocess.Popen(
        [*command, "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("fake Match-Trader on "), first
        yield first.split()[3]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prices(url: str) -> dict[str, dict[str, float]]:
    with urllib.request.urlopen(f"{url}/_fake/prices", timeout=10) as answer:
        return json.loads(answer.read())


def test_with_a_tick_rate_the_fakes_prices_walk_on_their_own():
    with fake_process("--tick-rate", "20", "--seed", "7") as url:
        before = prices(url)
        time.sleep(0.6)  # about 12 steps of the walk
        after = prices(url)
    assert set(after) == set(before) == {"EURUSD", "GBPUSD", "XAUUSD", "US30"}
    moved = [symbol for symbol in before if after[symbol]["bid"] != before[symbol]["bid"]]
    assert moved == list(before)  # each instrument, not only one
    for symbol, quote in after.items():  # the spread kept as the price walks
        spread = Decimal(str(quote["ask"])) - Decimal(str(quote["bid"]))
        assert spread == Decimal(str(before[symbol]["ask"])) - Decimal(str(before[symbol]["bid"]))


def test_at_a_tick_rate_of_0_the_fakes_prices_stay_still():
    with fake_process("--tick-rate", "0", "--seed", "7") as url:
        before = prices(url)
        time.sleep(0.6)
        after = prices(url)
    assert after == before
