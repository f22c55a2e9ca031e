"""The equity curve: five-minute buckets keeping each bucket's low, high and last figures, the
open one on the attempt, written by the monitor as it reads snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from propdesk.challenges.models import CurvePoint, StageAttempt
from propdesk.challenges.monitoring import curve, monitor
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.rules.model import Equity
from tests.challenges.factories import move, running, server, stage

D = Decimal


def snap(minute: int, second: int, equity: str, balance: str = "100000") -> Equity:
    return Equity(datetime(2026, 3, 2, 10, minute, second, tzinfo=UTC), D(balance), D(equity))


def test_buckets_keep_the_low_the_high_and_the_last_figures():
    attempt = StageAttempt()
    closed = curve.take(
        attempt,
        [
            snap(0, 5, "100000"),
            snap(1, 0, "99500.25"),
            snap(3, 0, "100200"),
            snap(4, 59, "100100", "100050"),
            snap(5, 0, "100300"),  # the next bucket: the first one closes
        ],
    )
    assert [(p.t.minute, p.low, p.high, p.equity, p.balance) for p in closed] == [
        (0, D("99500.25"), D("100200"), D("100100"), D("100050"))
    ]
    assert attempt.curve_open == {
        "t": "2026-03-02T10:05:00Z",
        "low": "100300",
        "high": "100300",
        "equity": "100300",
        "balance": "100000",
    }
    # Quiet buckets are skipped, not filled; a snapshot older than the open bucket is ignored.
    closed = curve.take(attempt, [snap(4, 0, "1"), snap(21, 0, "99000")])
    assert [p.t.minute for p in closed] == [5]
    assert closed[0].low == D("100300")
    assert attempt.curve_open["t"] == "2026-03-02T10:20:00Z"


@pytest.mark.django_db
def test_the_monitor_draws_the_curve_down_to_the_breach(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08000", "1.08012")  # equity 94,880: the breach
    monitor.process(server())
    attempt.refresh_from_db()
    points = curve.points(attempt)
    assert points  # one open bucket at least (the test runs inside five minutes or across two)
    assert min(D(p["low"]) for p in points) == D("94880.00")
    assert D(points[-1]["equity"]) == D("94880.00")
    assert len(points) == CurvePoint.objects.filter(attempt=attempt).count() + 1


def bucket(t: str, low: str, high: str, equity: str, balance: str = "100000.00") -> dict:
    return {"t": t, "low": low, "high": high, "equity": equity, "balance": balance}


def test_the_curve_in_words_gives_its_range_and_each_day_of_the_zone_it_is_read_in():
    chart = {
        "currency": "USD",
        "time_zone": "Asia/Tokyo",  # UTC+9: 14:55 UTC is 23:55 there, 15:00 UTC the next day
        "points": [
            bucket("2026-03-02T14:50:00Z", "99900.00", "100100.00", "100000.00"),
            bucket("2026-03-02T14:55:00Z", "99500.25", "100050.00", "99600.00", "99700.00"),
            bucket("2026-03-02T15:00:00Z", "99600.00", "101200.00", "101000.00", "101000.00"),
        ],
        "lines": [{"key": "max", "label": "Max-loss floor", "value": "90000.00"}],
    }
    words = curve.in_words(chart)
    assert words is not None
    assert (words["start"], words["end"], words["zone"]) == (
        "2026-03-02 23:50",
        "2026-03-03 00:00",
        "Asia/Tokyo",
    )
    assert (words["opened"], words["equity"], words["balance"]) == (
        D("100000.00"),
        D("101000.00"),
        D("101000.00"),
    )
    assert (words["lowest"], words["highest"]) == (D("99500.25"), D("101200.00"))
    assert words["lines"] == [{"label": "Max-loss floor", "value": D("90000.00")}]
    assert [
        (str(d["day"]), d["low"], d["high"], d["equity"], d["balance"]) for d in words["days"]
    ] == [
        ("2026-03-02", D("99500.25"), D("100100.00"), D("99600.00"), D("99700.00")),
        ("2026-03-03", D("99600.00"), D("101200.00"), D("101000.00"), D("101000.00")),
    ]


def test_a_curve_without_points_has_no_words():
    assert (
        curve.in_words({"currency": "USD", "time_zone": "UTC", "points": [], "lines": []}) is None
    )
