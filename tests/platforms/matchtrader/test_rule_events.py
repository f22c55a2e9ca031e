"""Money the firm moves in or out of a Match-Trader account (a payout taking profit off, a
deposit, a correction) reaches the log as a `balance` event (docs/rules.md, "Money moved by the
firm"), once, in its place among the deals and before the snapshot that shows it, across
restarts of the ingestor; the rule evaluator then reads none of it as a trading result. The
sandbox's version of these is tests/platforms/test_sandbox_rule_events.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from propdesk.platforms import adapters
from propdesk.platforms.matchtrader.ingestor import ledger_entries
from propdesk.platforms.protocol import PlatformError
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

D = Decimal
# A trailing max loss without the lock at the start, and a daily loss from the day's peak: a
# payout taken at the high would breach both if it were read as a loss.
TRAILING = {
    "max_loss": {"pct": "5", "mode": "trailing_intraday", "lock_at_initial": False},
    "max_daily_loss": {"pct": "5", "basis": "day_peak_equity"},
}


@pytest.fixture
def login(server, fake):
    tick(fake, "XAUUSD", "2350.00")
    return open_account(server, balance="100000").login


def pay(server, login: str, amount: str, key: str, comment: str = "Profit share") -> None:
    """A balance operation through the adapter, as the outbox carries out a payout's."""
    adapters.platform(server).balance_operation(login, D(amount), comment, key=key)


def at_the_platform(fake, login: str, kind: str, amount: str) -> tuple[int, Any]:
    """A balance operation made at the platform itself (staff there, not propdesk)."""
    status, _, answer = call(
        fake,
        "POST",
        f"/v1/trading-accounts/{login}/{kind}",
        {"amount": float(amount), "comment": "Correction", "additionalType": "CORRECTION"},
    )
    return status, answer


def earn(fake, ingestor, login: str, bid: str = "2410.30") -> None:
    """The trader buys 1 lot of gold at 2350.30 and sells it at `bid` (+6,000 at 2410.30),
    each step seen by a pull."""
    position = trader_opens(fake, login, "XAUUSD", volume="1")
    ingestor.pull()
    tick(fake, "XAUUSD", bid)
    ingestor.pull()
    trader_closes(fake, login, position)
    ingestor.pull()
    tick(fake, "XAUUSD", "2350.00")


