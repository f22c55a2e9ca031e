"""The rules checked at every event: max loss, max daily loss, max loss per trade.

Unless said otherwise: initial balance 100000, time zone UTC, days reset at 00:00 UTC, and a
profit target out of reach so that no day's end passes the stage.
"""

from __future__ import annotations

from tests.rules.factories import buy, eq, kinds, make_rules, run, sell, verdict

STATIC = {"pct": "10", "mode": "static"}
DAILY = {"pct": "5", "basis": "prev_day_balance"}


# ------------------------------------------------------------------------------ max loss


def test_static_floor_exactly_reached_is_not_a_breach() -> None:
    rules = make_rules(max_loss=STATIC)
    assert (
        verdict(rules, [eq("2026-03-02T08:00Z", 100000), eq("2026-03-02T09:00Z", 95000, 90000)])[
            "status"
        ]
        == "in_progress"
    )


def test_static_floor_crossed_by_a_cent_fails_at_that_snapshot() -> None:
    rules = make_rules(max_loss=STATIC)
    result = verdict(
        rules,
        [eq("2026-03-02T08:00Z", 100000), eq("2026-03-02T09:30:00.5Z", 95000, "89999.99")],
    )
    assert result == {
        "status": "failed",
        "rule": "max_loss",
        "at": "2026-03-02T09:30:00.5Z",
        "trading_days": 0,
        "events": [{"at": "2026-03-02T09:30:00.5Z", "kind": "failed", "rule": "max_loss"}],
    }


def test_static_floor_does_not_move_with_profit() -> None:
    rules = make_rules(max_loss=STATIC)
    events = [eq("2026-03-02T08:00Z", 100000, 150000), eq("2026-03-02T09:00Z", 100000, 90000)]
    assert verdict(rules, events)["status"] == "in_progress"


def test_trailing_intraday_follows_the_highest_equity() -> None:
    rules = make_rules(
        max_loss={"pct": "10", "mode": "trailing_intraday", "lock_at_initial": False}
    )
    events = [
        eq("2026-03-02T08:00Z", 100000, 105000),  # floor 95000
        eq("2026-03-02T09:00Z", 100000, 95000),  # at the floor: fine
        eq("2026-03-02T10:00Z", 100000, "94999.99"),
    ]
    assert kinds(rules, events) == [("2026-03-02T10:00:00Z", "failed", "max_loss")]


def test_trailing_intraday_counts_equity_seen_on_earlier_days() -> None:
    rules = make_rules(
        max_loss={"pct": "10", "mode": "trailing_intraday", "lock_at_initial": False}
    )
    events = [eq("2026-03-02T08:00Z", 100000, 104000), eq("2026-03-05T08:00Z", 100000, 93999)]
    assert kinds(rules, events) == [("2026-03-05T08:00:00Z", "failed", "max_loss")]


def test_trailing_floor_is_locked_at_the_initial_balance_by_default() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "trailing_intraday"})
    events = [
        eq("2026-03-02T08:00Z", 100000, 120000),  # would be 110000, locked at 100000
        eq("2026-03-02T09:00Z", 100000, 100000),
    ]
    assert verdict(rules, events)["status"] == "in_progress"
    events.append(eq("2026-03-02T10:00Z", 100000, "99999.99"))
    assert kinds(rules, events) == [("2026-03-02T10:00:00Z", "failed", "max_loss")]


def test_without_the_lock_the_floor_trails_above_the_initial_balance() -> None:
    rules = make_rules(
        max_loss={"pct": "10", "mode": "trailing_intraday", "lock_at_initial": False}
    )
    events = [eq("2026-03-02T08:00Z", 100000, 120000), eq("2026-03-02T09:00Z", 100000, 107999)]
    assert kinds(rules, events) == [("2026-03-02T09:00:00Z", "failed", "max_loss")]


def test_lock_does_not_touch_a_floor_still_below_the_initial_balance() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "trailing_intraday"})
    events = [eq("2026-03-02T08:00Z", 100000, 105000), eq("2026-03-02T09:00Z", 100000, 94999)]
    assert kinds(rules, events) == [("2026-03-02T09:00:00Z", "failed", "max_loss")]


