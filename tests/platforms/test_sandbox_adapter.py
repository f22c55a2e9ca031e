"""The sandbox behind the protocol's commands: each is safe to repeat, as the outbox needs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.core.errors import DomainError
from propdesk.platforms import adapters
from propdesk.platforms.protocol import Access
from propdesk.platforms.sandbox import accounts, orders, ticks
from propdesk.platforms.sandbox.models import Account, Deal

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def platform():
    return adapters.platform(accounts.default_server())


def test_opening_under_a_key_already_used_gives_the_same_account_once(platform):
    first = platform.create_account(
        group="demo", leverage=100, balance=D("5000"), currency="USD", key="open:stage:1"
    )
    again = platform.create_account(
        group="demo", leverage=100, balance=D("5000"), currency="USD", key="open:stage:1"
    )
    assert again.login == first.login
    assert Account.objects.filter(login=first.login).count() == 1
    assert Deal.objects.filter(account__login=first.login, kind="balance").count() == 1
    # The password given last opens it (the first is not kept to be shown again).
    assert accounts.account_by_login(first.login).password != ""
    other = platform.create_account(
        group="demo", leverage=100, balance=D("5000"), currency="USD", key="open:stage:2"
    )
    assert other.login != first.login


def test_a_balance_operation_under_a_key_already_used_moves_money_once(platform):
    made = platform.create_account(
        group="demo", leverage=100, balance=D("5000"), currency="USD", key="open:x"
    )
    platform.balance_operation(made.login, D("250.00"), "Payout refill", key="k1")
    platform.balance_operation(made.login, D("250.00"), "Payout refill", key="k1")
    assert platform.account_state(made.login).balance == D("5250.00")


@pytest.mark.parametrize(
    ("access", "login", "trading", "closing"),
    [
        (Access.FULL, True, True, True),
        (Access.CLOSE_ONLY, True, False, True),
        (Access.NO_TRADING, True, False, False),
        (Access.NO_LOGIN, False, False, False),
    ],
)
def test_each_access_level_sets_the_sandboxs_switches(platform, access, login, trading, closing):
    made = platform.create_account(
        group="demo", leverage=100, balance=D("5000"), currency="USD", key="open:y"
    )
    platform.set_access(made.login, access, reason="rules")
    platform.set_access(made.login, access, reason="rules")  # again: the same
    account = accounts.account_by_login(made.login)
    assert (account.login_enabled, account.trading_enabled, account.may_close) == (
        login,
        trading,
        closing,
    )


def test_close_only_lets_the_trader_close_and_no_trading_does_not(platform):
    made = platform.create_account(
        group="demo", leverage=100, balance=D("100000"), currency="USD", key="open:z"
    )
    account = accounts.account_by_login(made.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    first = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    second = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    platform.set_access(made.login, Access.CLOSE_ONLY)
    with pytest.raises(orders.TradingDisabled):
        orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    orders.close_position(account, first.pk)
    platform.set_access(made.login, Access.NO_TRADING)
    with pytest.raises(DomainError, match="not even closing"):
        orders.close_position(account, second.pk)


def test_closing_all_positions_closes_each_at_the_market_and_again_closes_nothing(platform):
    made = platform.create_account(
        group="demo", leverage=100, balance=D("100000"), currency="USD", key="open:w"
    )
    account = accounts.account_by_login(made.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    for _ in range(3):
        orders.place_order(account, symbol="EURUSD", side="buy", volume="0.10")
    assert platform.close_positions(made.login, reason="breach") == 3
    assert platform.close_positions(made.login, reason="breach") == 0
    assert platform.account_state(made.login).positions == ()