def test_a_payout_is_a_balance_event_before_the_snapshot_showing_it(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    earn(fake, ingestor, login)
    pay(server, login, "-6000", key="payout:1")
    ingestor.pull()
    *_, balance, snapshot = logged(server, login)
    assert (balance["type"], balance["amount"]) == ("balance", "-6000.00")
    assert (snapshot["type"], snapshot["balance"], snapshot["equity"]) == (
        "equity",
        "100000.00",
        "100000.00",
    )
    assert datetime.fromisoformat(balance["t"]) <= datetime.fromisoformat(snapshot["t"])


def test_a_payout_of_profit_at_the_high_neither_breaches_nor_passes(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    earn(fake, ingestor, login)  # the high: 106,000, so the floors are at 100,700
    pay(server, login, "-6000", key="payout:1")
    ingestor.pull()
    events = logged(server, login)
    evaluator = evaluate(events, **TRAILING)
    evaluator.close_until(datetime.now(UTC) + timedelta(days=2))
    shown = evaluator.figures()
    assert evaluator.status == "in_progress"
    assert (shown.balance, shown.moved, shown.profit) == (
        D("100000.00"),
        D("-6000.00"),
        D("6000.00"),  # trading profit, the payout apart
    )
    assert shown.max_loss_floor == D("95000.00")  # the high moved down with the payout
    # Read as a loss, the same payout would fail the stage at once.
    as_a_loss = evaluate([e for e in events if e["type"] != "balance"], **TRAILING)
    assert as_a_loss.status == "failed"


def test_a_deposit_is_not_read_as_profit(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    pay(server, login, "15000", key="top-up:1", comment="Correction")
    ingestor.pull()
    events = logged(server, login)
    assert kinds(events) == ["equity", "balance 15000.00", "equity"]
    evaluator = evaluate(events)
    evaluator.close_until(datetime.now(UTC) + timedelta(days=2))
    assert evaluator.status == "in_progress"  # the 10% target is trading profit's
    assert (evaluator.figures().profit, evaluator.figures().moved) == (D("0.00"), D("15000.00"))
    as_profit = evaluate([e for e in events if e["type"] != "balance"])
    as_profit.close_until(datetime.now(UTC) + timedelta(days=2))
    assert as_profit.status == "passed"


def test_the_accounts_opening_deposit_is_its_first_snapshot_not_a_balance_event(
    server, fake, login
):
    ingestor = ingestor_for(server)
    ingestor.pull()
    earn(fake, ingestor, login, bid="2351.30")  # the balance moves: the ledger is read again
    assert [p["type"] for p in logged(server, login)].count("balance") == 0
    assert logged(server, login)[0]["balance"] == "100000.00"


def test_an_ingestor_restarted_after_a_payout_writes_it_once(server, fake, login):
    ingestor_for(server).pull()
    pay(server, login, "-2500", key="payout:1")
    ingestor_for(server).pull()  # restarted after the payout: found as the balance moved
    ingestor_for(server).pull()  # and again: every history and ledger read once more
    again = ingestor_for(server)
    again.pull()
    assert again.pull() == 0
    assert kinds(logged(server, login)) == ["equity", "balance -2500.00", "equity"]


def test_a_payout_found_after_the_platform_was_away_comes_once_in_its_place(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    pay(server, login, "-1000", key="payout:1")
    position = trader_opens(fake, login, "XAUUSD", volume="1")
    tick(fake, "XAUUSD", "2351.30")
    trader_closes(fake, login, position)  # +100, after the payout
    fake.go_down(60)
    with pytest.raises(PlatformError):
        ingestor.pull()
    fake.up()
    ingestor.pull()
    ingestor_for(server).pull()
    assert kinds(logged(server, login)) == [
        "equity",
        "balance -1000.00",
        f"in {position}",
        f"out {position}",
        "equity",
    ]
    assert logged(server, login)[-1]["balance"] == "99100.00"


def test_a_payout_repeated_under_its_key_is_one_balance_event(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    pay(server, login, "-1200", key="payout:7")
    ingestor.pull()
    pay(server, login, "-1200", key="payout:7")  # the outbox's retry after a lost answer
    ingestor.pull()
    assert [p["amount"] for p in logged(server, login) if p["type"] == "balance"] == ["-1200.00"]


def test_a_balance_operation_made_at_the_platform_is_a_balance_event_too(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    assert at_the_platform(fake, login, "withdraw", "250.50")[0] == 204
    assert at_the_platform(fake, login, "deposit", "100")[0] == 204
    ingestor.pull()
    assert kinds(logged(server, login)) == [
        "equity",
        "balance -250.50",
        "balance 100.00",
        "equity",
    ]


def test_each_accounts_balance_events_are_its_own(server, fake, login):
    other = open_account(server, email="other@example.com", balance="5000").login
    ingestor = ingestor_for(server)
    ingestor.pull()
    pay(server, login, "-300", key="payout:1")
    pay(server, other, "45", key="top-up:2", comment="Correction")
    ingestor.pull()
    assert kinds(logged(server, login))[1:] == ["balance -300.00", "equity"]
    assert kinds(logged(server, other))[1:] == ["balance 45.00", "equity"]


def test_a_refused_withdrawal_writes_nothing(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    status, answer = at_the_platform(fake, login, "withdraw", "100000.01")
    assert (status, answer["type"]) == (400, "error://broker-api/insufficient-funds")
    with pytest.raises(PlatformError):
        pay(server, login, "-100000.01", key="payout:1")
    assert ingestor.pull() == 0
    assert kinds(logged(server, login)) == ["equity"]


class GroupedLedger:
    """A platform answering the ledger one `{"login", "operations"}` per login, as the older
    REST page lists the answer's attributes (the fake answers the other way)."""

    def post(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "login": login,
                "group": "g",
                "operations": [
                    {"id": f"{login}-1", "type": "DEPOSIT", "time": "2026-01-05T10:00:00Z"}
                ],
            }
            for login in body["logins"]
        ]


def test_a_ledger_answered_per_login_is_read_too():
    found = ledger_entries(GroupedLedger(), ["7", "8"], ["DEPOSIT"])  # type: ignore[arg-type]
    assert {login: [e["id"] for e in entries] for login, entries in found.items()} == {
        "7": ["7-1"],
        "8": ["8-1"],
    }
