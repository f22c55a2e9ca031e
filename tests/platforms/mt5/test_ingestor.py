"""The MT5 ingestor: what the fake MT5 server does becomes account events in the log, in the
shapes and with the once-only sources of Match-Trader's, in order and once, across restarts of
the ingestor and of the platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest

from propdesk.platforms import adapters
from propdesk.platforms.matchtrader.client import Budget
from propdesk.platforms.models import LoggedEvent
from propdesk.platforms.mt5.ingestor import POLL_INTERVAL, RESERVE, WINDOW
from propdesk.platforms.protocol import PlatformError
from tests.platforms.mt5.factories import (
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

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(server, fake):
    tick(fake, "XAUUSD", "2350.00")
    return open_account(server, balance="100000").login


def deals(server, login):
    """The log's events of the account but its snapshots."""
    return [k for k in kinds(logged(server, login)) if k != "equity"]


def sources(server, login):
    return list(
        LoggedEvent.objects.filter(server=server, login=login)
        .order_by("id")
        .values_list("source", flat=True)
    )


def test_the_first_pull_writes_one_snapshot_of_each_account(server, login):
    other = open_account(server, balance="5000").login
    ingestor_for(server).pull()
    [first] = logged(server, login)
    assert (first["type"], first["balance"], first["equity"]) == (
        "equity",
        "100000.00",
        "100000.00",
    )
    assert [p["balance"] for p in logged(server, other)] == ["5000.00"]


def test_an_account_not_funded_yet_is_first_seen_once_funded(server, fake):
    adapters.platform(server).api.post(
        "/api/user/add",
        {"pass_main": "Secret123", "pass_investor": "Secret123"},
        {"Group": "demo\\challenge", "Leverage": 100},
    )
    assert ingestor_for(server).pull() == 0


def test_a_pull_with_nothing_new_appends_nothing(server, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    assert ingestor.pull() == 0


def test_an_account_first_seen_with_a_position_open_starts_with_its_snapshot(server, fake, login):
    position = trader_opens(fake, login, "XAUUSD", volume="1")
    moment = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=123_456)
    ingestor_for(server, clock=lambda: moment).pull()
    assert kinds(logged(server, login)) == ["equity", f"in {position}"]
    assert evaluate(logged(server, login)).figures().open_positions == 1


