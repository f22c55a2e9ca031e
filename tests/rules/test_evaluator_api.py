"""The evaluator as the live monitor drives it: one event at a time, and the clock."""

from __future__ import annotations

import pytest

from propdesk.rules import Evaluator, EventError, parse_time
from tests.rules.factories import buy, eq, make_rules, run, sell

PAUSE = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}


def test_feed_returns_what_the_event_caused_closings_first() -> None:
    evaluator = run(make_rules(max_daily_loss=PAUSE), [eq("2026-03-02T08:00Z", 100000, 94000)])
    caused = evaluator.feed(eq("2026-03-03T08:00Z", 100000, 94000))
    assert [(o.kind, o.at.isoformat()) for o in caused] == [
        ("resumed", "2026-03-03T00:00:00+00:00"),
        ("paused", "2026-03-03T08:00:00+00:00"),
    ]


def test_feed_returns_nothing_for_an_ordinary_snapshot() -> None:
    evaluator = run(make_rules(), [eq("2026-03-02T08:00Z", 100000)])
    assert list(evaluator.feed(eq("2026-03-02T09:00Z", 100500))) == []


def test_the_clock_closes_days_without_events() -> None:
    evaluator = run(make_rules(trading_period_days=2), [eq("2026-03-02T08:00Z", 100000)])
    assert list(evaluator.close_until(parse_time("2026-03-03T12:00Z"))) == []
    (verdict,) = evaluator.close_until(parse_time("2026-03-04T00:00Z"))
    assert (verdict.kind, verdict.rule) == ("failed", "trading_period")
    assert evaluator.status == "failed"


def test_the_clock_before_any_event_does_nothing() -> None:
    evaluator = Evaluator(make_rules())
    assert list(evaluator.close_until(parse_time("2026-03-04T00:00Z"))) == []
    assert evaluator.verdict()["status"] == "in_progress"


@pytest.mark.parametrize(
    "bad",
    [
        eq("2026-03-02T07:00Z", 1),  # earlier than the last event
        sell("2026-03-02T10:00Z", "nope", 1),  # closes a position that is not open
        buy("2026-03-02T10:00Z", "p1"),  # opens one that is open
    ],
)
def test_a_refused_event_changes_nothing(bad: object) -> None:
    evaluator = run(make_rules(), [eq("2026-03-02T08:00Z", 100000), buy("2026-03-02T09:00Z", "p1")])
    before = evaluator.state()
    with pytest.raises(EventError):
        evaluator.feed(bad)  # type: ignore[arg-type]
    assert evaluator.state() == before


def test_the_first_event_must_be_a_snapshot() -> None:
    evaluator = Evaluator(make_rules())
    with pytest.raises(EventError, match="first event"):
        evaluator.feed(buy("2026-03-02T09:00Z"))
    evaluator.feed(eq("2026-03-02T09:00Z", 100000))


def test_a_position_can_be_opened_again_once_closed() -> None:
    evaluator = run(
        make_rules(),
        [
            eq("2026-03-02T08:00Z", 100000),
            buy("2026-03-02T09:00Z", "p1"),
            sell("2026-03-02T10:00Z", "p1", 5),
            buy("2026-03-02T11:00Z", "p1"),
        ],
    )
    assert evaluator.figures().open_positions == 1
