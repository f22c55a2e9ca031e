"""What happens when a day closes: passing, the trading period, inactivity, resuming.

Unless said otherwise: initial balance 100000, time zone UTC, days reset at 00:00 UTC.
"""

from __future__ import annotations

import pytest

from propdesk.rules import EventError, parse_time
from tests.rules.factories import buy, eq, kinds, make_rules, run, sell, verdict


def two_good_days() -> list:
    """+6000 on 2 March, +4000 on 3 March, each day with a trade: 110000 at the end."""
    return [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T08:01Z", "p1"),
        sell("2026-03-02T10:00Z", "p1", 6000),
        eq("2026-03-02T10:01Z", 106000),
        buy("2026-03-03T08:00Z", "p2"),
        sell("2026-03-03T09:00Z", "p2", 4000),
        eq("2026-03-03T09:01Z", 110000),
    ]


TARGET = {"profit_target_pct": "10", "min_trading_days": 2}


def test_passes_at_the_end_of_the_first_day_where_every_objective_holds() -> None:
    rules = make_rules(**TARGET)
    assert verdict(rules, [*two_good_days(), eq("2026-03-04T08:00Z", 110000)]) == {
        "status": "passed",
        "rule": None,
        "at": "2026-03-04T00:00:00Z",
        "trading_days": 2,
        "events": [{"at": "2026-03-04T00:00:00Z", "kind": "passed", "rule": None}],
    }


def test_no_pass_before_the_day_has_closed() -> None:
    rules = make_rules(**TARGET)
    assert verdict(rules, two_good_days())["status"] == "in_progress"
    assert verdict(rules, two_good_days(), until="2026-03-03T23:59:59.999999Z")["at"] is None


def test_until_exactly_at_the_day_end_closes_the_day() -> None:
    rules = make_rules(**TARGET)
    assert verdict(rules, two_good_days(), until="2026-03-04T00:00Z")["at"] == (
        "2026-03-04T00:00:00Z"
    )


def test_until_in_another_offset_is_the_same_instant() -> None:
    rules = make_rules(**TARGET)
    assert verdict(rules, two_good_days(), until="2026-03-04T01:00+01:00")["status"] == "passed"


def test_the_target_is_met_by_the_closing_balance_not_the_equity() -> None:
    rules = make_rules(profit_target_pct="10")
    assert (
        verdict(rules, [eq("2026-03-02T08:00Z", 100000, 120000)], "2026-03-10T00:00Z")["status"]
        == "in_progress"
    )
    assert (
        verdict(rules, [eq("2026-03-02T08:00Z", 110000, 90000)], "2026-03-03T00:00Z")["status"]
        == "passed"
    )


def test_a_cent_short_of_the_target_does_not_pass() -> None:
    rules = make_rules(profit_target_pct="10")
    events = [eq("2026-03-02T08:00Z", "109999.99")]
    assert verdict(rules, events, "2026-03-10T00:00Z")["status"] == "in_progress"


def test_an_open_position_at_the_day_end_postpones_the_pass() -> None:
    rules = make_rules(**TARGET)
    events = [
        *two_good_days(),
        buy("2026-03-03T20:00Z", "p3"),
        sell("2026-03-04T01:00Z", "p3", 0),
        eq("2026-03-04T01:01Z", 110000),
    ]
    assert kinds(rules, events, until="2026-03-05T00:00Z") == [
        ("2026-03-05T00:00:00Z", "passed", None)
    ]


def test_only_days_with_an_in_deal_are_trading_days() -> None:
    rules = make_rules(profit_target_pct="10", min_trading_days=2)
    events = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z"),
        sell("2026-03-03T09:00Z", profit=10000),  # 3 March: only an out deal
        eq("2026-03-03T09:01Z", 110000),
    ]
    result = verdict(rules, events, until="2026-03-10T00:00Z")
    assert result["status"] == "in_progress"
    assert result["trading_days"] == 1