def test_an_opened_position_is_an_in_deal(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    position = trader_opens(fake, login, "XAUUSD", volume="0.5")
    ingestor.pull()
    deal = next(p for p in logged(server, login) if p["type"] == "deal")
    assert (deal["position"], deal["entry"], deal["symbol"], deal["volume"]) == (
        position,
        "in",
        "XAUUSD",
        "0.50",
    )
    assert f"deal:{position}:in" in sources(server, login)


def test_a_new_high_and_a_new_low_of_equity_are_snapshots(server, fake, login):
    ingestor = ingestor_for(server)
    trader_opens(fake, login)  # bought at the ask, 2350.30
    ingestor.pull()
    tick(fake, "XAUUSD", "2355.30")
    ingestor.pull()
    assert logged(server, login)[-1]["equity"] == "100500.00"
    tick(fake, "XAUUSD", "2340.30")
    ingestor.pull()
    assert logged(server, login)[-1]["equity"] == "99000.00"
    tick(fake, "XAUUSD", "2350.30")
    assert ingestor.pull() == 0  # inside its range


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
    assert (snapshot["type"], snapshot["balance"]) == ("equity", "99800.00")
    assert f"deal:{position}:out" in sources(server, login)


def test_a_position_closed_in_parts_is_one_out_when_its_last_part_closes(server, fake, login):
    ingestor = ingestor_for(server)
    position = trader_opens(fake, login, volume="1")
    ingestor.pull()
    tick(fake, "XAUUSD", "2352.30")
    trader_closes(fake, login, position, volume="0.4")  # +80
    ingestor.pull()
    assert [k for k in kinds(logged(server, login)) if k.startswith("out")] == []
    tick(fake, "XAUUSD", "2351.30")
    trader_closes(fake, login, position)  # 0.6 at +1.00: +60
    ingestor.pull()
    outs = [p for p in logged(server, login) if p.get("entry") == "out"]
    assert [(p["volume"], p["profit"]) for p in outs] == [("1.00", "140.00")]
    evaluate(logged(server, login))  # a valid stream


def test_a_position_opened_and_closed_between_two_pulls_is_both_deals(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    position = trader_opens(fake, login)
    trader_closes(fake, login, position)
    ingestor.pull()
    assert kinds(logged(server, login))[1:3] == [f"in {position}", f"out {position}"]
    evaluate(logged(server, login))


def test_money_moved_by_the_firm_is_a_balance_event_before_its_snapshot(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    deal = adapters.platform(server).balance_operation(
        login, Decimal("-5000.00"), "Payout", key="payout:1"
    )
    ingestor.pull()
    assert kinds(logged(server, login))[-2:] == ["balance -5000.00", "equity"]
    assert logged(server, login)[-1]["balance"] == "95000.00"
    assert f"bal:{login}:{deal.deal}" in sources(server, login)
    evaluate(logged(server, login))


def test_the_opening_deposit_is_the_first_snapshot_not_a_balance_event(server, login):
    ingestor_for(server).pull()
    assert kinds(logged(server, login)) == ["equity"]


def test_a_new_ingestor_goes_on_from_the_log_without_writing_twice(server, fake, login):
    ingestor_for(server).pull()
    position = trader_opens(fake, login)
    ingestor_for(server).pull()
    trader_closes(fake, login, position)
    ingestor_for(server).pull()
    ingestor_for(server).pull()
    assert deals(server, login) == [f"in {position}", f"out {position}"]
    assert ingestor_for(server).pull() == 0


def test_a_pull_that_fails_changes_nothing_and_the_next_takes_everything_in(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    position = trader_opens(fake, login)
    control(fake, "fail", {"count": 1, "status": 500, "path": "/api/deal/get_batch"})
    with pytest.raises(PlatformError):
        ingestor.pull()
    assert kinds(logged(server, login)) == ["equity"]
    ingestor.pull()
    assert deals(server, login) == [f"in {position}"]


def test_the_platform_down_then_back_loses_nothing(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.pull()
    position = trader_opens(fake, login)
    fake.go_down(30)
    with pytest.raises(PlatformError) as away:
        ingestor.pull()
    assert away.value.transient
    assert fake.up()
    ingestor.pull()  # a new session: the old one ended with the server
    assert deals(server, login) == [f"in {position}"]


def test_a_restarted_platform_is_read_on_from_where_the_log_is(db, tmp_path):
    state = tmp_path / "mt5.json"
    first = start_fake(state_file=state)
    server = server_for(first)
    port = first.port
    try:
        login = open_account(server).login
        ingestor_for(server).pull()
        position = trader_opens(first, login)
    finally:
        first.stop()
    again = start_fake(state_file=state, port=port)
    try:
        trader_closes(again, login, position)
        ingestor = ingestor_for(server)
        ingestor.pull()
        assert ingestor.pull() == 0
        assert deals(server, login) == [f"in {position}", f"out {position}"]
        evaluate(logged(server, login))
    finally:
        again.stop()


def test_the_quarter_hour_writes_the_moved_equity_once(server, fake, login):
    start = datetime(2026, 1, 5, 10, 1, tzinfo=UTC)
    now = [start]
    ingestor = ingestor_for(server, clock=lambda: now[0])
    trader_opens(fake, login)
    ingestor.pull()
    tick(fake, "XAUUSD", "2355.30")
    ingestor.pull()
    tick(fake, "XAUUSD", "2352.30")
    ingestor.pull()  # inside the range: nothing
    now[0] = start + timedelta(seconds=WINDOW)
    assert ingestor.pull() == 1
    assert logged(server, login)[-1]["equity"] == "100200.00"
    assert ingestor.pull() == 0


def test_only_the_servers_groups_are_read(fake, login, server):
    other = server_for(fake, name="Other", demo_groups=["elsewhere"], live_groups=[], offers={})
    ingestor_for(other).pull()
    assert logged(other) == []


def test_an_account_not_funded_yet_does_not_make_a_pull_read_every_accounts_history(
    server, fake, login
):
    ingestor = ingestor_for(server)
    ingestor.pull()
    adapters.platform(server).api.post(
        "/api/user/add",
        {"pass_main": "Secret123", "pass_investor": "Secret123"},
        {"Group": "demo\\challenge", "Leverage": 100},
    )
    fake.queries.clear()
    ingestor.pull()
    asked = [
        parse_qs(query)
        for path, query in fake.queries
        if path == "/api/deal/get_batch" and login in parse_qs(query)["login"][0].split(",")
    ]
    assert asked
    earliest = datetime.now(UTC) - timedelta(hours=1)
    assert all(int(q["from"][0]) > earliest.timestamp() for q in asked)


def test_a_pull_leaves_the_last_requests_of_the_budget_to_the_commands(server, fake, login):
    ingestor = ingestor_for(server)
    ingestor.api.budget = Budget(limit=RESERVE + 5, window=3600)
    for _ in range(6):
        ingestor.api.budget.take()
    fake.queries.clear()
    assert ingestor.pull() == 0
    assert fake.queries == []
    assert logged(server, login) == []


def test_paced_pulls_are_spread_so_that_the_budget_lasts(server, fake, login):
    ingestor = ingestor_for(server, interval=None)
    ingestor.api.budget = Budget(limit=RESERVE + 20, window=3600)
    ingestor.pull()
    assert ingestor.pause() > POLL_INTERVAL
    fake.queries.clear()
    assert ingestor.pull() == 0
    assert fake.queries == []


@pytest.mark.parametrize("hours", [3, -5])
def test_deals_are_taken_in_at_once_whatever_the_trade_servers_clock(hours):
    # MT5's deal times and the history's from/to are the broker's server clock (GMT+3 in a
    # summer for most brokers), not UTC.
    fake = start_fake(clock_offset=hours * 3600)
    try:
        server = server_for(fake)
        tick(fake, "XAUUSD", "2350.00")
        login = open_account(server, balance="100000").login
        ingestor = ingestor_for(server)
        ingestor.pull()
        adapters.platform(server).balance_operation(login, Decimal("-500"), "Payout", key="p1")
        position = trader_opens(fake, login)
        ingestor.pull()
        trader_closes(fake, login, position)
        ingestor.pull()
        # (Their order and times are still the server's clock's: docs/mt5.md, "Not yet".)
        assert sorted(deals(server, login)) == [
            "balance -500.00",
            f"in {position}",
            f"out {position}",
        ]
    finally:
        fake.stop()


def test_a_deal_made_after_the_servers_summer_time_ended_is_still_taken_in():
    fake = start_fake(clock_offset=3 * 3600)
    try:
        server = server_for(fake)
        tick(fake, "XAUUSD", "2350.00")
        login = open_account(server, balance="100000").login
        now = [datetime.now(UTC)]
        ingestor = ingestor_for(server, clock=lambda: now[0])
        ingestor.pull()
        before = trader_opens(fake, login)
        trader_closes(fake, login, before)
        now[0] += timedelta(seconds=1)
        ingestor.pull()
        fake.book.clock_offset = 2 * 3600  # GMT+3 -> GMT+2: the server's clock an hour back
        after = trader_opens(fake, login)
        trader_closes(fake, login, after)
        for _ in range(2):
            now[0] += timedelta(minutes=5)
            ingestor.pull()
        assert deals(server, login) == [
            f"in {before}",
            f"out {before}",
            f"in {after}",
            f"out {after}",
        ]
    finally:
        fake.stop()
