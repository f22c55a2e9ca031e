"""The MT5 adapter against the fake MT5 Web API: the handshake (right and wrong password, an
expired session), accounts opened once under their key whatever fails on the way, access
levels as rights, balance operations, closing, reading back, and how the platform's faults
reach the outbox (transient or refused)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.core import vault
from propdesk.platforms import adapters
from propdesk.platforms.mt5.adapter import MT5Platform, derived_password, marker
from propdesk.platforms.mt5.fake import USER_RIGHT_ENABLED, USER_RIGHT_TRADE_DISABLED
from propdesk.platforms.protocol import Access, PlatformError
from tests.platforms.mt5.factories import (
    CHALLENGE_GROUP,
    FUNDED_GROUP,
    balance_deals,
    control,
    holdings,
    open_account,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
    user,
)

pytestmark = pytest.mark.django_db
D = Decimal


def rights(fake, login):
    value = int(user(fake, login)["Rights"])
    return (bool(value & USER_RIGHT_ENABLED), bool(value & USER_RIGHT_TRADE_DISABLED))


def test_the_adapter_is_registered_for_mt5_servers(server):
    assert isinstance(adapters.platform(server), MT5Platform)


def test_the_connection_check_lists_the_groups(server):
    said = adapters.platform(server).check_connection()
    assert said == f"MT5 answered: 2 group(s) ({CHALLENGE_GROUP}, {FUNDED_GROUP})"


def test_a_wrong_manager_password_is_refused_and_not_worth_retrying(fake, server):
    server.sealed_api_key = vault.seal("Wrong1234")
    with pytest.raises(PlatformError) as refused:
        adapters.platform(server).check_connection()
    assert "3006 Invalid account" in str(refused.value)
    assert refused.value.transient is False


def test_a_plain_http_address_beyond_this_machine_is_never_spoken_to(fake, server):
    # The fake listens on loopback; the same port under another name for this machine is not.
    server.base_url = fake.url.replace("127.0.0.1", "127.0.0.2")
    asked = len(fake.requests)
    with pytest.raises(PlatformError, match="https://") as refused:
        adapters.platform(server).check_connection()
    assert refused.value.transient is False
    assert len(fake.requests) == asked


def test_a_server_without_its_manager_login_says_so(fake, server):
    server.manager_login = ""
    with pytest.raises(PlatformError, match="manager login or password"):
        adapters.platform(server)


def test_an_expired_session_is_opened_again_without_the_caller_noticing(fake, server):
    platform = adapters.platform(server)
    platform.check_connection()
    control(fake, "expire-sessions")
    assert platform.check_connection().startswith("MT5 answered")
    starts = [p for p in control(fake, "requests", method="GET") if p == "/api/auth/start"]
    assert len(starts) == 2


def test_one_session_serves_every_adapter_of_the_server(fake, server):
    adapters.platform(server).check_connection()
    adapters.platform(server).check_connection()
    starts = [p for p in control(fake, "requests", method="GET") if p == "/api/auth/start"]
    assert len(starts) == 1


def test_an_account_is_opened_in_the_mapped_group_with_leverage_and_its_balance(fake, server):
    credentials = open_account(server, key="stage:1:open")
    opened = user(fake, credentials.login)
    assert (opened["Group"], opened["Leverage"], opened["Email"]) == (
        CHALLENGE_GROUP,
        "100",
        "trader@example.com",
    )
    assert opened["Comment"] == marker("stage:1:open")
    assert balance_deals(fake, credentials.login) == [D("100000.00")]
    assert credentials.password == derived_password("stage:1:open")
    assert rights(fake, credentials.login) == (True, False)


def test_a_live_group_opens_in_its_mt5_group(fake, server):
    assert user(fake, open_account(server, group="funded").login)["Group"] == FUNDED_GROUP


def test_an_unmapped_group_is_the_mt5_group_of_its_name(fake, server):
    server.offers = {}
    with pytest.raises(PlatformError, match="MT5 has no group challenge") as refused:
        open_account(server)  # there is no MT5 group called "challenge"
    assert refused.value.transient is False
    assert holdings(fake)["users"] == []


def test_opening_again_under_the_same_key_gives_the_same_account_and_pays_once(fake, server):
    first = open_account(server, key="stage:1:open")
    again = open_account(server, key="stage:1:open")
    assert again == first
    assert holdings(fake) == {
        "users": [(first.login, CHALLENGE_GROUP)],
        "deals": [(first.login, D("100000.00"))],
    }


@pytest.mark.parametrize("path", ["/api/user/add", "/api/trade/balance"])
def test_an_opening_that_timed_out_after_the_platform_did_it_is_not_done_twice(
    fake, server, settings, path
):
    settings.MT5_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "path": path})
    with pytest.raises(PlatformError) as slow:
        open_account(server, key="stage:1:open")
    assert slow.value.transient
    assert fake.settle()
    credentials = open_account(server, key="stage:1:open")
    assert holdings(fake) == {
        "users": [(credentials.login, CHALLENGE_GROUP)],
        "deals": [(credentials.login, D("100000.00"))],
    }


@pytest.mark.parametrize("path", ["/api/user/add", "/api/trade/balance", "/api/user/get_batch"])
def test_a_500_is_transient_and_the_retry_opens_one_funded_account(fake, server, path):
    control(fake, "fail", {"count": 1, "status": 500, "path": path})
    with pytest.raises(PlatformError) as failed:
        open_account(server, key="stage:1:open")
    assert failed.value.transient
    credentials = open_account(server, key="stage:1:open")
    assert holdings(fake)["deals"] == [(credentials.login, D("100000.00"))]


def test_the_platform_down_is_transient_and_the_opening_goes_on_once_it_is_back(fake, server):
    adapters.platform(server).check_connection()
    fake.go_down(30)
    with pytest.raises(PlatformError, match="could not be reached") as away:
        open_account(server, key="stage:1:open")
    assert away.value.transient
    assert fake.up()
    credentials = open_account(server, key="stage:1:open")  # a new session: the old one ended
    assert holdings(fake)["users"] == [(credentials.login, CHALLENGE_GROUP)]


def test_a_restarted_platform_keeps_the_account_and_the_retry_finds_it(server, tmp_path):
    fake = start_fake(state_file=tmp_path / "mt5.json")
    server.base_url = fake.url
    try:
        first = open_account(server, key="stage:1:open")
    finally:
        fake.stop()
    again = start_fake(
        state_file=tmp_path / "mt5.json", port=int(server.base_url.rsplit(":", 1)[1])
    )
    try:
        assert open_account(server, key="stage:1:open") == first
        assert holdings(again)["deals"] == [(first.login, D("100000.00"))]
    finally:
        again.stop()


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        (Access.NO_TRADING, (True, True)),
        (Access.CLOSE_ONLY, (True, True)),
        (Access.NO_LOGIN, (False, True)),
        (Access.FULL, (True, False)),
    ],
)
def test_access_levels_are_the_users_rights(fake, server, access, expected):
    login = open_account(server).login
    platform = adapters.platform(server)
    platform.set_access(login, Access.NO_LOGIN)
    platform.set_access(login, access)
    assert rights(fake, login) == expected


def test_setting_the_same_access_again_changes_nothing(fake, server):
    login = open_account(server).login
    platform = adapters.platform(server)
    platform.set_access(login, Access.NO_TRADING)
    platform.set_access(login, Access.NO_TRADING)
    log = control(fake, f"access-log?login={login}", method="GET")
    assert len(log) == 2  # opened, then disabled once


def test_access_keeps_the_other_rights_bits(fake, server):
    login = open_account(server).login
    before = int(user(fake, login)["Rights"])
    platform = adapters.platform(server)
    platform.set_access(login, Access.NO_LOGIN)
    platform.set_access(login, Access.FULL)
    assert int(user(fake, login)["Rights"]) == before


def test_a_balance_operation_is_made_once_under_its_key(fake, server):
    login = open_account(server).login
    platform = adapters.platform(server)
    first = platform.balance_operation(login, D("-5000.00"), "Payout", key="payout:1")
    again = platform.balance_operation(login, D("-5000.00"), "Payout", key="payout:1")
    assert first == again
    assert (first.kind, first.profit) == ("balance", D("-5000.00"))
    assert first.comment.startswith(marker("payout:1"))
    assert balance_deals(fake, login) == [D("100000.00"), D("-5000.00")]


def test_a_withdrawal_beyond_the_money_is_refused_for_staff(fake, server):
    login = open_account(server, balance="100").login
    with pytest.raises(PlatformError, match="10019 Not enough money") as refused:
        adapters.platform(server).balance_operation(login, D("-500"), "Payout", key="payout:1")
    assert refused.value.transient is False


def test_a_balance_operation_of_nothing_is_refused(server):
    with pytest.raises(PlatformError, match="changes nothing"):
        adapters.platform(server).balance_operation("1", D("0"), "x", key="k")


def test_closing_closes_every_position_and_again_closes_none(fake, server):
    login = open_account(server).login
    trader_opens(fake, login, "EURUSD")
    trader_opens(fake, login, "XAUUSD", side="sell")
    platform = adapters.platform(server)
    assert platform.close_positions(login, reason="Breach") == 2
    assert platform.close_positions(login, reason="Breach") == 0
    assert platform.account_state(login).positions == ()


def test_the_account_state_reads_balance_equity_and_positions(fake, server):
    login = open_account(server).login
    tick(fake, "EURUSD", "1.08500")
    position = trader_opens(fake, login, "EURUSD", volume="1")
    tick(fake, "EURUSD", "1.08700")
    state = adapters.platform(server).account_state(login)
    assert (state.currency, state.balance, state.trading_enabled) == ("USD", D("100000.00"), True)
    assert state.equity == D("100190.00")  # bought at the ask, 1.08510
    assert [(p.position, p.side, p.volume) for p in state.positions] == [(position, "buy", D(1))]


def test_the_trade_history_has_balance_deals_ins_and_outs(fake, server):
    login = open_account(server).login
    position = trader_opens(fake, login, "EURUSD")
    trader_closes(fake, login, position)
    history = adapters.platform(server).trade_history(login)
    assert [(d.kind, d.entry, d.position) for d in history] == [
        ("balance", "", ""),
        ("buy", "in", position),
        ("sell", "out", position),
    ]


def test_a_currency_other_than_the_groups_is_refused(fake, server):
    with pytest.raises(PlatformError, match="is in USD, the account in EUR"):
        adapters.platform(server).create_account(
            group="challenge", leverage=100, balance=D(1000), currency="EUR", key="k:1"
        )
