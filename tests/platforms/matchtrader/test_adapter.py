"""The Match-Trader adapter against the fake platform: accounts opened once under their key
whatever fails on the way, access levels, balance operations, closing, reading back, and how
the platform's faults reach the outbox (transient or refused)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.core import vault
from propdesk.platforms import adapters
from propdesk.platforms.matchtrader.adapter import MatchTraderPlatform, derived_password
from propdesk.platforms.protocol import Access, PlatformError
from tests.platforms.matchtrader.factories import (
    CHALLENGE,
    FUNDED,
    account,
    call,
    control,
    ledger,
    open_account,
    owner,
    server_for,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
)

TRADING_ACCOUNTS = "/v1/user-accounts/[^/]+/trading-accounts"


def users(fake):
    return call(fake, "GET", "/v1/user-accounts?size=100")[2]["content"]


def logins(fake):
    return [a["login"] for a in call(fake, "GET", "/v1/trading-accounts?size=100")[2]["content"]]


def deposits(fake, login):
    return [e for e in ledger(fake, login) if e["type"] == "DEPOSIT"]


def test_the_adapter_is_registered_for_match_trader_servers(server):
    assert isinstance(adapters.platform(server), MatchTraderPlatform)


def test_an_account_is_opened_in_the_offers_group_with_its_starting_balance(fake, server):
    credentials = open_account(server, balance="100000")
    opened = account(fake, credentials.login)
    assert (opened["group"], opened["accountType"]) == (CHALLENGE.group, "DEMO")
    assert opened["leverageRatioPercent"] == 10000
    assert opened["financeInfo"]["balance"] == 100000
    assert credentials.server == server.name


def test_a_live_group_opens_a_real_account_in_its_offers_group(fake, server):
    opened = account(fake, open_account(server, group="funded").login)
    assert (opened["group"], opened["accountType"]) == (FUNDED.group, "REAL")


def test_a_new_user_account_gets_a_strong_password_given_back_once(fake, server):
    credentials = open_account(server, key="stage:1:open")
    assert credentials.password == derived_password("stage:1:open")
    assert [u["email"] for u in users(fake)] == ["trader@example.com"]


def test_an_existing_traders_user_account_keeps_its_password(fake, server):
    open_account(server, key="stage:1:open")
    second = open_account(server, key="stage:2:open")
    assert second.password == ""
    assert len(users(fake)) == 1
    assert len(logins(fake)) == 2


def test_opening_again_under_the_same_key_gives_the_same_account_and_pays_once(fake, server):
    first = open_account(server, key="stage:1:open")
    again = open_account(server, key="stage:1:open")
    assert again.login == first.login
    assert again.password == first.password
    assert len(logins(fake)) == 1
    assert len(deposits(fake, first.login)) == 1


def test_a_server_error_while_opening_is_transient_and_the_retry_opens_one_account(fake, server):
    control(fake, "fail", {"count": 1, "status": 500, "method": "POST", "path": TRADING_ACCOUNTS})
    with pytest.raises(PlatformError) as failed:
        open_account(server, key="stage:1:open")
    credentials = open_account(server, key="stage:1:open")
    assert failed.value.transient
    assert len(users(fake)) == 1
    assert logins(fake) == [credentials.login]
    assert len(deposits(fake, credentials.login)) == 1


def test_a_timeout_after_the_platform_opened_the_account_finds_it_on_the_retry(
    fake, server, settings
):
    settings.MATCH_TRADER_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "method": "POST", "path": TRADING_ACCOUNTS})
    with pytest.raises(PlatformError) as timed_out:
        open_account(server, key="stage:1:open")
    fake.settle()  # the platform finished what it was asked
    credentials = open_account(server, key="stage:1:open")
    assert timed_out.value.transient
    assert logins(fake) == [credentials.login]
    assert credentials.password == derived_password("stage:1:open")
    assert len(deposits(fake, credentials.login)) == 1


def test_a_timeout_on_the_starting_deposit_does_not_pay_twice(fake, server, settings):
    settings.MATCH_TRADER_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "method": "POST", "path": "/deposit$"})
    with pytest.raises(PlatformError):
        open_account(server, key="stage:1:open", balance="50000")
    fake.settle()
    credentials = open_account(server, key="stage:1:open", balance="50000")
    assert len(deposits(fake, credentials.login)) == 1
    assert account(fake, credentials.login)["financeInfo"]["balance"] == 50000


def test_a_timeout_creating_the_user_account_still_gives_the_trader_a_working_password(
    fake, server, settings
):
    settings.MATCH_TRADER_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "method": "POST", "path": "/user-accounts$"})
    with pytest.raises(PlatformError):
        open_account(server, key="stage:1:open")
    fake.settle()
    credentials = open_account(server, key="stage:1:open")
    assert credentials.password == derived_password("stage:1:open")
    assert len(users(fake)) == 1


def test_an_owner_is_needed_to_open_an_account(server):
    with pytest.raises(PlatformError) as refused:
        adapters.platform(server).create_account(
            group="challenge", leverage=100, balance=Decimal(1000), currency="USD", key="k"
        )
    assert not refused.value.transient


def test_an_offer_in_another_currency_is_refused(server):
    with pytest.raises(PlatformError) as refused:
        adapters.platform(server).create_account(
            group="challenge",
            leverage=100,
            balance=Decimal(1000),
            currency="EUR",
            key="k",
            owner=owner(),
        )
    assert not refused.value.transient
    assert "USD" in str(refused.value)


def test_a_group_without_an_offer_opens_in_the_group_of_that_name(db, fake):
    server = server_for(fake, offers={}, demo_groups=[CHALLENGE.group])
    opened = account(fake, open_account(server, group=CHALLENGE.group).login)
    assert (opened["group"], opened["accountType"]) == (CHALLENGE.group, "DEMO")


@pytest.mark.parametrize(
    ("access", "right"),
    [
        (Access.CLOSE_ONLY, "CLOSE_ONLY"),
        (Access.NO_TRADING, "TRADING_DISABLED"),
        (Access.NO_LOGIN, "TRADING_AND_LOGIN_DISABLED"),
    ],
)
def test_each_access_level_is_the_platforms_access_right(fake, server, access, right):
    login = open_account(server).login
    adapters.platform(server).set_access(login, access, reason="breach")
    assert account(fake, login)["accessRight"] == right


def test_full_access_gives_the_account_back_its_trading(fake, server):
    login = open_account(server).login
    platform = adapters.platform(server)
    platform.set_access(login, Access.NO_TRADING)
    platform.set_access(login, Access.FULL)
    assert account(fake, login)["accessRight"] == "FULL"


def test_setting_the_access_it_already_has_writes_nothing(fake, server):
    login = open_account(server).login
    adapters.platform(server).set_access(login, Access.FULL)
    assert account(fake, login)["version"] == 1


def test_a_version_conflict_is_read_again_and_written_again(fake, server):
    login = open_account(server).login
    control(fake, "fail", {"count": 2, "status": 409, "method": "PATCH"})
    adapters.platform(server).set_access(login, Access.CLOSE_ONLY)
    assert account(fake, login)["accessRight"] == "CLOSE_ONLY"


def test_close_positions_closes_every_one_and_says_how_many(fake, server):
    login = open_account(server).login
    trader_opens(fake, login, "EURUSD")
    trader_opens(fake, login, "XAUUSD")
    closed = adapters.platform(server).close_positions(login, reason="stage failed")
    assert closed == 2
    assert adapters.platform(server).account_state(login).positions == ()


def test_close_positions_with_nothing_open_closes_nothing(server):
    login = open_account(server).login
    assert adapters.platform(server).close_positions(login) == 0


def test_a_deposit_and_a_withdrawal_move_the_balance(fake, server):
    login = open_account(server, balance="1000").login
    platform = adapters.platform(server)
    paid = platform.balance_operation(login, Decimal("250.50"), "Bonus", key="op:1")
    platform.balance_operation(login, Decimal("-50.50"), "Fee", key="op:2")
    assert account(fake, login)["financeInfo"]["balance"] == 1200
    assert (paid.kind, paid.profit) == ("balance", Decimal("250.50"))


def test_a_balance_operation_repeated_under_its_key_is_done_once(fake, server):
    login = open_account(server, balance="1000").login
    platform = adapters.platform(server)
    first = platform.balance_operation(login, Decimal(100), "Bonus", key="op:1")
    again = platform.balance_operation(login, Decimal(100), "Bonus", key="op:1")
    assert first.deal == again.deal
    assert account(fake, login)["financeInfo"]["balance"] == 1100


def test_a_timed_out_balance_operation_is_not_paid_again_on_the_retry(fake, server, settings):
    login = open_account(server, balance="1000").login
    settings.MATCH_TRADER_TIMEOUT = 0.3
    control(fake, "delay", {"count": 1, "seconds": 1, "method": "POST", "path": "/withdraw$"})
    platform = adapters.platform(server)
    with pytest.raises(PlatformError):
        platform.balance_operation(login, Decimal(-300), "Payout", key="op:1")
    fake.settle()
    platform.balance_operation(login, Decimal(-300), "Payout", key="op:1")
    assert account(fake, login)["financeInfo"]["balance"] == 700


def test_the_account_state_reads_finances_positions_and_access(fake, server):
    login = open_account(server, balance="100000").login
    tick(fake, "XAUUSD", "2350.00")
    position = trader_opens(fake, login, "XAUUSD")
    tick(fake, "XAUUSD", "2352.30")
    platform = adapters.platform(server)
    platform.set_access(login, Access.CLOSE_ONLY)
    state = platform.account_state(login)
    assert (state.balance, state.equity, state.currency) == (
        Decimal("100000.00"),
        Decimal("100200.00"),
        "USD",
    )
    assert not state.trading_enabled
    [held] = state.positions
    assert (held.position, held.side, held.volume, held.profit) == (
        position,
        "buy",
        Decimal("1.0"),
        Decimal("200.00"),
    )


def test_the_trade_history_has_the_deposit_and_each_trades_in_and_out(fake, server):
    login = open_account(server, balance="100000").login
    tick(fake, "XAUUSD", "2350.00")
    position = trader_opens(fake, login, "XAUUSD")
    tick(fake, "XAUUSD", "2351.30")
    trader_closes(fake, login, position)
    history = adapters.platform(server).trade_history(login)
    assert [(d.kind, d.entry, d.position, d.profit) for d in history] == [
        ("balance", "", "", Decimal(100000)),
        ("buy", "in", position, Decimal(0)),
        ("sell", "out", position, Decimal(100)),
    ]


def test_the_connection_test_names_the_offers(server):
    assert adapters.platform(server).check_connection() == (
        "Match-Trader answered: 2 offer(s) (Challenge 100K, Funded)"
    )


def test_the_offers_are_listed_for_the_settings_page(server):
    offers = adapters.platform(server).offers()
    assert [(o.name, o.currency, o.demo, o.group) for o in offers] == [
        ("Challenge 100K", "USD", True, CHALLENGE.group),
        ("Funded", "USD", False, FUNDED.group),
    ]


def test_a_wrong_key_is_a_refusal_staff_must_fix(db, fake):
    server = server_for(fake)
    server.sealed_api_key = vault.seal("wrong")
    with pytest.raises(PlatformError) as refused:
        adapters.platform(server).check_connection()
    assert not refused.value.transient
    assert "401" in str(refused.value)
    assert '"status": 401' in refused.value.answer


def test_an_unknown_login_is_a_refusal(server):
    with pytest.raises(PlatformError) as refused:
        adapters.platform(server).account_state("999999")
    assert not refused.value.transient


def test_the_request_limit_is_a_transient_fault(db):
    fake = start_fake(rate_limit=1, rate_window=3600)
    try:
        platform = adapters.platform(server_for(fake))
        platform.check_connection()
        with pytest.raises(PlatformError) as limited:
            platform.check_connection()
    finally:
        fake.stop()
    assert limited.value.transient
    assert "429" in str(limited.value)


def test_a_platform_that_is_down_is_a_transient_fault(db):
    fake = start_fake()
    server = server_for(fake)
    fake.stop()
    with pytest.raises(PlatformError) as away:
        adapters.platform(server).check_connection()
    assert away.value.transient


def test_a_key_that_cannot_be_opened_is_a_refusal(db, fake):
    server = server_for(fake, sealed_api_key="not-a-sealed-value")
    with pytest.raises(PlatformError) as refused:
        adapters.platform(server)
    assert not refused.value.transient
