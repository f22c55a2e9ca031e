"""Balance operations racing a trader's orders on one account (PostgreSQL, a connection each):
the account's stream tells the balance's story in commit order, each `balance` event followed
by the snapshot that shows it, so the rules never read a move of the firm's as a trade's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from propdesk.platforms.sandbox import accounts, orders, ticks
from propdesk.platforms.sandbox.models import Account, Event
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="parallel sessions need PostgreSQL"
    ),
]

D = Decimal


def test_balance_operations_racing_trades_stream_each_amount_before_the_snapshot_showing_it():
    account, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))

    def move(amount: str) -> object:
        return lambda: accounts.balance_operation(
            Account.objects.get(pk=account.pk), amount, "Correction"
        )

    def trade() -> object:
        mine = Account.objects.get(pk=account.pk)
        position = orders.place_order(mine, symbol="EURUSD", side="buy", volume="0.50")
        return orders.close_position(mine, position.pk)

    amounts = ["-5000", "250.25", "-0.75", "1000", "-333.33", "42"]
    done = at_once(*[move(a) for a in amounts], *[trade] * 6)
    assert not [d for d in done if isinstance(d, Exception)]
    events = [e.payload for e in Event.objects.filter(account=account).order_by("id")]
    assert sorted(D(e["amount"]) for e in events if e["type"] == "balance") == sorted(
        D(a) for a in amounts
    )
    balance = D(events[0]["balance"])
    for i, event in enumerate(events):
        if event["type"] == "balance":
            balance += D(event["amount"])
            after = events[i + 1]
            assert (after["type"], after["t"]) == ("equity", event["t"])
        elif event["type"] == "deal" and event["entry"] == "out":
            balance += D(event["profit"])
        elif event["type"] == "equity":
            assert D(event["balance"]) == balance, (i, events)
    assert balance == Account.objects.get(pk=account.pk).balance
