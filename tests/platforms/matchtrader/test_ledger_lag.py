"""Match-Trader's ledger may list a balance operation a moment after the account's balance shows
it (the adapter allows for it: "done, but not listed yet"). The ingestor reads an account's
ledger in the pull that sees its balance move; a payout propdesk made (a platform command done)
is still written as a `balance` event before the snapshot that shows it, from the command
itself, and once only when the ledger lists it later. Read as a trading loss instead, a payout
of the profit at the high would fail a funded stage at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from propdesk.platforms import outbox
from propdesk.platforms.matchtrader.adapter import marker
from propdesk.platforms.matchtrader.ingestor import LEDGER, marked
from tests.platforms.matchtrader.factories import (
    call,
    evaluate,
    ingestor_for,
    kinds,
    logged,
    open_account,
    tick,
    trader_closes,
    trader_opens,
)

pytestmark = pytest.mark.django_db
D = Decimal
# A trailing max loss and a daily loss from the day's peak: a payout taken at the high would
# breach both if it were read as a loss.
TRAILING = {
    "max_loss": {"pct": "5", "mode": "trailing_intraday", "lock_at_initial": False},
    "max_daily_loss": {"pct": "5", "basis": "day_peak_equity"},
}


class LaggingLedger:
    """The Broker API, its ledger not listing withdrawals yet while `lags`."""

    def __init__(self, api: Any) -> None:
        self.api, self.lags = api, True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def post(self, path: str, body: Any) -> Any:
        answer = self.api.post(path, body)
        if path == LEDGER and self.lags:
            listed = answer.get("operations", [])
            answer = {**answer, "operations": [o for o in listed if o["type"] != "WITHDRAWAL"]}
        return answer


def _payout(server, login: str, amount: str, key: str) -> None:
    """A payout's balance operation as the payouts code writes it and the worker does it."""
    with transaction.atomic():
        outbox.balance(
            server, subject=f"stage:{key}", amount=D(amount), comment="Payout", key=key, login=login
        )
    assert outbox.run_due() == 1


def _earn(fake, ingestor, login: str) -> None:
    """+6,000.00 on a lot of gold, each step seen by a pull."""
    position = trader_opens(fake, login, "XAUUSD", volume="1")
    ingestor.pull()
    tick(fake, "XAUUSD", "2410.30")
    ingestor.pull()
    trader_closes(fake, login, position)
    ingestor.pull()
    tick(fake, "XAUUSD", "2350.00")


def test_a_payout_the_ledger_lists_late_is_still_money_moved_not_a_loss(server, fake):
    tick(fake, "XAUUSD", "2350.00")
    login = open_account(server, balance="100000").login
    ingestor = ingestor_for(server)
    ingestor.pull()
    _earn(fake, ingestor, login)
    api = LaggingLedger(ingestor.api)
    ingestor.api = api
    _payout(server, login, "-6000", "payout:1")
    ingestor.pull()  # the balance shows it, the ledger does not list it yet
    *_, balance, snapshot = logged(server, login)
    assert (balance["type"], balance["amount"]) == ("balance", "-6000.00")
    assert (snapshot["type"], snapshot["balance"]) == ("equity", "100000.00")
    api.lags = False
    for _ in range(3):
        ingestor.pull()  # the ledger lists it now: once is once
    ingestor_for(server).pull()  # a new ingestor reads every ledger again
    events = logged(server, login)
    assert kinds(events).count("balance -6000.00") == 1
    evaluator = evaluate(events, **TRAILING)
    evaluator.close_until(datetime.now(UTC) + timedelta(days=2))
    assert evaluator.status == "in_progress"
    assert (evaluator.figures().profit, evaluator.figures().moved) == (
        D("6000.00"),
        D("-6000.00"),
    )


def test_a_payout_listed_at_once_is_one_balance_event_too(server, fake):
    tick(fake, "XAUUSD", "2350.00")
    login = open_account(server, balance="100000").login
    ingestor = ingestor_for(server)
    ingestor.pull()
    _payout(server, login, "-2500", "payout:2")
    for _ in range(3):
        ingestor.pull()
    ingestor_for(server).pull()
    assert kinds(logged(server, login)) == ["equity", "balance -2500.00", "equity"]


def test_the_ledger_comments_marker_names_the_commands_key():
    assert marked(f"{marker('balance:payout:12')} Payout PAY-000012") == "balance:payout:12"
    assert marked("Correction by the dealing desk") is None
    assert marked("[propdesk ]") is None


def test_two_withdrawals_carrying_one_commands_key_are_both_money_moved(server, fake):
    """A retry after a lost answer while the ledger lagged withdraws again under the same
    key: the account lost both, and the rules must not read the second as a trading loss."""
    tick(fake, "XAUUSD", "2350.00")
    login = open_account(server, balance="100000").login
    ingestor = ingestor_for(server)
    ingestor.pull()
    _payout(server, login, "-1000", "payout:3")
    ingestor.pull()
    status, _, _ = call(
        fake,
        "POST",
        f"/v1/trading-accounts/{login}/withdraw",
        {"amount": 1000.0, "comment": f"{marker('balance:payout:3')} Payout"},
    )
    assert status == 204
    ingestor.pull()
    ingestor_for(server).pull()
    assert kinds(logged(server, login)) == [
        "equity",
        "balance -1000.00",
        "equity",
        "balance -1000.00",
        "equity",
    ]