def test_several_in_deals_in_one_day_count_once() -> None:
    rules = make_rules()
    events = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z", "a"),
        buy("2026-03-02T09:00Z", "b"),
        buy("2026-03-03T09:00Z", "c"),
    ]
    assert verdict(rules, events)["trading_days"] == 2


def test_no_objective_at_all_passes_at_the_first_day_end() -> None:
    rules = make_rules(profit_target_pct=None)
    assert kinds(rules, [eq("2026-03-02T08:00Z", 90000)], "2026-03-03T00:00Z") == [
        ("2026-03-03T00:00:00Z", "passed", None)
    ]


# --------------------------------------------------------------------------- consistency

CONSISTENT = {"profit_target_pct": "10", "best_day_max_pct": "50"}


def test_best_day_above_its_share_of_the_total_blocks_the_pass() -> None:
    # Days +6000 and +4000: 6000 > 50% of 10000.
    rules = make_rules(**CONSISTENT)
    assert verdict(rules, two_good_days(), until="2026-03-04T00:00Z")["status"] == "in_progress"


def test_best_day_exactly_at_its_share_passes() -> None:
    # A third day of +2000: total 12000, 50% is 6000, the best day 6000.
    rules = make_rules(**CONSISTENT)
    events = [
        *two_good_days(),
        buy("2026-03-04T08:00Z", "p3"),
        sell("2026-03-04T09:00Z", "p3", 2000),
        eq("2026-03-04T09:01Z", 112000),
    ]
    assert kinds(rules, events, until="2026-03-06T00:00Z") == [
        ("2026-03-05T00:00:00Z", "passed", None)
    ]


def test_losing_days_count_in_the_total_not_as_best_days() -> None:
    # +8000, -4000, +6000: total 10000; best 8000 > 60% of it (6000).
    rules = make_rules(profit_target_pct="10", best_day_max_pct="60")
    events = [
        eq("2026-03-02T08:00Z", 108000),
        eq("2026-03-03T08:00Z", 104000),
        eq("2026-03-04T08:00Z", 110000),
    ]
    assert verdict(rules, events, "2026-03-06T00:00Z")["status"] == "in_progress"
    rules = make_rules(profit_target_pct="10", best_day_max_pct="80")
    assert verdict(rules, events, "2026-03-06T00:00Z")["at"] == "2026-03-05T00:00:00Z"


def test_consistency_needs_a_positive_total_profit() -> None:
    rules = make_rules(profit_target_pct=None, best_day_max_pct="50")
    events = [eq("2026-03-02T08:00Z", 101000), eq("2026-03-03T08:00Z", 100000)]
    assert verdict(rules, events, "2026-03-20T00:00Z")["status"] == "in_progress"


def test_the_start_days_profit_is_measured_from_the_initial_balance() -> None:
    # The first snapshot already shows 105000: the start day made 5000.
    rules = make_rules(profit_target_pct="10", best_day_max_pct="50")
    events = [eq("2026-03-02T08:00Z", 105000), eq("2026-03-03T08:00Z", 110000)]
    assert verdict(rules, events, "2026-03-04T00:00Z")["at"] == "2026-03-04T00:00:00Z"
    events = [eq("2026-03-02T08:00Z", 106000), eq("2026-03-03T08:00Z", 110000)]
    assert verdict(rules, events, "2026-03-04T00:00Z")["status"] == "in_progress"


# ------------------------------------------------------------------ period and upgrade


def test_the_period_fails_at_the_end_of_its_last_day() -> None:
    rules = make_rules(trading_period_days=3)
    events = [eq("2026-03-02T08:00Z", 100000)]
    assert kinds(rules, events, "2026-03-04T23:59Z") == []
    assert verdict(rules, events, "2026-03-05T00:00Z") == {
        "status": "failed",
        "rule": "trading_period",
        "at": "2026-03-05T00:00:00Z",
        "trading_days": 0,
        "events": [{"at": "2026-03-05T00:00:00Z", "kind": "failed", "rule": "trading_period"}],
    }


