"""Live figures, saved state and explanations: what the monitor and the participant pages use."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from propdesk.rules import Evaluator, explain, explain_outcome
from tests.rules.factories import buy, eq, make_rules, run, sell

WATCHED = {
    "profit_target_pct": "10",
    "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
    "max_loss": {"pct": "10", "mode": "trailing_intraday"},
    "min_trading_days": 3,
    "trading_period_days": 30,
    "best_day_max_pct": "50",
}


def watched_day() -> Evaluator:
    return run(
        make_rules(**WATCHED),
        [
            eq("2026-03-02T08:00Z", 100000),
            buy("2026-03-02T08:01Z"),
            sell("2026-03-02T10:00Z", profit=3000),
            eq("2026-03-02T10:01Z", 103000),
            eq("2026-03-03T08:00Z", 103000, 104000),
            buy("2026-03-03T09:00Z", "p2"),
            eq("2026-03-03T10:00Z", 103000, 101500),
        ],
    )


def test_figures_in_the_middle_of_a_day() -> None:
    figures = watched_day().figures()
    assert figures.status == "in_progress"
    assert figures.as_of == datetime(2026, 3, 3, 10, tzinfo=UTC)
    assert figures.day == date(2026, 3, 3)
    assert figures.day_end == datetime(2026, 3, 4, tzinfo=UTC)
    assert figures.paused is False
    assert (figures.balance, figures.equity) == (103000, 101500)
    assert figures.daily_loss_floor == 98000  # 2 March closed at 103000, less 5% of 100000
    assert figures.daily_loss_distance == 3500
    assert figures.max_loss_floor == 94000  # peak equity 104000, less 10% of 100000
    assert figures.max_loss_distance == 7500
    # The bars: 1,500 of the day's 5,000 and 2,500 of the 10,000 overall are used.
    assert (figures.daily_loss_allowed, figures.daily_loss_used_pct) == (5000, Decimal("30.00"))
    assert (figures.max_loss_allowed, figures.max_loss_used_pct) == (10000, Decimal("25.00"))
    assert figures.profit == 3000
    assert figures.target_balance == 110000
    assert figures.target_progress_pct == Decimal("30.00")
    assert (figures.trading_days, figures.min_trading_days) == (2, 3)
    assert figures.best_day_profit == 3000
    assert figures.best_day_ratio_pct == Decimal("100.00")
    assert figures.best_day_max_pct == 50
    assert figures.period_last_day == date(2026, 3, 31)
    assert figures.days_left == 29
    assert figures.open_positions == 1


def test_figures_as_json() -> None:
    shown = watched_day().figures().to_dict()
    assert shown["as_of"] == "2026-03-03T10:00:00Z"
    assert shown["day"] == "2026-03-03"
    assert shown["daily_loss_floor"] == "98000.00"  # exact: 103000 - 5.00% of 100000
    json.dumps(shown)


def test_figures_before_any_event() -> None:
    figures = Evaluator(make_rules(**WATCHED)).figures()
    assert figures.day is None
    assert figures.daily_loss_floor is None
    assert figures.max_loss_floor == 90000
    assert figures.trading_days == 0


def test_figures_without_the_rules_are_none() -> None:
    figures = run(make_rules(profit_target_pct=None), [eq("2026-03-02T08:00Z", 100000)]).figures()
    assert figures.daily_loss_floor is None
    assert figures.max_loss_floor is None
    assert figures.target_balance is None
    assert figures.target_progress_pct is None
    assert figures.days_left is None


def test_figures_show_a_pause() -> None:
    rules = make_rules(max_daily_loss={"pct": "5", "basis": "initial_balance", "action": "pause"})
    figures = run(rules, [eq("2026-03-02T08:00Z", 100000, 94000)]).figures()
    assert figures.paused is True
    assert figures.daily_loss_floor == 95000
    assert figures.daily_loss_distance == -1000


def test_state_is_json_and_reads_back_to_the_same_evaluator() -> None:
    evaluator = watched_day()
    saved = json.loads(json.dumps(evaluator.state()))
    resumed = Evaluator.from_state(evaluator.rules, saved)
    assert resumed.state() == evaluator.state()
    assert resumed.figures() == evaluator.figures()
    later = [eq("2026-03-04T08:00Z", 103000, 90000)]
    assert [o.to_dict() for o in resumed.feed(later[0])] == [
        o.to_dict() for o in evaluator.feed(later[0])
    ]


def test_state_of_a_fresh_evaluator_reads_back() -> None:
    rules = make_rules(**WATCHED)
    resumed = Evaluator.from_state(rules, json.loads(json.dumps(Evaluator(rules).state())))
    resumed.feed(eq("2026-03-02T08:00Z", 100000))
    assert resumed.verdict()["status"] == "in_progress"


def test_state_saved_under_other_rules_is_refused() -> None:
    state = watched_day().state()
    with pytest.raises(ValueError, match="other rules"):
        Evaluator.from_state(make_rules(**{**WATCHED, "min_trading_days": 4}), state)


@pytest.mark.parametrize("state", [{}, {"version": 99}, [], None])
def test_something_that_is_not_a_state_is_refused(state: object) -> None:
    with pytest.raises(ValueError):
        Evaluator.from_state(make_rules(), state)  # type: ignore[arg-type]


def test_a_damaged_state_is_refused() -> None:
    evaluator = watched_day()
    state = evaluator.state()
    state["balance"] = "lots"
    with pytest.raises(ValueError):
        Evaluator.from_state(evaluator.rules, state)


# ------------------------------------------------------------------------- explanations


def test_a_daily_breach_explains_its_basis_and_floor() -> None:
    rules = make_rules(
        max_daily_loss={"pct": "5", "basis": "prev_day_equity", "of": "basis"},
    )
    evaluator = run(
        rules,
        [eq("2026-03-02T20:00Z", 101000, 102000), eq("2026-03-03T08:00Z", 101000, 96899)],
    )
    (failure,) = evaluator.outcomes
    assert failure.explanation == {
        "event": 2,
        "snapshot": {"t": "2026-03-03T08:00:00Z", "balance": "101000", "equity": "96899"},
        "day": "2026-03-03",
        "basis": "prev_day_equity",
        "basis_value": "102000",
        "prev_day_balance": "101000",
        "prev_day_equity": "102000",
        "of": "basis",
        "of_value": "102000",
        "pct": "5",
        "allowed_loss": "5100.00",
        "floor": "96900.00",
        "action": "fail",
    }
    text = "\n".join(explain_outcome(failure))
    assert "basis prev_day_equity = the previous day's closing equity = 102000" in text
    assert "allowed loss = 5% of the basis 102000 = 5100.00" in text
    assert "floor = 102000 - 5100.00 = 96900.00" in text
    assert "equity 96899 < floor 96900.00" in text


def test_a_max_loss_breach_explains_the_peak_and_the_lock() -> None:
    rules = make_rules(max_loss={"pct": "10", "mode": "trailing_intraday"})
    evaluator = run(
        rules, [eq("2026-03-02T08:00Z", 100000, 125000), eq("2026-03-02T09:00Z", 100000, 99999)]
    )
    why = evaluator.outcomes[0].explanation
    assert (why["peak"], why["allowed_loss"], why["floor"]) == ("125000", "10000.00", "100000")
    assert why["locked_at_initial"] is True
    text = "\n".join(explain_outcome(evaluator.outcomes[0]))
    assert "locked at the initial balance = 100000" in text


def test_a_per_trade_breach_explains_the_deal() -> None:
    rules = make_rules(max_loss_per_trade_pct="1.5")
    evaluator = run(
        rules,
        [
            eq("2026-03-02T08:00Z", 100000),
            buy("2026-03-02T08:01Z", "t-9"),
            sell("2026-03-02T09:00Z", "t-9", "-1500.01"),
        ],
    )
    why = evaluator.outcomes[0].explanation
    assert why["deal"] == {"t": "2026-03-02T09:00:00Z", "position": "t-9", "profit": "-1500.01"}
    assert why["allowed_loss"] == "1500.000"
    text = "\n".join(explain_outcome(evaluator.outcomes[0]))
    assert 'out deal at line 3 (2026-03-02T09:00:00Z): position "t-9", profit -1500.01' in text


def test_a_pass_lists_every_objective() -> None:
    rules = make_rules(profit_target_pct="10", min_trading_days=1, best_day_max_pct="60")
    evaluator = run(
        rules,
        [
            eq("2026-03-02T08:00Z", 105000),
            buy("2026-03-02T09:00Z"),
            sell("2026-03-03T09:00Z"),
            eq("2026-03-03T10:00Z", 110000),
        ],
        until="2026-03-04T00:00Z",
    )
    (passed,) = evaluator.outcomes
    objectives = passed.explanation["objectives"]
    assert objectives["hold"] is True
    assert objectives["consistency"]["limit"] == "6000.00"
    text = "\n".join(explain_outcome(passed))
    assert "every objective holds" in text
    assert "closing balance >= 110000.00 (met)" in text
    assert "best day 5000 <= 60% of it = 6000.00 (met)" in text


def test_a_period_failure_shows_the_objective_not_met() -> None:
    rules = make_rules(profit_target_pct="10", trading_period_days=2)
    evaluator = run(rules, [eq("2026-03-02T08:00Z", 104000)], until="2026-03-05T00:00Z")
    text = explain(evaluator)
    assert "2026-03-03 is the trading period's last day" in text
    assert "closing balance >= 110000.00 (NOT MET)" in text


def test_an_inactivity_failure_names_the_days() -> None:
    rules = make_rules(inactivity_days=2)
    evaluator = run(
        rules, [eq("2026-03-02T08:00Z", 100000), buy("2026-03-02T09:00Z")], "2026-03-05T00:00Z"
    )
    text = explain(evaluator)
    assert "no position was opened on the 2 days from 2026-03-03 to 2026-03-04" in text
    assert "last active day: 2026-03-02" in text


def test_the_whole_explanation_ends_with_the_figures() -> None:
    text = explain(watched_day())
    assert text.startswith("Rules: initial balance 100000; trading days in UTC, reset at 00:00")
    assert "No pause and no verdict" in text
    assert "Figures as of 2026-03-03T10:00:00Z:" in text
    assert "  daily loss floor: 98000.00" in text
