"""The Match-Trader ingestor: what the fake platform does becomes account events in the log,
in order and once, across restarts of the ingestor and of the platform."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from propdesk.platforms import adapters
from propdesk.platforms.matchtrader import ingestor as ingesting
from propdesk.platforms.matchtrader.client import Budget
from propdesk.platforms.matchtrader.ingestor import RESERVE, WINDOW, MatchTraderIngestor
from propdesk.platforms.models import IngestCursor, LoggedEvent
from propdesk.platforms.protocol import PlatformError
from tests.platforms.matchtrader.factories import (
    control,
    evaluate,
    ingestor_for,
    kinds,
    logged,
    open_account,
    server_for,
    start_fake,
    tick,
    trader_closes,
    trader_opens,
)


@pytest.fixture
def login(server, fake):
    tick(fake, "XAUUSD", "2350.00")
    return open_account(server, balance="100000").login


def test_the_first_pull_writes_one_snapshot_of_each_account(server, login):
    other = open_account(server, email="other@example.com", balance="5000").login
    ingestor_for(server).pull()
    [first] = logged(server, login)
    assert (first["type"], first["balance"], first["equity"]) == (
        "equity",
        "100000.00",
        "100000.00",
    )
    assert [p["balance"] for p in logged(server, other)] == ["5000.00"]


def test_an_account_first_seen_with_a_position_open_starts_with_its_snapshot(server, fake, login):
    """The rules start a stage from an equity snapshot: the account's first one comes before
    the deal of a position opened before the ingestor first saw it (the clock's microseconds
    included)."""
    position = trader_opens(fake, login, "XAUUSD", volume="1")
    moment = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=123_456)
    ingestor_for(server, clock=lambda: moment).pull()
    assert kinds(logged(server, login)) == ["equity", f"in {position}"]
    assert evaluate(logged(server, login)).figures().open_positions == 1


def test_a_pull_with_nothing_new_appends_nothing(server, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    assert ingestor.pull() == 0


def test_an_opened_position_is_an_in_deal(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    position = trader_opens(fake, login, "XAUUSD", volume="1")
    ingestor.pull()
    deal = next(p for p in logged(server, login) if p["type"] == "deal")
    assert (deal["position"], deal["entry"], deal["symbol"], deal["volume"]) == (
        position,
        "in",
        "XAUUSD",
        "1.00",
    )


def test_a_new_high_of_equity_is_a_snapshot(server, fake, login):
    ingestor = ingestor_for(server)
    trader_opens(fake, login)
    ingestor.pull()
    tick(fake, "XAUUSD", "2355.30")
    ingestor.pull()
    assert logged(server, login)[-1]["equity"] == "100500.00"


def test_a_new_low_of_equity_is_a_snapshot(server, fake, login):
    ingestor = ingestor_for(server)
    trader_opens(fake, login)
    ingestor.pull()
    tick(fake, "XAUUSD", "2340.30")
    ingestor.pull()
    assert logged(server, login)[-1]["equity"] == "99000.00"


def test_equity_moving_inside_its_range_writes_nothing(server, fake, login):
    ingestor = ingestor_for(server)
    trader_opens(fake, login)
    ingestor.pull()
    tick(fake, "XAUUSD", "2360.30")
    ingestor.pull()
    tick(fake, "XAUUSD", "2355.30")
    assert ingestor.pull() == 0


def test_a_closed_position_is_one_out_deal_with_its_result_then_the_new_balance(
    server, fake, login
):
    ingestor = ingestor_for(server)
    position = trader_opens(fake, login)
    ingestor.pull()
    tick(fake, "XAUUSD", "2348.30")
    trader_closes(fake, login, position)
    ingestor.pull()
    *_, out, snapshot = logged(server, login)
    assert (out["entry"], out["position"], out["volume"], out["profit"]) == (
        "out",
        position,
        "1.00",
        "-200.00",
    )
    assert (snapshot["type"], snapshot["balance"], snapshot["equity"]) == (
        "equity",
        "99800.00",
        "99800.00",
    )


def test_a_position_closed_in_parts_has_one_out_with_its_whole_volume_and_result(
    server, fake, login
):
    ingestor = ingestor_for(server)
    position = trader_opens(fake, login, volume="2")
    ingestor.pull()
    tick(fake, "XAUUSD", "2351.30")
    trader_closes(fake, login, position, volume="0.5")
    ingestor.pull()
    assert [k for k in kinds(logged(server, login)) if k != "equity"] == [f"in {position}"]
    tick(fake, "XAUUSD", "2352.30")
    trader_closes(fake, login, position)
    ingestor.pull()
    out = logged(server, login)[-2]
    assert (out["entry"], out["volume"], out["profit"]) == ("out", "2.00", "350.00")


def test_a_trade_opened_and_closed_between_two_pulls_is_found_in_the_history(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    position = trader_opens(fake, login)
    tick(fake, "XAUUSD", "2351.30")
    trader_closes(fake, login, position)
    ingestor.pull()
    assert kinds(logged(server, login)) == ["equity", f"in {position}", f"out {position}", "equity"]


def test_a_restarted_ingestor_takes_in_what_happened_meanwhile_once(server, fake, login):
    ingestor_for(server).pull()
    position = trader_opens(fake, login)
    tick(fake, "XAUUSD", "2350.30")  # closed at no profit: the balance does not move
    trader_closes(fake, login, position)
    restarted = ingestor_for(server)
    restarted.pull()
    again = ingestor_for(server)
    assert again.pull() == 0
    assert kinds(logged(server, login)) == ["equity", f"in {position}", f"out {position}"]


def test_the_platform_away_is_a_transient_fault_then_the_gap_is_reconciled(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    position = trader_opens(fake, login)
    trader_closes(fake, login, position)
    fake.go_down(60)
    with pytest.raises(PlatformError) as away:
        ingestor.pull()
    fake.up()
    ingestor.pull()
    assert away.value.transient
    assert [k for k in kinds(logged(server, login)) if k != "equity"] == [
        f"in {position}",
        f"out {position}",
    ]


def drops_after_the_first_page(fake, monkeypatch) -> None:
    """A page of one account: the first page is answered (slowly), then the platform stops
    listening before the second is asked for."""
    monkeypatch.setattr(ingesting, "PAGE_SIZE", 1)
    control(
        fake,
        "delay",
        {"count": 1, "seconds": 0.5, "method": "GET", "path": "/v1/trading-accounts$"},
    )

    def drop() -> None:
        deadline = time.monotonic() + 10
        while fake.faults.pending and time.monotonic() < deadline:
            time.sleep(0.01)  # until the first page is being answered
        fake.go_down(60)

    threading.Thread(target=drop, daemon=True).start()


def answers_500_to_the_ledger(fake, monkeypatch) -> None:
    """The accounts, their open positions and both histories are read, then the ledger (the
    pull's last request) is answered 500."""
    control(fake, "fail", {"count": 1, "status": 500, "method": "POST", "path": "/ledgers$"})


@pytest.mark.parametrize("dies", [drops_after_the_first_page, answers_500_to_the_ledger])
def test_a_pull_that_dies_mid_way_leaves_nothing_and_a_fresh_ingestor_appends_each_event_once(
    server, fake, login, monkeypatch, dies
):
    other = open_account(server, email="other@example.com", balance="5000").login
    ingestor_for(server).pull()
    kept = logged(server)
    cursor = IngestCursor.objects.get(server=server).position
    closed = trader_opens(fake, login)  # at 2350.30
    tick(fake, "XAUUSD", "2351.30")
    trader_closes(fake, login, closed)  # +100.00
    held = trader_opens(fake, other)
    adapters.platform(server).balance_operation(other, Decimal("500"), "Correction", key="c:1")
    dies(fake, monkeypatch)

    with pytest.raises(PlatformError) as died:
        ingestor_for(server).pull()

    assert died.value.transient
    assert not fake.faults.pending  # it died where the test meant it to
    assert logged(server) == kept
    assert IngestCursor.objects.get(server=server).position == cursor
    assert fake.up()
    monkeypatch.undo()  # the next ingestor reads pages of the usual size
    ingestor_for(server).pull()
    assert kinds(logged(server, login)) == ["equity", f"in {closed}", f"out {closed}", "equity"]
    assert logged(server, login)[-1]["balance"] == "100100.00"
    assert kinds(logged(server, other)) == ["equity", f"in {held}", "balance 500.00", "equity"]
    assert logged(server, other)[-1]["balance"] == "5500.00"
    assert ingestor_for(server).pull() == 0  # and another one finds nothing new
    sources = list(LoggedEvent.objects.filter(server=server).values_list("source", flat=True))
    assert len(sources) == len(set(sources)) == 8


def test_a_restarted_platform_loses_and_doubles_nothing(db, tmp_path):
    state = tmp_path / "match-trader.json"
    first = start_fake(state_file=state)
    server = server_for(first)
    tick(first, "XAUUSD", "2350.00")
    login = open_account(server).login
    ingestor = ingestor_for(server)
    position = trader_opens(first, login)
    ingestor.pull()
    port = first.port
    first.stop()
    second = start_fake(state_file=state, port=port)
    try:
        tick(second, "XAUUSD", "2351.30")
        trader_closes(second, login, position)
        ingestor.pull()
        ingestor_for(server).pull()
    finally:
        second.stop()
    assert [k for k in kinds(logged(server, login)) if k != "equity"] == [
        f"in {position}",
        f"out {position}",
    ]
    assert logged(server, login)[-1]["balance"] == "100100.00"


def test_a_quarter_hour_writes_the_value_that_moved_stamped_when_it_arose(server, fake, login):
    boundary = (int(datetime.now(UTC).timestamp()) // WINDOW + 2) * WINDOW
    start = datetime.fromtimestamp(boundary, UTC) - timedelta(minutes=5)
    moments = iter(
        [
            start,
            start + timedelta(minutes=1),
            start + timedelta(minutes=2),
            start + timedelta(minutes=6),
        ]
    )
    ingestor = ingestor_for(server, clock=lambda: next(moments))
    trader_opens(fake, login)
    ingestor.pull()  # the first snapshot (and the in deal)
    tick(fake, "XAUUSD", "2352.30")
    ingestor.pull()  # a new high
    tick(fake, "XAUUSD", "2351.30")
    ingestor.pull()  # inside the range: nothing yet
    ingestor.pull()  # the next quarter hour: the value of minute 2
    last = logged(server, login)[-1]
    assert last["equity"] == "100100.00"
    assert datetime.fromisoformat(last["t"]) == start + timedelta(minutes=2)


def test_each_accounts_log_is_valid_input_for_the_rule_evaluator(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    for bid in ("2352.30", "2349.30", "2360.30"):
        position = trader_opens(fake, login)
        ingestor.pull()
        tick(fake, "XAUUSD", bid)
        ingestor.pull()
        trader_closes(fake, login, position)
        ingestor.pull()
        tick(fake, "XAUUSD", "2350.00")
    evaluator = evaluate(logged(server, login))
    assert evaluator.figures().balance == Decimal("101100.00")


def test_pulls_come_no_closer_than_the_interval(server, fake, login):
    ingestor = ingestor_for(server, interval=3600)
    ingestor.pull()
    trader_opens(fake, login)
    assert ingestor.pull() == 0


def test_pulls_are_spread_over_the_minutes_requests(server, fake, login):
    """The monitor's ingestor (no interval given) pulls no faster than its pulls' requests fit
    in the minute's budget beside the commands' reserve: a steady pace, never a burst that
    spends the minute and then sees nothing until it is over."""
    ingestor = adapters.platform(server).ingestor()
    assert isinstance(ingestor, MatchTraderIngestor)
    ingestor.api.budget = Budget(limit=RESERVE + 20)
    # One page of accounts, one batch of open positions, and the ledger of the account seen
    # for the first time (what it holds already is not money moved): 3 of the 20.
    ingestor.pull()
    assert ingestor.pause() == 9.0  # 3 requests x 60 s / 20
    trader_opens(fake, login)
    assert ingestor.pull() == 0
    assert ingestor.api.budget.spare() == RESERVE + 17


def test_a_pull_leaves_the_minutes_last_requests_to_the_commands(server, login):
    ingestor = ingestor_for(server)
    ingestor.api.budget = Budget(limit=RESERVE - 1)
    assert ingestor.pull() == 0
    assert logged(server) == []


def test_the_adapter_gives_the_servers_ingestor(server):
    ingestor = adapters.platform(server).ingestor()
    assert isinstance(ingestor, MatchTraderIngestor)
    assert ingestor.waiter() is None


def test_an_account_not_yet_funded_is_first_seen_once_its_deposit_is_made(server, fake):
    """An opening creates the account, then deposits: a look between the two must not write
    a snapshot of nothing (a stage reading it would fail at once on a total loss)."""
    from tests.platforms.matchtrader.factories import control

    control(fake, "fail", {"count": 1, "status": 503, "method": "POST", "path": "/deposit$"})
    with pytest.raises(PlatformError):
        open_account(server, key="stage:77:open", balance="100000")
    ingestor = ingestor_for(server)
    assert ingestor.pull() == 0
    opened = open_account(server, key="stage:77:open", balance="100000")  # the retry
    ingestor.pull()
    assert [(p["type"], p["balance"]) for p in logged(server, opened.login)] == [
        ("equity", "100000.00")
    ]


def test_after_a_restart_the_histories_are_read_a_few_accounts_a_pull(server, fake, login):
    from propdesk.platforms.matchtrader import ingestor as ingesting
    from propdesk.platforms.models import IngestCursor

    others = [open_account(server, email=f"t{n}@example.com").login for n in range(3)]
    ingestor_for(server).pull()
    position = trader_opens(fake, others[-1])
    tick(fake, "XAUUSD", "2350.30")  # closed at no profit: only its history tells
    trader_closes(fake, others[-1], position)
    restarted = ingestor_for(server)
    kept = ingesting.RECONCILE_EACH_PULL
    ingesting.RECONCILE_EACH_PULL = 2
    try:
        restarted.pull()
        owed = IngestCursor.objects.get(server=server).position["reconcile"]
        assert len(owed) == 2  # four accounts known: two read now, two owed
        restarted.pull()
    finally:
        ingesting.RECONCILE_EACH_PULL = kept
    assert "reconcile" not in IngestCursor.objects.get(server=server).position
    assert kinds(logged(server, others[-1])) == ["equity", f"in {position}", f"out {position}"]