def test_an_event_after_the_period_closes_it_first_and_is_ignored() -> None:
    rules = make_rules(trading_period_days=3)
    events = [eq("2026-03-02T08:00Z", 100000), buy("2026-03-09T08:00Z")]
    result = verdict(rules, events)
    assert result["at"] == "2026-03-05T00:00:00Z"
    assert result["trading_days"] == 0


def test_a_one_day_period_ends_with_the_start_day() -> None:
    rules = make_rules(trading_period_days=1)
    assert verdict(rules, [eq("2026-03-02T23:59Z", 100000)], "2026-03-03T00:00Z")["rule"] == (
        "trading_period"
    )


def test_passing_on_the_last_day_beats_failing_the_period() -> None:
    rules = make_rules(profit_target_pct="10", trading_period_days=1)
    assert verdict(rules, [eq("2026-03-02T08:00Z", 110000)], "2026-03-03T00:00Z")["status"] == (
        "passed"
    )


UPGRADE_AT_END = {
    "profit_target_pct": "10",
    "upgrade_immediately": False,
    "trading_period_days": 5,
}


def test_without_immediate_upgrade_the_pass_waits_for_the_last_day() -> None:
    rules = make_rules(**UPGRADE_AT_END)
    events = [eq("2026-03-02T08:00Z", 110000)]
    assert kinds(rules, events, "2026-03-06T23:00Z") == []
    assert kinds(rules, events, "2026-03-07T00:00Z") == [("2026-03-07T00:00:00Z", "passed", None)]


def test_without_immediate_upgrade_objectives_lost_by_the_last_day_fail_the_period() -> None:
    rules = make_rules(**UPGRADE_AT_END)
    events = [eq("2026-03-02T08:00Z", 110000), eq("2026-03-06T08:00Z", 109000)]
    assert kinds(rules, events, "2026-03-08T00:00Z") == [
        ("2026-03-07T00:00:00Z", "failed", "trading_period")
    ]


# -------------------------------------------------------------------------- inactivity


def test_inactivity_counts_from_the_start_day() -> None:
    rules = make_rules(inactivity_days=3)
    events = [eq("2026-03-02T08:00Z", 100000)]
    assert kinds(rules, events, "2026-03-04T23:59Z") == []
    assert kinds(rules, events, "2026-03-05T00:00Z") == [
        ("2026-03-05T00:00:00Z", "failed", "inactivity")
    ]


def test_an_in_deal_restarts_the_inactivity_count() -> None:
    rules = make_rules(inactivity_days=3)
    events = [eq("2026-03-02T08:00Z", 100000), buy("2026-03-02T09:00Z")]
    assert kinds(rules, events, "2026-03-05T23:59Z") == []
    assert kinds(rules, events, "2026-03-06T00:00Z") == [
        ("2026-03-06T00:00:00Z", "failed", "inactivity")
    ]


def test_equity_and_out_deals_do_not_count_as_activity() -> None:
    rules = make_rules(inactivity_days=2)
    events = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T09:00Z"),
        sell("2026-03-03T09:00Z", profit=10),
        eq("2026-03-04T09:00Z", 100010),
    ]
    assert kinds(rules, events, "2026-03-05T00:00Z") == [
        ("2026-03-05T00:00:00Z", "failed", "inactivity")
    ]


def test_inactivity_of_one_day_fails_a_start_day_without_a_trade() -> None:
    rules = make_rules(inactivity_days=1)
    assert verdict(rules, [eq("2026-03-02T08:00Z", 100000)], "2026-03-03T00:00Z")["rule"] == (
        "inactivity"
    )


def test_the_period_is_checked_before_inactivity() -> None:
    rules = make_rules(inactivity_days=2, trading_period_days=2)
    assert verdict(rules, [eq("2026-03-02T08:00Z", 100000)], "2026-03-10T00:00Z")["rule"] == (
        "trading_period"
    )


def test_passing_is_checked_before_inactivity() -> None:
    rules = make_rules(profit_target_pct="10", inactivity_days=1)
    assert verdict(rules, [eq("2026-03-02T08:00Z", 110000)], "2026-03-03T00:00Z")["status"] == (
        "passed"
    )


