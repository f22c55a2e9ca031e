"""The fake MT5 Web API follows the API as its clients use it: the handshake and its sessions,
the retcodes, users, rights, balance deals, deals and positions, dealer requests, its limits,
and its books kept across a restart."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal

import pytest

from propdesk.platforms.mt5.client import WebApi
from propdesk.platforms.mt5.fake import USER_RIGHT_ENABLED, USER_RIGHT_TRADE_DISABLED, FakeMT5
from tests.platforms.mt5.factories import (
    CHALLENGE_GROUP,
    Raw,
    control,
    raw,
    start_fake,
    tick,
    trader_opens,
)

EVER = {"from": 0, "to": 2**40}


def new_user(client: Raw, **record) -> dict:
    status, answer = client.request(
        "/api/user/add",
        {"pass_main": "Secret123", "pass_investor": "Invest123"},
        {"Group": CHALLENGE_GROUP, "Leverage": 100, **record},
    )
    assert (status, answer["retcode"]) == (200, "0 Done"), answer
    return answer["answer"]


def funded(client: Raw, amount: str = "100000.00") -> str:
    login = new_user(client)["Login"]
    client.get("/api/trade/balance", login=login, type=2, balance=amount, comment="Deposit")
    return login


def test_the_handshake_with_the_managers_password_opens_a_session(fake):
    client = Raw(fake)
    assert client.login()["retcode"] == "0 Done"
    assert client.get("/api/group/total") == {"total": "2"}


def test_a_wrong_password_is_refused_and_opens_no_session(fake):
    client = Raw(fake)
    assert client.login(password="Wrong1234")["retcode"] == "3006 Invalid account"
    status, answer = client.request("/api/group/total")
    assert (status, answer["retcode"]) == (403, "8 Not enough permissions")


def test_an_unknown_manager_login_is_refused_at_the_start(fake):
    assert Raw(fake).login(login="999")["retcode"] == "3006 Invalid account"


def test_the_start_needs_every_parameter_and_the_manager_type(fake):
    client = Raw(fake)
    _, answer = client.request(
        "/api/auth/start", {"version": "484", "agent": "x", "login": fake.login, "type": "client"}
    )
    assert answer["retcode"] == "3 Invalid parameters"
    _, answer = client.request("/api/auth/start", {"login": fake.login, "type": "manager"})
    assert answer["retcode"] == "3 Invalid parameters"


def test_an_answer_without_a_start_is_refused(fake):
    _, answer = Raw(fake).request(
        "/api/auth/answer", {"srv_rand_answer": "00" * 16, "cli_rand": "11" * 16}
    )
    assert answer["retcode"] == "3 Invalid parameters"


def test_a_request_without_a_session_is_refused(fake):
    status, answer = Raw(fake).request("/api/user/get", {"login": "1"})
    assert (status, answer["retcode"]) == (403, "8 Not enough permissions")


def test_an_expired_session_is_refused_until_the_client_authenticates_again(fake):
    client = raw(fake)
    control(fake, "expire-sessions")
    status, _ = client.request("/api/group/total")
    assert status == 403
    assert client.login()["retcode"] == "0 Done"
    assert client.get("/api/group/total") == {"total": "2"}


def test_the_groups_are_listed_one_by_one(fake):
    client = raw(fake)
    names = [client.get("/api/group/next", index=i)["Group"] for i in range(2)]
    assert names == [CHALLENGE_GROUP, "real\\funded"]
    _, answer = client.request("/api/group/next", {"index": 2})
    assert answer["retcode"] == "13 Not found"


def test_a_user_is_added_in_its_group_with_its_leverage_and_default_rights(fake):
    client = raw(fake)
    added = new_user(client, Leverage=50, Comment="mine")
    got = client.get("/api/user/get", login=added["Login"])
    assert (got["Group"], got["Leverage"], got["Comment"]) == (CHALLENGE_GROUP, "50", "mine")
    assert int(got["Rights"]) & USER_RIGHT_ENABLED
    assert "_pass" not in got  # the passwords are never answered


def test_bad_users_are_refused_with_their_retcodes(fake):
    client = raw(fake)
    _, answer = client.request(
        "/api/user/add", {"pass_main": "Secret123"}, {"Group": "nowhere", "Leverage": 100}
    )
    assert answer["retcode"] == "3 Invalid parameters"
    _, answer = client.request("/api/user/add", {"pass_main": "short"}, {"Group": CHALLENGE_GROUP})
    assert answer["retcode"] == "3006 Invalid password"
    _, answer = client.request(
        "/api/user/add", {"pass_main": "Secret123"}, {"Group": CHALLENGE_GROUP, "Comment": "x" * 33}
    )
    assert answer["retcode"] == "3 Invalid parameters"
    _, answer = client.request("/api/user/get", {"login": "424242"})
    assert answer["retcode"] == "13 Not found"
    _, answer = client.request("/api/user/get", {"login": "abc"})
    assert answer["retcode"] == "3 Invalid parameters"


def test_a_balance_operation_is_a_balance_deal_with_its_comment(fake):
    client = raw(fake)
    login = funded(client)
    deals = client.get("/api/deal/get_batch", login=login, **EVER)
    assert [(d["Action"], d["Profit"], d["Comment"]) for d in deals] == [
        ("2", "100000.00", "Deposit")
    ]
    assert client.get("/api/user/account/get_batch", login=login)[0]["Balance"] == "100000.00"


def test_a_withdrawal_beyond_the_free_margin_is_refused(fake):
    client = raw(fake)
    login = funded(client, "100.00")
    _, answer = client.request(
        "/api/trade/balance", {"login": login, "type": 2, "balance": "-100.01", "comment": "x"}
    )
    assert answer["retcode"] == "10019 Not enough money"
    assert client.get("/api/user/account/get_batch", login=login)[0]["Balance"] == "100.00"


def test_a_balance_operation_with_a_bad_amount_or_comment_changes_nothing(fake):
    client = raw(fake)
    login = funded(client)
    for query in (
        {"balance": "abc"},
        {"balance": "0"},
        {"balance": "1.001"},
        {"balance": "10", "comment": "y" * 33},
        {"balance": "10", "type": 7},
    ):
        _, answer = client.request("/api/trade/balance", {"login": login, "type": 2, **query})
        assert answer["retcode"] == "3 Invalid parameters", query
    assert len(client.get("/api/deal/get_batch", login=login, **EVER)) == 1


def test_rights_are_updated_and_each_change_is_in_the_access_log(fake):
    client = raw(fake)
    login = new_user(client)["Login"]
    disabled = USER_RIGHT_ENABLED | USER_RIGHT_TRADE_DISABLED
    _, answer = client.request("/api/user/update", {"login": login}, {"Rights": disabled})
    assert answer["answer"]["Rights"] == str(disabled)
    log = control(fake, f"access-log?login={login}", method="GET")
    assert [(e["enabled"], e["trade_disabled"]) for e in log] == [(True, False), (True, True)]


def test_a_trader_without_the_right_to_trade_cannot_open(fake):
    client = raw(fake)
    login = funded(client)
    client.request("/api/user/update", {"login": login}, {"Rights": 5})
    body = json.dumps({"login": login, "symbol": "EURUSD", "side": "buy", "volume": "1"}).encode()
    request = urllib.request.Request(f"{fake.url}/_fake/positions/open", data=body)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert "10017 Trade disabled" in refused.value.read().decode()


def test_positions_and_their_deals_are_listed_in_lots_of_ten_thousand(fake):
    client = raw(fake)
    login = funded(client)
    tick(fake, "EURUSD", "1.08500")
    position = trader_opens(fake, login, "EURUSD", volume="0.5")
    held = client.get("/api/position/get_batch", login=login)
    assert [(p["Position"], p["Volume"], p["Action"]) for p in held] == [(position, "5000", "0")]
    assert client.get("/api/position/get_total", login=login) == {"total": "1"}
    deals = client.get("/api/deal/get_batch", login=login, **EVER)
    assert [(d["Action"], d["Entry"], d["PositionID"]) for d in deals][-1] == ("0", "0", position)


def test_a_dealer_request_closes_a_position_and_its_result_is_read(fake):
    client = raw(fake)
    login = funded(client)
    position = trader_opens(fake, login, "EURUSD", volume="1")
    _, sent = client.request(
        "/api/dealer/send_request",
        None,
        {"Action": 200, "Login": int(login), "Position": int(position), "Volume": 10000},
    )
    result = client.get("/api/dealer/get_request_result", id=sent["answer"]["id"])
    assert result["result"]["Retcode"] == "10009 Request completed"
    assert client.get("/api/position/get_batch", login=login) == []
    _, again = client.request(
        "/api/dealer/send_request",
        None,
        {"Action": 200, "Login": int(login), "Position": int(position)},
    )
    result = client.get("/api/dealer/get_request_result", id=again["answer"]["id"])
    assert result["result"]["Retcode"] == "13 Not found"


def test_deals_are_asked_for_by_login_or_group(fake):
    client = raw(fake)
    login = funded(client)
    _, answer = client.request("/api/deal/get_batch", EVER)
    assert answer["retcode"] == "3 Invalid parameters"
    by_group = client.get("/api/deal/get_batch", group="demo\\*", **EVER)
    assert [d["Login"] for d in by_group] == [login]
    assert client.get("/api/user/logins", group="demo\\*") == [login]
    assert client.get("/api/user/logins", group="real\\*") == []


def test_too_many_requests_a_second_are_refused():
    fake = start_fake(rate_limit=3)
    try:
        client = raw(fake)
        codes = [client.request("/api/ping")[1]["retcode"] for _ in range(5)]
        assert "12 Too frequent requests" in codes
    finally:
        fake.stop()


def test_ordered_faults_hit_the_next_requests(fake):
    client = raw(fake)
    control(fake, "fail", {"count": 1, "status": 503, "path": "/api/ping"})
    assert client.request("/api/ping")[0] == 503
    assert client.request("/api/ping")[1]["retcode"] == "0 Done"


def test_the_books_are_kept_across_a_restart(tmp_path):
    state = tmp_path / "mt5.json"
    first = start_fake(state_file=state)
    login = funded(raw(first))
    first.stop()
    second = FakeMT5(state_file=state, tick_rate=0).start()
    try:
        client = raw(second)
        assert client.get("/api/user/account/get_batch", login=login)[0]["Balance"] == "100000.00"
        assert Decimal(new_user(client)["Login"]) > Decimal(login)  # logins are not given twice
    finally:
        second.stop()


def test_reset_forgets_every_account(fake):
    client = raw(fake)
    login = funded(client)
    control(fake, "reset")
    client = raw(fake)
    _, answer = client.request("/api/user/get", {"login": login})
    assert answer["retcode"] == "13 Not found"


def test_the_command_line_takes_the_fakes_options():
    from propdesk.cli import build_parser
    from propdesk.platforms.mt5.fake.book import parse_groups

    ns = build_parser().parse_args(
        ["fake-platform", "mt5", "--port", "9110", "--group", "pro\\usd:USD:200", "--state", "f"]
    )
    assert (ns.port, ns.group, ns.state, ns.login) == (9110, ["pro\\usd:USD:200"], "f", "1000")
    [group] = parse_groups(ns.group)
    assert (group.name, group.currency, group.leverage) == ("pro\\usd", "USD", 200)
    with pytest.raises(ValueError, match="currency"):
        parse_groups(["x:XYZ"])


def test_the_command_line_runs_the_fake_until_stopped(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    from types import SimpleNamespace

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "propdesk.cli", "fake-platform", "mt5", "--port", str(port),
         "--state", str(tmp_path / "mt5.json"), "--tick-rate", "0"],
        stdout=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    try:
        first = process.stdout.readline()  # type: ignore[union-attr]
        assert first.startswith(f"fake MT5 Web API on http://127.0.0.1:{port}")
        running = SimpleNamespace(url=f"http://127.0.0.1:{port}", login="1000", password="Manager1")
        assert raw(running).get("/api/group/total") == {"total": "2"}  # type: ignore[arg-type]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert (tmp_path / "mt5.json").exists()


def test_the_clients_requests_past_its_budget_wait_for_a_place_rather_than_being_refused():
    fake = start_fake(rate_limit=5)
    try:
        api = WebApi(fake.url, fake.login, fake.password, rate_limit=2)
        for _ in range(7):
            api.get("/api/ping")
        assert fake.requests.count("/api/ping") == 7
    finally:
        fake.stop()
