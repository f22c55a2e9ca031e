"""Rules are validated, with defaults and the null/absent distinction of the spec."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from propdesk.rules import DailyLossRule, MaxLossRule, Rules, RulesError

MINIMAL = {"initial_balance": "100000.00", "timezone": "Europe/Prague"}


def parse(**overrides: Any) -> Rules:
    return Rules.from_json(json.dumps({**MINIMAL, **overrides}))


def refused(**overrides: Any) -> str:
    with pytest.raises(RulesError) as caught:
        parse(**overrides)
    return str(caught.value)


def test_minimal_rules_take_the_spec_defaults() -> None:
    rules = parse()
    assert rules.initial_balance == Decimal("100000.00")
    assert rules.day_reset == "00:00"
    assert rules.min_trading_days == 0
    assert rules.upgrade_immediately is True
    assert rules.profit_target_pct is None
    assert rules.max_daily_loss is None
    assert rules.max_loss is None
    assert rules.max_loss_per_trade_pct is None
    assert rules.trading_period_days is None
    assert rules.inactivity_days is None
    assert rules.best_day_max_pct is None


def test_rule_objects_take_their_defaults() -> None:
    rules = parse(
        max_daily_loss={"pct": "5", "basis": "prev_day_balance"},
        max_loss={"pct": "10", "mode": "static"},
    )
    assert rules.max_daily_loss == DailyLossRule(Decimal(5), "prev_day_balance", "initial", "fail")
    assert rules.max_loss == MaxLossRule(Decimal(10), "static", True)


@pytest.mark.parametrize(
    "key",
    [
        "profit_target_pct",
        "max_daily_loss",
        "max_loss",
        "max_loss_per_trade_pct",
        "trading_period_days",
        "inactivity_days",
        "best_day_max_pct",
    ],
)
def test_null_means_no_such_rule(key: str) -> None:
    assert getattr(parse(**{key: None}), key) is None


@pytest.mark.parametrize("key", ["day_reset", "min_trading_days", "upgrade_immediately"])
def test_a_key_with_a_default_may_not_be_null(key: str) -> None:
    assert key in refused(**{key: None})


@pytest.mark.parametrize(
    ("rule", "obj"),
    [
        ("max_daily_loss", {"pct": "5", "basis": "prev_day_balance", "of": None}),
        ("max_daily_loss", {"pct": "5", "basis": "prev_day_balance", "action": None}),
        ("max_loss", {"pct": "5", "mode": "static", "lock_at_initial": None}),
    ],
)
def test_a_defaulted_key_inside_a_rule_may_not_be_null(rule: str, obj: dict[str, Any]) -> None:
    refused(**{rule: obj})


@pytest.mark.parametrize("key", ["initial_balance", "timezone"])
def test_required_keys_must_be_present(key: str) -> None:
    obj = dict(MINIMAL)
    del obj[key]
    with pytest.raises(RulesError, match=key):
        Rules.from_json(json.dumps(obj))


@pytest.mark.parametrize("key", ["initial_balance", "timezone"])
def test_required_keys_may_not_be_null(key: str) -> None:
    refused(**{key: None})


@pytest.mark.parametrize(
    ("rule", "obj", "missing"),
    [
        ("max_daily_loss", {"basis": "prev_day_balance"}, "pct"),
        ("max_daily_loss", {"pct": "5"}, "basis"),
        ("max_loss", {"mode": "static"}, "pct"),
        ("max_loss", {"pct": "5"}, "mode"),
    ],
)
def test_required_keys_inside_rules(rule: str, obj: dict[str, Any], missing: str) -> None:
    assert missing in refused(**{rule: obj})


def test_unknown_top_level_key_is_refused() -> None:
    assert "max_drawdown" in refused(max_drawdown="5")


@pytest.mark.parametrize(
    ("rule", "obj"),
    [
        ("max_daily_loss", {"pct": "5", "basis": "prev_day_balance", "reset": "00:00"}),
        ("max_loss", {"pct": "5", "mode": "static", "trailing": True}),
    ],
)
def test_unknown_key_inside_a_rule_is_refused(rule: str, obj: dict[str, Any]) -> None:
    refused(**{rule: obj})


@pytest.mark.parametrize(
    ("rule", "obj"),
    [
        ("max_daily_loss", {"pct": "5", "basis": "prev_day_high"}),
        ("max_daily_loss", {"pct": "5", "basis": "prev_day_balance", "of": "equity"}),
        ("max_daily_loss", {"pct": "5", "basis": "prev_day_balance", "action": "warn"}),
        ("max_loss", {"pct": "5", "mode": "trailing"}),
        ("max_loss", {"pct": "5", "mode": "static", "lock_at_initial": "yes"}),
        ("max_loss", {"pct": "5", "mode": 1}),
    ],
)
def test_unknown_values_are_refused(rule: str, obj: dict[str, Any]) -> None:
    refused(**{rule: obj})


@pytest.mark.parametrize("rule", ["max_daily_loss", "max_loss"])
def test_a_rule_must_be_an_object(rule: str) -> None:
    refused(**{rule: "5"})


PCT_KEYS = ["profit_target_pct", "max_loss_per_trade_pct", "best_day_max_pct"]


@pytest.mark.parametrize("key", PCT_KEYS)
@pytest.mark.parametrize("value", ["0", "-1", "100", "100.0", "250", "0.000"])
def test_percentages_must_be_above_0_and_below_100(key: str, value: str) -> None:
    assert key in refused(**{key: value})


@pytest.mark.parametrize("value", ["0", "100", "-5"])
def test_rule_percentages_must_be_above_0_and_below_100(value: str) -> None:
    refused(max_daily_loss={"pct": value, "basis": "initial_balance"})
    refused(max_loss={"pct": value, "mode": "static"})


@pytest.mark.parametrize("key", PCT_KEYS)
@pytest.mark.parametrize("value", ["0.0001", "99.9999", "50"])
def test_percentages_inside_the_bounds_are_accepted(key: str, value: str) -> None:
    assert getattr(parse(**{key: value}), key) == Decimal(value)


@pytest.mark.parametrize("value", ["0", "-100", "0.00"])
def test_initial_balance_must_be_positive(value: str) -> None:
    assert "initial_balance" in refused(initial_balance=value)


@pytest.mark.parametrize(
    "value", ["abc", "", "NaN", "Infinity", " 100", "100 ", "1_000", "1,000", "0x10", True, []]
)
def test_money_must_be_a_decimal_string(value: Any) -> None:
    refused(initial_balance=value)


def test_json_numbers_are_read_through_their_decimal_text() -> None:
    rules = Rules.from_json(
        '{"initial_balance": 100000.10, "timezone": "UTC", "profit_target_pct": 8.125,'
        ' "max_loss": {"pct": 1e1, "mode": "static"}}'
    )
    assert str(rules.initial_balance) == "100000.10"
    assert rules.profit_target_pct == Decimal("8.125")
    assert rules.max_loss is not None
    assert rules.max_loss.pct == 10


def test_a_non_finite_json_number_is_refused() -> None:
    with pytest.raises(RulesError):
        Rules.from_json('{"initial_balance": NaN, "timezone": "UTC"}')


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "utc", "../etc/passwd", "/etc/localtime"])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    assert "time zone" in refused(timezone=zone)


def test_a_time_zone_must_be_a_string() -> None:
    refused(timezone=1)


@pytest.mark.parametrize("reset", ["24:00", "7:00", "07:60", "0700", "07:00:00", "", 700, " 07:00"])
def test_day_reset_must_be_hh_mm(reset: Any) -> None:
    assert "day_reset" in refused(day_reset=reset)


@pytest.mark.parametrize("reset", ["00:00", "17:00", "23:59", "02:30"])
def test_valid_day_resets(reset: str) -> None:
    assert parse(day_reset=reset).day_reset == reset


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_trading_days", -1),
        ("min_trading_days", "2"),
        ("min_trading_days", 2.0),
        ("min_trading_days", True),
        ("trading_period_days", 0),
        ("trading_period_days", 1.5),
        ("inactivity_days", 0),
        ("inactivity_days", "3"),
    ],
)
def test_day_counts_must_be_integers_in_range(key: str, value: Any) -> None:
    assert key in refused(**{key: value})


def test_zero_minimum_trading_days_is_allowed() -> None:
    assert parse(min_trading_days=0).min_trading_days == 0


def test_upgrade_at_period_end_needs_a_limited_period() -> None:
    assert "upgrade_immediately" in refused(upgrade_immediately=False)
    assert "upgrade_immediately" in refused(upgrade_immediately=False, trading_period_days=None)
    assert parse(upgrade_immediately=False, trading_period_days=30).upgrade_immediately is False


def test_upgrade_immediately_must_be_a_boolean() -> None:
    refused(upgrade_immediately="false")


@pytest.mark.parametrize("text", ["[]", '"rules"', "null", "42"])
def test_rules_must_be_a_json_object(text: str) -> None:
    with pytest.raises(RulesError, match="object"):
        Rules.from_json(text)


def test_invalid_json_names_the_line() -> None:
    with pytest.raises(RulesError) as caught:
        Rules.from_json('{\n"initial_balance": "1",\n"timezone": "UTC",,\n}')
    assert caught.value.line == 3
    assert str(caught.value).startswith("line 3: invalid JSON")


def test_the_canonical_form_reads_back_to_equal_rules() -> None:
    rules = parse(
        day_reset="17:00",
        profit_target_pct="8",
        max_daily_loss={"pct": "5", "basis": "prev_day_equity", "of": "basis", "action": "pause"},
        max_loss={"pct": "10", "mode": "trailing_eod", "lock_at_initial": False},
        max_loss_per_trade_pct="2",
        min_trading_days=4,
        trading_period_days=30,
        inactivity_days=10,
        best_day_max_pct="30",
        upgrade_immediately=False,
    )
    assert Rules.parse(json.loads(json.dumps(rules.to_dict()))) == rules
