"""Builders for rule-evaluator tests: rules from keyword arguments, events from short calls."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from propdesk.rules import Deal, Equity, Evaluator, Event, Rules, parse_time

# A far target keeps a stage from passing at its first day's end (with no objective at all, the
# objectives hold at once); tests of passing set their own.
BASE_RULES: dict[str, Any] = {
    "initial_balance": "100000",
    "timezone": "UTC",
    "profit_target_pct": "90",
}


class OneDayAtATime(Evaluator):
    """An evaluator that closes days without events one by one (no quiet-day skipping)."""

    __slots__ = ()
    skip_quiet_days = False


def make_rules(**overrides: Any) -> Rules:
    """Rules from BASE_RULES with overrides, decoded as the replay decodes a rules file."""
    obj = {**BASE_RULES, **overrides}
    return Rules.from_json(json.dumps(obj))


def eq(t: str, balance: str | int, equity: str | int | None = None) -> Equity:
    """A snapshot; equity defaults to the balance."""
    equity = balance if equity is None else equity
    return Equity(parse_time(t), Decimal(str(balance)), Decimal(str(equity)))


def buy(t: str, position: str = "p1") -> Deal:
    return Deal(parse_time(t), position, "in")


def sell(t: str, position: str = "p1", profit: str | int = "0") -> Deal:
    return Deal(parse_time(t), position, "out", Decimal(str(profit)))


def run(rules: Rules, events: Iterable[Event], until: str | None = None) -> Evaluator:
    evaluator = Evaluator(rules)
    for event in events:
        evaluator.feed(event)
    if until is not None:
        evaluator.close_until(parse_time(until))
    return evaluator


def verdict(rules: Rules, events: Iterable[Event], until: str | None = None) -> dict[str, Any]:
    return run(rules, events, until).verdict()


def kinds(rules: Rules, events: Iterable[Event], until: str | None = None) -> list[tuple]:
    """The outcomes as (at, kind, rule) triples, for short assertions."""
    return [(o["at"], o["kind"], o["rule"]) for o in verdict(rules, events, until)["events"]]


def write_files(tmp_path: Path, rules: Any, lines: list[Any]) -> list[str]:
    """A rules file and an events file for `propdesk rules replay` (text is written as is, other
    values as JSON); returns the two paths as its arguments."""
    rules_path = tmp_path / "rules.json"
    rules_path.write_text(rules if isinstance(rules, str) else json.dumps(rules))
    events_path = tmp_path / "events.jsonl"
    events_path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return [str(rules_path), str(events_path)]