# ------------------------------------------------------------- several days in a row

PAUSE = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}


def test_days_close_one_at_a_time_oldest_first_until_a_verdict() -> None:
    rules = make_rules(max_daily_loss=PAUSE, inactivity_days=2)
    events = [eq("2026-03-02T08:00Z", 100000, 94000), buy("2026-03-09T08:00Z")]
    assert verdict(rules, events) == {
        "status": "failed",
        "rule": "inactivity",
        "at": "2026-03-04T00:00:00Z",
        "trading_days": 0,
        "events": [
            {"at": "2026-03-02T08:00:00Z", "kind": "paused", "rule": "max_daily_loss"},
            {"at": "2026-03-03T00:00:00Z", "kind": "resumed", "rule": "max_daily_loss"},
            {"at": "2026-03-04T00:00:00Z", "kind": "failed", "rule": "inactivity"},
        ],
    }


def test_a_pass_at_a_day_end_has_no_resume() -> None:
    rules = make_rules(profit_target_pct="10", max_daily_loss=PAUSE)
    events = [eq("2026-03-02T08:00Z", 110000, 90000)]
    assert kinds(rules, events, "2026-03-03T00:00Z") == [
        ("2026-03-02T08:00:00Z", "paused", "max_daily_loss"),
        ("2026-03-03T00:00:00Z", "passed", None),
    ]


def test_a_long_gap_closes_every_day_in_it() -> None:
    rules = make_rules(trading_period_days=400)
    events = [eq("2026-03-02T08:00Z", 100000)]
    assert verdict(rules, events, "2027-04-06T00:00Z")["at"] == "2027-04-06T00:00:00Z"


# ---------------------------------------------------------------- equal times, order


def test_events_with_equal_times_are_taken_in_file_order() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "static"})
    t = "2026-03-02T08:00Z"
    events = [eq(t, 100000), buy(t), sell(t, profit=-5), eq(t, 100000, 89000), eq(t, 100000)]
    assert kinds(rules, events) == [("2026-03-02T08:00:00Z", "failed", "max_loss")]


def test_an_event_earlier_than_the_one_before_is_refused() -> None:
    evaluator = run(make_rules(), [eq("2026-03-02T08:00Z", 100000)])
    with pytest.raises(EventError, match="backwards"):
        evaluator.feed(eq("2026-03-02T07:59:59.999999Z", 100000))


def test_until_before_the_last_event_is_refused() -> None:
    evaluator = run(make_rules(), [eq("2026-03-02T08:00Z", 100000)])
    with pytest.raises(EventError):
        evaluator.close_until(parse_time("2026-03-02T07:00Z"))
    assert evaluator.close_until(parse_time("2026-03-02T08:00Z")) == ()


def test_events_after_a_closing_until_may_not_fall_in_a_closed_day() -> None:
    evaluator = run(make_rules(), [eq("2026-03-02T08:00Z", 100000)], until="2026-03-03T12:00Z")
    with pytest.raises(EventError):
        evaluator.feed(eq("2026-03-02T23:00Z", 100000))
    evaluator.feed(eq("2026-03-03T00:00Z", 100000))


# ------------------------------------------------------------------ daylight saving


def prague(**extra: object) -> dict:
    return {"timezone": "Europe/Prague", **extra}


def test_prague_spring_day_is_23_hours_and_resumes_at_22_utc() -> None:
    rules = make_rules(**prague(max_daily_loss=PAUSE))
    events = [
        eq("2026-03-28T10:00Z", 100000),
        eq("2026-03-29T10:00Z", 100000, 94000),
        eq("2026-03-29T21:59:59Z", 100000, 94000),
    ]
    assert kinds(rules, events) == [("2026-03-29T10:00:00Z", "paused", "max_daily_loss")]
    events.append(eq("2026-03-29T22:00Z", 100000))
    assert kinds(rules, events)[-1] == ("2026-03-29T22:00:00Z", "resumed", "max_daily_loss")


