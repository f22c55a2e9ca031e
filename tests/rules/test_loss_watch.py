"""The loss alerts' crossing logic (rules/watch.py) on a real evaluator: the usage an alert tells
is never rounded up to a share not reached, and a paused stage is not looked at."""

from __future__ import annotations

from decimal import Decimal

from propdesk.rules import Evaluator, Event
from propdesk.rules.model import IN_PROGRESS
from propdesk.rules.watch import LossWatch
from tests.rules.factories import eq, make_rules

D = Decimal
STATIC = {"pct": "10", "mode": "static"}
PAUSE = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}


def watched(rules, events: list[Event], watch: LossWatch) -> list[dict]:
    """Feed the events, looking after each snapshot taken in progress (as the monitor does)."""
    ev = Evaluator(rules)
    fired: list[dict] = []
    for event in events:
        ev.feed(event)
        if ev.status is IN_PROGRESS:
            fired += watch.look(ev)[0]
    return fired


def test_the_usage_an_alert_tells_is_rounded_down_never_to_a_share_not_reached():
    """Max loss 10,000 (floor 90,000), alert at 99%: at 90,000.40 the loss is 9,999.60, i.e.
    99.996% used: said 99.99%, not 100.00% (the limit is not reached)."""
    fired = watched(
        make_rules(max_loss=STATIC),
        [eq("2026-03-02T08:00Z", 100000), eq("2026-03-02T09:00Z", 100000, "90000.40")],
        LossWatch(None, D(99)),
    )
    assert [(f["kind"], f["used"], f["loss"], f["limit"]) for f in fired] == [
        ("max_loss", D("99.99"), D("9999.60"), D(10000))
    ]


def test_the_usage_said_at_the_crossing_is_never_below_the_threshold():
    """Alert at 80% of 10,000: the equity exactly at the level (92,000) says 80.00; a cent
    above it fires nothing."""
    rules = make_rules(max_loss=STATIC)
    assert (
        watched(rules, [eq("2026-03-02T08:00Z", 100000, "92000.01")], LossWatch(None, D(80))) == []
    )
    fired = watched(rules, [eq("2026-03-02T08:00Z", 100000, "92000.00")], LossWatch(None, D(80)))
    assert [f["used"] for f in fired] == [D("80.00")]


def test_a_stage_paused_by_its_daily_loss_gets_no_loss_alert_until_the_next_day():
    """Daily loss 5% with a pause, max loss 10% static, max-loss alert at 30% (97,000): the
    snapshot that pauses and those after it the same day (60% of the max loss used) alert
    nothing; the next day's first snapshot below 97,000 does."""
    fired = watched(
        make_rules(max_loss=STATIC, max_daily_loss=PAUSE),
        [
            eq("2026-03-02T08:00Z", 100000),
            eq("2026-03-02T11:00Z", 100000, 94000),  # paused
            eq("2026-03-02T12:00Z", 100000, 93500),  # still paused
            eq("2026-03-03T10:00Z", 100000, 96000),  # resumed: 40% of the max loss used
        ],
        LossWatch(None, D(30)),
    )
    assert [(f["kind"], f["used"]) for f in fired] == [("max_loss", D("40.00"))]