def test_trailing_eod_ignores_intraday_equity_and_uses_closing_balances() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "trailing_eod", "lock_at_initial": False})
    events = [
        eq("2026-03-02T08:00Z", 100000, 130000),  # intraday high: floor stays 90000
        eq("2026-03-02T09:00Z", 104000, 91000),  # day 2 Mar closes at balance 104000
        eq("2026-03-03T08:00Z", 104000, 94000),  # floor now 94000: exactly at it
        eq("2026-03-03T09:00Z", 104000, "93999.99"),
    ]
    assert kinds(rules, events) == [("2026-03-03T09:00:00Z", "failed", "max_loss")]


def test_trailing_eod_uses_the_closing_balance_not_the_closing_equity() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "trailing_eod", "lock_at_initial": False})
    events = [
        eq("2026-03-02T09:00Z", 100000, 120000),  # closes at balance 100000, equity 120000
        eq("2026-03-03T08:00Z", 100000, 90000),
    ]
    assert verdict(rules, events)["status"] == "in_progress"


def test_trailing_eod_keeps_the_highest_closing_balance() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "trailing_eod", "lock_at_initial": False})
    events = [
        eq("2026-03-02T09:00Z", 106000),
        eq("2026-03-03T09:00Z", 101000),  # lower close: the peak stays 106000
        eq("2026-03-04T09:00Z", 101000, 95999),
    ]
    assert kinds(rules, events) == [("2026-03-04T09:00:00Z", "failed", "max_loss")]


# ------------------------------------------------------------------------ max daily loss


def test_daily_floor_on_the_start_day_is_from_the_initial_balance() -> None:
    rules = make_rules(max_daily_loss=DAILY)
    events = [eq("2026-03-02T08:00Z", 100000), eq("2026-03-02T09:00Z", 100000, 95000)]
    assert verdict(rules, events)["status"] == "in_progress"
    events.append(eq("2026-03-02T10:00Z", 100000, "94999.99"))
    assert kinds(rules, events) == [("2026-03-02T10:00:00Z", "failed", "max_daily_loss")]


def test_start_day_previous_values_are_the_initial_balance_for_every_basis() -> None:
    for basis in ("prev_day_balance", "prev_day_equity", "prev_day_max_balance_equity"):
        rules = make_rules(max_daily_loss={"pct": "5", "basis": basis})
        # The first snapshot itself is low; the start day's basis is still 100000.
        events = [eq("2026-03-02T08:00Z", 98000, 96000), eq("2026-03-02T09:00Z", 98000, 95000)]
        assert verdict(rules, events)["status"] == "in_progress", basis
        events.append(eq("2026-03-02T10:00Z", 98000, "94999.99"))
        assert verdict(rules, events)["rule"] == "max_daily_loss", basis


def day_two_floor_events(low: str) -> list:
    # 2 March closes at balance 102000, equity 101000 (its last snapshot).
    return [
        eq("2026-03-02T08:00Z", 100000),
        eq("2026-03-02T20:00Z", 102000, 101000),
        eq("2026-03-03T08:00Z", 102000, low),
    ]


def breaches(rules_kwargs: dict, low: str) -> bool:
    return verdict(make_rules(**rules_kwargs), day_two_floor_events(low))["status"] == "failed"


def test_basis_prev_day_balance() -> None:
    rule = {"max_daily_loss": {"pct": "5", "basis": "prev_day_balance"}}  # floor 97000
    assert not breaches(rule, "97000")
    assert breaches(rule, "96999.99")


def test_basis_prev_day_equity() -> None:
    rule = {"max_daily_loss": {"pct": "5", "basis": "prev_day_equity"}}  # floor 96000
    assert not breaches(rule, "96000")
    assert breaches(rule, "95999.99")


def test_basis_prev_day_max_balance_equity() -> None:
    rule = {"max_daily_loss": {"pct": "5", "basis": "prev_day_max_balance_equity"}}  # 97000
    assert not breaches(rule, "97000")
    assert breaches(rule, "96999.99")


