"""Version 2 of the rule contract, one worked example per rule (docs/rules.md shows the same)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from propdesk.rules import (
    Balance,
    Deal,
    Evaluator,
    Event,
    EventError,
    Rules,
    RulesError,
    explain,
    parse_time,
)
from tests.rules.factories import OneDayAtATime, eq, kinds, make_rules, run, sell

PRAGUE_FRIDAY_CUTOFF = {"day": "friday", "time": "21:00"}


def buy(t: str, position: str = "p1", volume: str | None = None) -> Deal:
    return Deal(parse_time(t), position, "in", None, None if volume is None else Decimal(volume))


def moved(t: str, amount: str) -> Balance:
    return Balance(parse_time(t), Decimal(amount))


def prague(**rules: Any) -> Rules:
    return make_rules(timezone="Europe/Prague", **rules)


# ------------------------------------------------------------------------------ weekend close


def test_a_position_open_at_the_weekend_cutoff_fails_the_stage_at_the_cutoff() -> None:
    rules = prague(weekend_close=PRAGUE_FRIDAY_CUTOFF)
    # Friday 6 March 2026, 21:00 in Prague (UTC+1) is 20:00 UTC.
    events: list[Event] = [eq("2026-03-02T08:00Z", 100000), buy("2026-03-06T10:00Z")]
    assert kinds(rules, events, until="2026-03-07T00:00Z") == [
        ("2026-03-06T20:00:00Z", "failed", "weekend_holding")
    ]
    evaluator = run(rules, events, until="2026-03-07T00:00Z")
    why = evaluator.outcomes[-1].explanation
    assert (why["open_positions"], why["positions"], why["cutoff"]) == (
        1,
        ["p1"],
        "2026-03-06T20:00:00Z",
    )
    assert "weekend cutoff: friday 21:00 in Europe/Prague = 2026-03-06T20:00:00Z" in explain(
        evaluator
    )


def test_a_flat_book_at_the_cutoff_goes_on_and_the_next_cutoff_is_a_week_later() -> None:
    rules = prague(weekend_close=PRAGUE_FRIDAY_CUTOFF)
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-06T10:00Z"),
        sell("2026-03-06T19:59Z"),
        buy("2026-03-09T08:00Z"),
    ]
    evaluator = run(rules, events)
    assert evaluator.status == "in_progress"
    assert evaluator.weekend_cutoff == parse_time("2026-03-13T20:00Z")
    assert evaluator.next_due == parse_time("2026-03-09T23:00Z")  # Monday's end comes first


def test_an_event_at_the_cutoff_instant_comes_after_the_cutoff() -> None:
    rules = prague(weekend_close=PRAGUE_FRIDAY_CUTOFF)
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-06T10:00Z"),
        sell("2026-03-06T20:00Z"),
    ]
    assert kinds(rules, events) == [("2026-03-06T20:00:00Z", "failed", "weekend_holding")]


def test_a_day_end_at_the_same_instant_as_the_cutoff_comes_first() -> None:
    # The day resets at 21:00, so Friday's trading day ends at the cutoff; it is the period's
    # last day and a position is open: the period fails the stage, not the weekend rule.
    rules = prague(weekend_close=PRAGUE_FRIDAY_CUTOFF, day_reset="21:00", trading_period_days=5)
    events: list[Event] = [eq("2026-03-02T08:00Z", 100000), buy("2026-03-02T09:00Z")]
    assert kinds(rules, events, until="2026-03-08T00:00Z") == [
        ("2026-03-06T20:00:00Z", "failed", "trading_period")
    ]


def test_only_cutoffs_after_the_start_count() -> None:
    rules = prague(weekend_close=PRAGUE_FRIDAY_CUTOFF)
    start = eq("2026-03-06T20:00Z", 100000)  # the stage starts at the cutoff instant itself
    evaluator = run(rules, [start, buy("2026-03-06T20:00Z")], until="2026-03-10T00:00Z")
    assert evaluator.status == "in_progress"
    assert evaluator.weekend_cutoff == parse_time("2026-03-13T20:00Z")


def test_a_cutoff_inside_a_daylight_saving_gap_resolves_as_a_day_end_does() -> None:
    # New York springs forward at 02:00 on Sunday 8 March 2026: 02:30 does not exist, and
    # fold=0 reads it with the offset before the change (-05:00), 07:30 UTC.
    rules = make_rules(
        timezone="America/New_York", weekend_close={"day": "sunday", "time": "02:30"}
    )
    events: list[Event] = [eq("2026-03-02T15:00Z", 100000), buy("2026-03-06T15:00Z")]
    assert kinds(rules, events, until="2026-03-09T00:00Z") == [
        ("2026-03-08T07:30:00Z", "failed", "weekend_holding")
    ]


def test_quiet_weeks_are_skipped_but_not_past_a_cutoff_with_a_position_open() -> None:
    rules = prague(weekend_close=PRAGUE_FRIDAY_CUTOFF)
    flat = run(rules, [eq("2026-03-02T08:00Z", 100000)], until="2027-03-01T00:00Z")
    assert flat.status == "in_progress"
    assert flat.weekend_cutoff == parse_time("2027-03-05T20:00Z")
    held: list[Event] = [eq("2026-03-02T08:00Z", 100000), buy("2026-03-02T09:00Z")]
    assert kinds(rules, held, until="2027-03-01T00:00Z") == [
        ("2026-03-06T20:00:00Z", "failed", "weekend_holding")
    ]


def test_a_quiet_run_with_a_position_open_stops_at_the_cutoff_as_closing_day_by_day_does() -> None:
    rules = prague(weekend_close=PRAGUE_FRIDAY_CUTOFF, inactivity_days=30)
    events: list[Event] = [eq("2026-03-02T08:00Z", 100000), buy("2026-03-02T09:00Z")]
    until = parse_time("2026-03-20T00:00Z")
    slow = OneDayAtATime(rules)
    for event in events:
        slow.feed(event)
    slow.close_until(until)
    fast = run(rules, events, until="2026-03-20T00:00Z")
    assert fast.verdict()["rule"] == "weekend_holding"
    assert fast.state() == slow.state()  # the same day, the same inactive streak
    assert fast.figures().day == slow.figures().day == date(2026, 3, 6)


# ---------------------------------------------------------------------------- balance events


def test_a_payout_at_a_trailing_high_neither_fails_the_stage_nor_moves_its_target() -> None:
    rules = make_rules(
        profit_target_pct="10",
        max_loss={"pct": "10", "mode": "trailing_intraday", "lock_at_initial": False},
        max_daily_loss={"pct": "5", "basis": "prev_day_balance"},
    )
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z"),
        sell("2026-03-02T10:00Z", profit="9000"),
        eq("2026-03-02T10:00Z", 109000),  # the trailing high: floor 99000
        moved("2026-03-03T09:00Z", "-5000"),
        eq("2026-03-03T09:00:01Z", 104000),  # the platform's balance after the payout
    ]
    evaluator = run(rules, events)
    assert evaluator.status == "in_progress"
    figures = evaluator.figures()
    assert figures.max_loss_floor == Decimal("94000")  # the peak moved with the payout
    assert figures.daily_loss_floor == Decimal("99000")  # 109000 - 5000 moved - 5% of 100000
    assert figures.profit == Decimal("9000")  # trading profit, without the payout
    assert figures.moved == Decimal("-5000")
    (move,) = evaluator.moves
    assert (move["before"]["max_loss_floor"], move["after"]["max_loss_floor"]) == (
        "99000.00",
        "94000.00",
    )
    assert move["after"]["target_balance"] == "105000.00"
    text = explain(evaluator)
    assert "5000 taken out of the account by the firm" in text
    assert "max loss floor: 99000.00 -> 94000.00" in text
    # A trade of 1000 then reaches the target of 110000 - 5000 moved.
    later = run(
        rules,
        [
            *events,
            buy("2026-03-03T10:00Z"),
            sell("2026-03-03T11:00Z", profit="1000"),
            eq("2026-03-03T11:00Z", 105000),
        ],
        until="2026-03-04T00:00Z",
    )
    assert later.verdict()["status"] == "passed"


def test_a_payout_without_a_following_snapshot_is_not_a_loss_at_the_day_end() -> None:
    rules = make_rules(
        profit_target_pct="10",
        min_trading_days=1,
        best_day_max_pct="80",
        max_loss={"pct": "10", "mode": "trailing_eod", "lock_at_initial": False},
    )
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z"),
        sell("2026-03-02T10:00Z", profit="6000"),
        eq("2026-03-02T10:00Z", 106000),
        buy("2026-03-03T09:00Z"),
        sell("2026-03-03T10:00Z", profit="5000"),
        eq("2026-03-03T10:00Z", 111000),
        moved("2026-03-03T12:00Z", "-8000"),  # no snapshot follows before the day ends
    ]
    evaluator = run(rules, events, until="2026-03-04T00:00Z")
    # Closing balance 111000 - 8000 = 103000; trading profit 103000 + 8000 - 100000 = 11000;
    # day profits 6000 and 5000 (103000 - (106000 - 8000)): best day 6000 <= 80% of 11000.
    assert evaluator.verdict()["status"] == "passed"
    closing = evaluator.outcomes[-1].explanation
    assert closing["closing_balance"] == "103000"
    assert closing["moved"] == "-8000"


def test_a_deposit_moves_the_daily_basis_for_the_rest_of_the_day() -> None:
    rules = make_rules(max_daily_loss={"pct": "5", "basis": "prev_day_equity"})
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        moved("2026-03-02T09:00Z", "20000"),
        eq("2026-03-02T09:00:01Z", 120000),
        eq("2026-03-02T10:00Z", 115001),  # floor 120000 - 5000 = 115000
        eq("2026-03-02T11:00Z", "114999.99"),
    ]
    assert kinds(rules, events) == [("2026-03-02T11:00:00Z", "failed", "max_daily_loss")]


# ---------------------------------------------------------------------------- trading days


def test_opened_and_closed_counts_only_a_position_opened_and_closed_the_same_day() -> None:
    rules = make_rules(trading_day={"counts": "opened_and_closed"})
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z", "overnight"),
        sell("2026-03-03T09:00Z", "overnight"),  # opened the day before: does not count
        buy("2026-03-04T09:00Z", "intraday"),
        sell("2026-03-04T10:00Z", "intraday"),  # counts from this deal
    ]
    evaluator = run(rules, events)
    assert evaluator.trading_days == 1
    assert run(rules, events[:4]).trading_days == 0


def test_a_least_day_profit_counts_a_day_only_at_its_close() -> None:
    rules = make_rules(trading_day={"counts": "opened", "min_profit_pct": "0.5"})
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z"),
        sell("2026-03-02T10:00Z", profit="500"),
        eq("2026-03-02T10:00Z", 100500),  # exactly 0.5% of 100000: counts at the close
        buy("2026-03-03T09:00Z"),
        sell("2026-03-03T10:00Z", profit="499.99"),
        eq("2026-03-03T10:00Z", "100999.99"),  # 499.99: does not count
    ]
    assert run(rules, events[:4]).trading_days == 0  # Monday has not closed yet
    assert run(rules, events[:4], until="2026-03-03T00:00Z").trading_days == 1
    assert run(rules, events).trading_days == 1  # Tuesday's deals closed Monday
    closed = run(rules, events, until="2026-03-04T00:00Z")
    assert closed.trading_days == 1
    assert "counted: 2026-03-02 (profit 500)" in explain(closed)


def test_a_deal_that_fails_the_stage_still_counts_its_day() -> None:
    rules = make_rules(max_loss_per_trade_pct="1", trading_day={"counts": "opened_and_closed"})
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z"),
        sell("2026-03-02T10:00Z", profit="-1000.01"),
    ]
    assert run(rules, events).verdict()["trading_days"] == 1


# ---------------------------------------------------------------------------- open limits


def test_one_position_too_many_fails_at_its_in_deal() -> None:
    rules = make_rules(max_open_positions=2)
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z", "a"),
        buy("2026-03-02T09:01Z", "b"),
        sell("2026-03-02T09:02Z", "a"),
        buy("2026-03-02T09:03Z", "c"),  # two open again
        buy("2026-03-02T09:04Z", "d"),  # three
    ]
    assert kinds(rules, events) == [("2026-03-02T09:04:00Z", "failed", "max_open_positions")]
    assert "open positions with it: 3 > the limit 2" in explain(run(rules, events))


def test_lots_over_the_limit_fail_at_the_in_deal_that_adds_them() -> None:
    rules = make_rules(max_open_volume="3")
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z", "a", "1.00"),
        buy("2026-03-02T09:01Z", "b", "2.00"),  # 3.00: at the limit
        sell("2026-03-02T09:02Z", "b"),
        buy("2026-03-02T09:03Z", "c", "2.01"),  # 3.01
    ]
    assert kinds(rules, events) == [("2026-03-02T09:03:00Z", "failed", "max_open_volume")]
    assert run(rules, events[:4]).figures().open_volume == Decimal("1.00")


def test_an_in_deal_without_volume_is_refused_when_lots_are_limited() -> None:
    evaluator = Evaluator(make_rules(max_open_volume="3"))
    evaluator.feed(eq("2026-03-02T08:00Z", 100000))
    with pytest.raises(EventError, match='in deal without "volume"'):
        evaluator.feed(buy("2026-03-02T09:00Z"))


# ---------------------------------------------------------------------------- day peak, lock


def test_the_day_peak_basis_measures_from_the_days_highest_equity() -> None:
    rules = make_rules(max_daily_loss={"pct": "5", "basis": "day_peak_equity"})
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        eq("2026-03-02T09:00Z", 100000, 104000),  # peak 104000: floor 99000
        eq("2026-03-02T10:00Z", 100000, 99000),
        eq("2026-03-02T20:00Z", 100000, 101000),  # closes with equity 101000
        eq("2026-03-03T09:00Z", 100000, 96000),  # floor 101000 - 5000
        eq("2026-03-03T10:00Z", 100000, "95999.99"),
    ]
    assert kinds(rules, events) == [("2026-03-03T10:00:00Z", "failed", "max_daily_loss")]
    assert run(rules, events[:3]).figures().daily_loss_floor == Decimal("99000")


def test_a_lock_offset_stops_the_trailing_floor_above_the_start() -> None:
    rules = make_rules(max_loss={"pct": "2", "mode": "trailing_eod", "lock_offset": "100"})
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        eq("2026-03-02T20:00Z", 105000),  # closes at 105000: floor min(103000, 100100)
        eq("2026-03-03T09:00Z", 100100),
        eq("2026-03-03T10:00Z", "100099.99"),
    ]
    assert kinds(rules, events) == [("2026-03-03T10:00:00Z", "failed", "max_loss")]
    assert "locked at the initial balance + 100 = 100100" in explain(run(rules, events))


# ---------------------------------------------------------------------------- rules, state


def test_a_version_1_rule_set_keeps_its_canonical_form() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "static"})
    assert set(rules.to_dict()) == {
        "initial_balance",
        "timezone",
        "day_reset",
        "profit_target_pct",
        "max_daily_loss",
        "max_loss",
        "max_loss_per_trade_pct",
        "min_trading_days",
        "trading_period_days",
        "inactivity_days",
        "best_day_max_pct",
        "upgrade_immediately",
    }
    assert "lock_offset" not in rules.to_dict()["max_loss"]


def test_a_version_2_rule_set_reads_back_from_its_canonical_form() -> None:
    rules = prague(
        trading_day={"counts": "opened_and_closed", "min_profit_pct": "0.5"},
        max_open_positions=5,
        max_open_volume="10.5",
        weekend_close=PRAGUE_FRIDAY_CUTOFF,
        max_daily_loss={"pct": "4", "basis": "day_peak_equity"},
        max_loss={"pct": "6", "mode": "trailing_eod", "lock_offset": "100"},
    )
    assert Rules.parse(rules.to_dict()) == rules


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trading_day": None}, "trading_day must be an object"),
        ({"trading_day": {"counts": "traded"}}, "trading_day.counts must be one of"),
        ({"trading_day": {"min_profit_pct": "100"}}, "min_profit_pct must be a percentage"),
        ({"trading_day": {"what": 1}}, "unknown key trading_day.what"),
        ({"max_open_positions": 0}, "max_open_positions must be an integer >= 1"),
        ({"max_open_positions": True}, "max_open_positions must be an integer"),
        ({"max_open_volume": "1e3"}, "max_open_volume must be a decimal string"),
        ({"max_open_volume": "0"}, "max_open_volume must be > 0"),
        ({"max_open_volume": "1.123456789"}, "at most 15 digits before the point and 8 after"),
        ({"weekend_close": {"day": "funday", "time": "21:00"}}, "weekend_close.day"),
        ({"weekend_close": {"day": "friday"}}, "weekend_close.time is required"),
        ({"weekend_close": {"day": "friday", "time": "24:00"}}, "weekend_close.time"),
        ({"max_loss": {"pct": "5", "mode": "static", "lock_offset": "-1"}}, "lock_offset"),
        ({"max_loss": {"pct": "5", "mode": "static", "lock_offset": None}}, "not null"),
        ({"max_daily_loss": {"pct": "5", "basis": "day_high"}}, "max_daily_loss.basis"),
    ],
)
def test_malformed_version_2_rules_are_refused_naming_the_rule(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(RulesError, match=message.replace(".", r"\.")):
        make_rules(**overrides)


def test_a_resumed_evaluator_keeps_the_cutoff_the_payout_and_the_open_lots() -> None:
    rules = prague(
        weekend_close=PRAGUE_FRIDAY_CUTOFF,
        max_open_volume="5",
        max_daily_loss={"pct": "5", "basis": "day_peak_equity"},
        trading_day={"counts": "opened_and_closed"},
    )
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        eq("2026-03-02T08:30Z", 100000, 102000),
        buy("2026-03-02T09:00Z", "a", "2"),
        moved("2026-03-02T09:30Z", "-1000"),
    ]
    evaluator = run(rules, events)
    resumed = Evaluator.from_state(rules, evaluator.state())
    assert resumed.state() == evaluator.state()
    later: list[Event] = [
        buy("2026-03-02T10:00Z", "b", "3.5"),
        eq("2026-03-02T10:30Z", 99000, 96000),
    ]
    assert [o.to_dict() for e in later for o in resumed.feed(e)] == [
        o.to_dict() for e in later for o in evaluator.feed(e)
    ]
    assert evaluator.outcomes[-1].rule == "max_open_volume"


def test_a_resumed_evaluator_words_the_open_lots_as_the_running_one_does() -> None:
    rules = make_rules(max_open_volume="1.5")
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z", "a", "0.5"),
        buy("2026-03-02T09:01Z", "b", "1"),
        sell("2026-03-02T09:01:30Z", "a"),  # 1.5 - 0.5 = 1.0 lots open
    ]
    running = run(rules, events)
    resumed = Evaluator.from_state(rules, running.state())
    third = buy("2026-03-02T09:02Z", "c", "1")
    assert [o.explanation for o in resumed.feed(third)] == [
        o.explanation for o in running.feed(third)
    ]
    assert running.outcomes[-1].explanation["open_volume"] == "2.0"


def test_a_deposit_and_its_reversal_move_no_floor() -> None:
    rules = make_rules(max_daily_loss={"pct": "5", "basis": "prev_day_balance"})
    events: list[Event] = [
        eq("2026-03-02T08:00Z", 100000),
        moved("2026-03-02T09:00Z", "1000"),
        moved("2026-03-02T09:01Z", "-1000"),
        eq("2026-03-02T10:00Z", 100000, 95000),
        eq("2026-03-02T11:00Z", 100000, "94999.99"),
    ]
    assert kinds(rules, events) == [("2026-03-02T11:00:00Z", "failed", "max_daily_loss")]


def test_a_version_1_rule_set_is_explained_without_the_version_2_figures() -> None:
    text = explain(run(make_rules(max_loss={"pct": "10", "mode": "static"}), [eq(T0, 100000)]))
    for figure in ("weekend cutoff", "open volume", "moved", "trading day counts"):
        assert f"  {figure}:" not in text


T0 = "2026-03-02T08:00Z"