def test_prague_autumn_day_is_25_hours_and_resumes_at_23_utc() -> None:
    rules = make_rules(**prague(max_daily_loss=PAUSE))
    events = [
        eq("2026-10-24T21:00Z", 100000),  # 23:00 CEST, 24 October
        eq("2026-10-24T22:00Z", 100000, 94000),  # 00:00 CEST, 25 October: a new day
        eq("2026-10-25T22:30Z", 100000, 94000),  # 23:30 CET, still 25 October
    ]
    assert kinds(rules, events) == [("2026-10-24T22:00:00Z", "paused", "max_daily_loss")]
    assert kinds(rules, events, "2026-10-25T23:00Z")[-1] == (
        "2026-10-25T23:00:00Z",
        "resumed",
        "max_daily_loss",
    )


def test_prague_reset_inside_the_spring_gap() -> None:
    rules = make_rules(**prague(day_reset="02:30", trading_period_days=2))
    events = [eq("2026-03-28T02:00Z", 100000)]  # 03:00 CET on 28 March: day 28 March
    assert kinds(rules, events, "2026-03-30T01:00Z") == [
        ("2026-03-30T00:30:00Z", "failed", "trading_period")
    ]


def test_prague_reset_inside_the_autumn_overlap_takes_its_first_occurrence() -> None:
    rules = make_rules(**prague(day_reset="02:30", trading_period_days=1))
    events = [eq("2026-10-24T12:00Z", 100000)]
    assert kinds(rules, events, "2026-10-26T00:00Z") == [
        ("2026-10-25T00:30:00Z", "failed", "trading_period")
    ]


def test_the_start_day_is_the_local_trading_day_of_the_first_event() -> None:
    rules = make_rules(**prague(trading_period_days=1))
    # 23:30 UTC on 1 March is 00:30 on 2 March in Prague.
    assert kinds(rules, [eq("2026-03-01T23:30Z", 100000)], "2026-03-03T00:00Z") == [
        ("2026-03-02T23:00:00Z", "failed", "trading_period")
    ]


def new_york(**extra: object) -> dict:
    return {"timezone": "America/New_York", "day_reset": "17:00", **extra}


@pytest.mark.parametrize(
    ("first", "end"),
    [
        ("2026-03-07T21:30Z", "2026-03-07T22:00:00Z"),  # 16:30 EST, day 6 March
        ("2026-03-07T23:00Z", "2026-03-08T21:00:00Z"),  # 18:00 EST, day 7 March: 23 hours
        ("2026-10-31T21:00Z", "2026-11-01T22:00:00Z"),  # 17:00 EDT, day 31 October: 25 hours
    ],
)
def test_new_york_17_00_reset_across_daylight_saving(first: str, end: str) -> None:
    rules = make_rules(**new_york(trading_period_days=1))
    assert kinds(rules, [eq(first, 100000)], "2026-11-30T00:00Z") == [
        (end, "failed", "trading_period")
    ]


def test_trading_days_split_at_the_shifted_day_end() -> None:
    rules = make_rules(**prague())
    events = [
        eq("2026-03-29T10:00Z", 100000),
        buy("2026-03-29T21:30Z", "a"),  # 23:30 CEST, 29 March
        buy("2026-03-29T22:30Z", "b"),  # 00:30 CEST, 30 March
    ]
    assert verdict(rules, events)["trading_days"] == 2


def test_times_are_written_in_utc_with_fractions_only_when_needed() -> None:
    rules = make_rules(max_daily_loss=PAUSE)
    events = [
        eq("2026-03-02T09:00:00.250+01:00", 100000, 94000),
        eq("2026-03-03T01:00:00.000+01:00", 100000),
        eq("2026-03-03T10:00:00.000001+00:00", 100000, 90000),
    ]
    assert [at for at, _, _ in kinds(rules, events)] == [
        "2026-03-02T08:00:00.25Z",
        "2026-03-03T00:00:00Z",
        "2026-03-03T10:00:00.000001Z",
    ]