def test_basis_initial_balance() -> None:
    rule = {"max_daily_loss": {"pct": "5", "basis": "initial_balance"}}  # floor 95000
    assert not breaches(rule, "95000")
    assert breaches(rule, "94999.99")


def test_allowed_loss_of_the_basis() -> None:
    # 5% of 102000 = 5100: floor 96900.
    rule = {"max_daily_loss": {"pct": "5", "basis": "prev_day_balance", "of": "basis"}}
    assert not breaches(rule, "96900")
    assert breaches(rule, "96899.99")


def test_max_of_balance_and_equity_when_equity_is_higher() -> None:
    rules = make_rules(max_daily_loss={"pct": "5", "basis": "prev_day_max_balance_equity"})
    events = [eq("2026-03-02T20:00Z", 101000, 103000), eq("2026-03-03T08:00Z", 101000, 97999)]
    assert kinds(rules, events) == [("2026-03-03T08:00:00Z", "failed", "max_daily_loss")]


def test_a_day_without_events_carries_the_previous_closing_values() -> None:
    rules = make_rules(max_daily_loss={"pct": "5", "basis": "prev_day_equity"})
    events = [
        eq("2026-03-02T20:00Z", 100000, 103000),
        # 3 March has no event: it closes at 100000 / 103000 as well.
        eq("2026-03-04T08:00Z", 100000, 98000),
        eq("2026-03-04T09:00Z", 100000, "97999.99"),
    ]
    assert kinds(rules, events) == [("2026-03-04T09:00:00Z", "failed", "max_daily_loss")]


def test_closing_values_are_those_of_the_last_snapshot_before_the_day_end() -> None:
    rules = make_rules(max_daily_loss={"pct": "5", "basis": "prev_day_balance"})
    events = [
        eq("2026-03-02T08:00Z", 110000),
        eq("2026-03-02T23:59:59.999999Z", 101000),
        eq("2026-03-03T00:00Z", 120000, 96000),  # day 3 March: floor 96000 from 101000
        eq("2026-03-03T00:00:01Z", 120000, "95999.99"),
    ]
    assert kinds(rules, events) == [("2026-03-03T00:00:01Z", "failed", "max_daily_loss")]


def test_max_loss_is_checked_before_the_daily_loss() -> None:
    rules = make_rules(max_loss=STATIC, max_daily_loss=DAILY)
    events = [eq("2026-03-02T08:00Z", 100000), eq("2026-03-02T09:00Z", 100000, 80000)]
    assert verdict(rules, events)["rule"] == "max_loss"


# --------------------------------------------------------------------------------- pause

PAUSE = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}


def test_a_pause_lasts_until_the_end_of_the_day() -> None:
    rules = make_rules(max_daily_loss=PAUSE)
    events = [
        eq("2026-03-02T08:00Z", 100000),
        eq("2026-03-02T11:00Z", 100000, 94000),
        eq("2026-03-02T12:00Z", 100000, 93000),  # still paused: no second pause
        eq("2026-03-03T10:00Z", 100000, 99000),
    ]
    assert verdict(rules, events) == {
        "status": "in_progress",
        "rule": None,
        "at": None,
        "trading_days": 0,
        "events": [
            {"at": "2026-03-02T11:00:00Z", "kind": "paused", "rule": "max_daily_loss"},
            {"at": "2026-03-03T00:00:00Z", "kind": "resumed", "rule": "max_daily_loss"},
        ],
    }


def test_after_a_resume_the_next_day_can_pause_again() -> None:
    rules = make_rules(max_daily_loss=PAUSE)
    events = [
        eq("2026-03-02T08:00Z", 100000, 94000),
        eq("2026-03-03T08:00Z", 100000, 94000),
    ]
    assert kinds(rules, events) == [
        ("2026-03-02T08:00:00Z", "paused", "max_daily_loss"),
        ("2026-03-03T00:00:00Z", "resumed", "max_daily_loss"),
        ("2026-03-03T08:00:00Z", "paused", "max_daily_loss"),
    ]


