"""Properties over random scenarios: agreement with a naive reading of the spec, exact resumes.

Scenarios start near daylight-saving changes in several zones, use amounts on a 500 grid (so
that equity often lands exactly on a floor) with the odd cent either side, and time steps that
often land exactly on a day's end.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propdesk.rules import Equity, Evaluator, Event, Rules, parse_line
from tests.rules.rules_reference_model import reference_verdict

ZONES = ["UTC", "Europe/Prague", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
RESETS = ["00:00", "17:00", "02:30", "23:59", "01:00"]
STARTS = [
    datetime(2026, 3, 27, 12, tzinfo=UTC),  # Prague springs forward on the 29th
    datetime(2026, 10, 23, 12, tzinfo=UTC),  # and falls back on the 25th
    datetime(2026, 3, 6, 12, tzinfo=UTC),  # New York springs forward on the 8th
    datetime(2026, 10, 30, 12, tzinfo=UTC),  # and falls back on 1 November
    datetime(2026, 4, 3, 12, tzinfo=UTC),  # Lord Howe falls back half an hour on the 5th
]
STEPS = [0, 1, 59, 600, 1800, 3600, 3 * 3600, 7 * 3600, 23 * 3600, 86400, 90000, 2 * 86400]
OFFSETS = [timedelta(0), timedelta(hours=1), timedelta(hours=-5), timedelta(hours=5, minutes=30)]
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def money(draw: Any, grid: int) -> str:
    cents = draw(st.sampled_from([0, 0, 0, 1, -1]))
    return str(Decimal(grid * 500) + Decimal(cents) / 100)


@st.composite
def scenarios(draw: Any) -> tuple[Rules, list[str], datetime | None]:
    period = draw(st.one_of(st.none(), st.integers(1, 8)))
    rules: dict[str, Any] = {
        "initial_balance": draw(st.sampled_from(["100000", "100000.00", "50000"])),
        "timezone": draw(st.sampled_from(ZONES)),
        "day_reset": draw(st.sampled_from(RESETS)),
        "profit_target_pct": draw(st.one_of(st.none(), st.sampled_from(["1", "5", "10"]))),
        "max_loss_per_trade_pct": draw(st.one_of(st.none(), st.sampled_from(["0.5", "1", "2"]))),
        "min_trading_days": draw(st.integers(0, 3)),
        "trading_period_days": period,
        "inactivity_days": draw(st.one_of(st.none(), st.integers(1, 4))),
        "best_day_max_pct": draw(st.one_of(st.none(), st.sampled_from(["30", "50", "80"]))),
        "upgrade_immediately": True if period is None else draw(st.booleans()),
    }
    if draw(st.booleans()):
        rules["max_daily_loss"] = {
            "pct": draw(st.sampled_from(["2", "5"])),
            "basis": draw(
                st.sampled_from(
                    [
                        "prev_day_balance",
                        "prev_day_equity",
                        "prev_day_max_balance_equity",
                        "initial_balance",
                    ]
                )
            ),
            "of": draw(st.sampled_from(["initial", "basis"])),
            "action": draw(st.sampled_from(["fail", "pause"])),
        }
    if draw(st.booleans()):
        rules["max_loss"] = {
            "pct": draw(st.sampled_from(["5", "10"])),
            "mode": draw(st.sampled_from(["static", "trailing_intraday", "trailing_eod"])),
            "lock_at_initial": draw(st.booleans()),
        }
    parsed = Rules.from_json(json.dumps(rules))
    base = 200 if parsed.initial_balance == 100000 else 100

    t = draw(st.sampled_from(STARTS)) + timedelta(minutes=draw(st.integers(0, 12 * 60)))
    lines: list[str] = []
    open_positions: list[str] = []
    serial = 0
    level = base
    for n in range(draw(st.integers(1, 30))):
        if n:
            t += timedelta(seconds=draw(st.sampled_from(STEPS)))
        stamp = t.astimezone(timezone(draw(st.sampled_from(OFFSETS)))).isoformat()
        kind = "equity" if n == 0 else draw(st.sampled_from(["equity", "equity", "in", "out"]))
        if kind == "out" and not open_positions:
            kind = "in"
        if kind == "equity":
            level += draw(st.integers(-8, 8))
            balance = money(draw, level)
            equity = money(draw, level + draw(st.integers(-12, 6)))
            lines.append(
                json.dumps({"t": stamp, "type": "equity", "balance": balance, "equity": equity})
            )
        elif kind == "in":
            serial += 1
            position = f"p{serial}"
            open_positions.append(position)
            lines.append(
                json.dumps({"t": stamp, "type": "deal", "position": position, "entry": "in"})
            )
        else:
            position = open_positions.pop(draw(st.integers(0, len(open_positions) - 1)))
            profit = money(draw, draw(st.integers(-4, 4)))
            lines.append(
                json.dumps(
                    {
                        "t": stamp,
                        "type": "deal",
                        "position": position,
                        "entry": "out",
                        "profit": profit,
                    }
                )
            )
    until = None
    if draw(st.booleans()):
        until = t + timedelta(seconds=draw(st.sampled_from([*STEPS, 10 * 86400, 400 * 86400])))
    return parsed, lines, until


def replay(rules: Rules, events: list[Event], until: datetime | None) -> Evaluator:
    evaluator = Evaluator(rules)
    for event in events:
        evaluator.feed(event)
    if until is not None:
        evaluator.close_until(until)
    return evaluator


@SETTINGS
@given(scenarios())
def test_the_evaluator_agrees_with_the_naive_reading(
    scenario: tuple[Rules, list[str], datetime | None],
) -> None:
    rules, lines, until = scenario
    events = [parse_line(line) for line in lines]
    assert replay(rules, events, until).verdict() == reference_verdict(rules, events, until)


@SETTINGS
@given(scenarios(), st.data())
def test_resuming_from_saved_state_anywhere_changes_nothing(
    scenario: tuple[Rules, list[str], datetime | None], data: st.DataObject
) -> None:
    rules, lines, until = scenario
    events = [parse_line(line) for line in lines]
    whole = replay(rules, events, until)
    split = data.draw(st.integers(0, len(events)))
    first = replay(rules, events[:split], None)
    saved = json.loads(json.dumps(first.state()))
    resumed = Evaluator.from_state(rules, saved)
    for event in events[split:]:
        resumed.feed(event)
    if until is not None:
        resumed.close_until(until)
    assert resumed.verdict() == whole.verdict()
    assert resumed.state() == whole.state()
    assert resumed.figures() == whole.figures()


@SETTINGS
@given(scenarios())
def test_skipping_quiet_days_gives_what_closing_them_one_by_one_gives(
    scenario: tuple[Rules, list[str], datetime | None],
) -> None:
    rules, lines, until = scenario
    events = [parse_line(line) for line in lines]

    class OneByOne(Evaluator):
        __slots__ = ()
        skip_quiet_days = False

    fast = replay(rules, events, until)
    slow = OneByOne(rules)
    for event in events:
        slow.feed(event)
    if until is not None:
        slow.close_until(until)
    assert fast.state() == slow.state()


@SETTINGS
@given(scenarios())
def test_a_breach_never_comes_from_a_snapshot_at_or_above_its_floor(
    scenario: tuple[Rules, list[str], datetime | None],
) -> None:
    rules, lines, until = scenario
    events = [parse_line(line) for line in lines]
    for outcome in replay(rules, events, until).outcomes:
        if outcome.rule in ("max_loss", "max_daily_loss") and outcome.kind != "resumed":
            why = outcome.explanation
            snapshot = events[why["event"] - 1]
            assert isinstance(snapshot, Equity)
            assert snapshot.equity < Decimal(why["floor"])
            assert Decimal(why["snapshot"]["equity"]) == snapshot.equity


@SETTINGS
@given(scenarios(), st.data())
def test_closing_in_steps_is_closing_at_once(
    scenario: tuple[Rules, list[str], datetime | None], data: st.DataObject
) -> None:
    rules, lines, until = scenario
    if until is None:
        return
    events = [parse_line(line) for line in lines]
    at_once = replay(rules, events, until)
    stepwise = replay(rules, events, None)
    last = events[-1].t.astimezone(UTC)
    for fraction in sorted(data.draw(st.lists(st.floats(0, 1), max_size=4))):
        stepwise.close_until(last + (until - last) * fraction)
    stepwise.close_until(until)
    assert stepwise.verdict() == at_once.verdict()
