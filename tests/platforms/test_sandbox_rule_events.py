"""What the sandbox writes to an account's event stream for the rules of version 2: every deal
carries its volume in lots (the evaluator's `max_open_volume`), and money the firm moves in or
out (a staff balance operation, a platform command's, later a payout's) is a `balance` event
written with the operation, before the snapshot that shows the new balance."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from propdesk.core.errors import Conflict
from propdesk.platforms import adapters, services
from propdesk.platforms.models import LoggedEvent
from propdesk.platforms.sandbox import accounts, orders, ticks
from propdesk.platforms.sandbox.models import Account, Event

pytestmark = pytest.mark.django_db
D = Decimal
LOTS = re.compile(r"^\d+\.\d\d$")


@pytest.fixture
def account() -> Account:
    made, _password = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    return made


def payloads(account: Account) -> list[dict]:
    return [e.payload for e in Event.objects.filter(account=account).order_by("id")]


def test_every_deal_the_sandbox_streams_carries_its_volume_in_lots_in_and_out(account):
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    ticks.apply_tick("GBPUSD", D("1.26500"), D("1.26515"))
    whole = orders.place_order(account, symbol="EURUSD", side="buy", volume="1")
    parted = orders.place_order(account, symbol="EURUSD", side="sell", volume="0.30")
    stopped = orders.place_order(account, symbol="GBPUSD", side="buy", volume="2.50", sl="1.26400")
    left = orders.place_order(account, symbol="EURUSD", side="buy", volume="0.07")
    orders.close_position(account, whole.pk)  # by the trader
    orders.close_position(account, parted.pk, volume="0.10")  # a part, then the rest
    orders.close_position(account, parted.pk)
    ticks.apply_tick("GBPUSD", D("1.26390"), D("1.26405"))  # the stop loss fills
    orders.close_all(account)  # the firm's close
    deals = [p for p in payloads(account) if p["type"] == "deal"]
    assert all(LOTS.match(d["volume"]) for d in deals), deals
    volumes = {(d["position"], d["entry"]): d["volume"] for d in deals}
    assert volumes == {
        (str(whole.pk), "in"): "1.00",
        (str(whole.pk), "out"): "1.00",
        (str(parted.pk), "in"): "0.30",
        (str(parted.pk), "out"): "0.30",  # the trade's whole volume, its part included
        (str(stopped.pk), "in"): "2.50",
        (str(stopped.pk), "out"): "2.50",
        (str(left.pk), "in"): "0.07",
        (str(left.pk), "out"): "0.07",
    }


def test_a_staff_balance_operation_streams_a_balance_event_before_the_snapshot_showing_it(
    admin, account
):
    before = len(payloads(account))
    deal = services.balance_operation(
        account.login, amount="-5000", comment="Profit share", actor=admin
    )
    added = payloads(account)[before:]
    assert [p["type"] for p in added] == ["balance", "equity"]
    balance, snapshot = added
    assert balance == {"t": deal.at.isoformat(), "type": "balance", "amount": "-5000.00"}
    assert snapshot["t"] == balance["t"]
    assert (snapshot["balance"], snapshot["equity"]) == ("95000.00", "95000.00")


def test_the_balance_event_reaches_the_account_event_log_in_its_place(admin, account):
    server = accounts.default_server()
    services.balance_operation(account.login, amount="250.50", comment="Goodwill", actor=admin)
    ingestor = adapters.platform(server).ingestor()
    ingestor.pull()
    logged = [e.payload for e in LoggedEvent.objects.filter(server=server, login=account.login)]
    assert [p["type"] for p in logged] == ["equity", "balance", "equity"]
    assert logged[1]["amount"] == "250.50"
    assert logged[2]["balance"] == "100250.50"


def test_an_accounts_opening_deposit_is_its_first_snapshot_not_a_balance_event(account):
    assert [p["type"] for p in payloads(account)] == ["equity"]
    assert payloads(account)[0]["balance"] == "100000.00"


def test_a_platform_commands_balance_operation_streams_one_balance_event_under_its_key(account):
    platform = adapters.platform(accounts.default_server())
    platform.balance_operation(account.login, D("-1200"), "Payout", key="payout-7")
    platform.balance_operation(account.login, D("-1200"), "Payout", key="payout-7")  # a retry
    balances = [p for p in payloads(account) if p["type"] == "balance"]
    assert [b["amount"] for b in balances] == ["-1200.00"]


def test_a_refused_balance_operation_streams_nothing(admin, account):
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10")
    before = payloads(account)
    with pytest.raises(Conflict):
        services.balance_operation(account.login, amount="-99000", comment="Too much", actor=admin)
    assert payloads(account) == before


def test_an_amount_in_a_currency_without_cents_is_streamed_in_its_own_units(admin):
    yen, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="1000000", currency="JPY"
    )
    services.balance_operation(yen.login, amount="-5000", comment="Correction", actor=admin)
    assert [p["amount"] for p in payloads(yen) if p["type"] == "balance"] == ["-5000"]