def test_max_loss_still_fails_while_paused() -> None:
    rules = make_rules(max_daily_loss=PAUSE, max_loss=STATIC)
    events = [eq("2026-03-02T08:00Z", 100000, 94000), eq("2026-03-02T09:00Z", 100000, 89000)]
    assert kinds(rules, events) == [
        ("2026-03-02T08:00:00Z", "paused", "max_daily_loss"),
        ("2026-03-02T09:00:00Z", "failed", "max_loss"),
    ]


def test_per_trade_loss_still_fails_while_paused() -> None:
    rules = make_rules(max_daily_loss=PAUSE, max_loss_per_trade_pct="1")
    events = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T08:01Z"),
        eq("2026-03-02T09:00Z", 100000, 94000),
        sell("2026-03-02T09:01Z", profit=-2000),
    ]
    assert kinds(rules, events)[-1] == ("2026-03-02T09:01:00Z", "failed", "max_loss_per_trade")


def test_no_resume_while_the_day_has_not_ended() -> None:
    rules = make_rules(max_daily_loss=PAUSE)
    events = [eq("2026-03-02T08:00Z", 100000, 94000)]
    assert kinds(rules, events, until="2026-03-02T23:59:59.999999Z") == [
        ("2026-03-02T08:00:00Z", "paused", "max_daily_loss")
    ]
    assert kinds(rules, events, until="2026-03-03T00:00Z")[-1] == (
        "2026-03-03T00:00:00Z",
        "resumed",
        "max_daily_loss",
    )


# ---------------------------------------------------------------------- loss per trade


def test_a_trade_losing_exactly_the_limit_is_allowed() -> None:
    rules = make_rules(max_loss_per_trade_pct="1")
    events = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T08:01Z"),
        sell("2026-03-02T09:00Z", profit="-1000.00"),
    ]
    assert verdict(rules, events)["status"] == "in_progress"


def test_a_trade_losing_a_cent_more_fails_at_the_deal() -> None:
    rules = make_rules(max_loss_per_trade_pct="1")
    events = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T08:01Z"),
        sell("2026-03-02T09:00:00.123Z", profit="-1000.01"),
    ]
    assert verdict(rules, events) == {
        "status": "failed",
        "rule": "max_loss_per_trade",
        "at": "2026-03-02T09:00:00.123Z",
        "trading_days": 1,
        "events": [
            {"at": "2026-03-02T09:00:00.123Z", "kind": "failed", "rule": "max_loss_per_trade"}
        ],
    }


def test_per_trade_limit_is_not_about_balance() -> None:
    rules = make_rules(max_loss_per_trade_pct="1")
    events = [
        eq("2026-03-02T08:00Z", 100000),
        buy("2026-03-02T08:01Z", "a"),
        sell("2026-03-02T09:00Z", "a", profit=-900),
        buy("2026-03-02T09:01Z", "b"),
        sell("2026-03-02T10:00Z", "b", profit=-900),
    ]
    assert verdict(rules, events)["status"] == "in_progress"


# ------------------------------------------------------------------ after the verdict


def test_events_after_a_failure_are_ignored() -> None:
    rules = make_rules(max_loss=STATIC, min_trading_days=0)
    evaluator = run(
        rules,
        [
            eq("2026-03-02T08:00Z", 100000),
            buy("2026-03-02T08:01Z"),
            eq("2026-03-02T09:00Z", 100000, 80000),
            buy("2026-03-03T09:00Z", "p2"),
            eq("2026-03-03T10:00Z", 150000),
        ],
        until="2026-03-20T00:00Z",
    )
    result = evaluator.verdict()
    assert result["at"] == "2026-03-02T09:00:00Z"
    assert result["trading_days"] == 1
    assert len(result["events"]) == 1


def test_breach_at_an_event_in_a_later_day_comes_after_the_closings() -> None:
    rules = make_rules(max_daily_loss=PAUSE)
    events = [eq("2026-03-02T08:00Z", 100000, 94000), eq("2026-03-04T08:00Z", 100000, 94000)]
    assert kinds(rules, events) == [
        ("2026-03-02T08:00:00Z", "paused", "max_daily_loss"),
        ("2026-03-03T00:00:00Z", "resumed", "max_daily_loss"),
        ("2026-03-04T08:00:00Z", "paused", "max_daily_loss"),
    ]
