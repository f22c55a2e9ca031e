"""`propdesk rules replay` on malformed version-2 input: one line naming the rule or the line and
what is wrong, nothing on stdout, exit status 2. Version-1 values keep their version-1 reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from propdesk.rules.replay import main
from tests.rules.factories import write_files

RULES: dict[str, Any] = {"initial_balance": "100000", "timezone": "Europe/Prague"}
WEEKEND = {"day": "friday", "time": "22:00"}
EQ = {"t": "2026-03-02T07:00:00Z", "type": "equity", "balance": "100000", "equity": "100000"}


def at(seconds: int, **fields: Any) -> dict[str, Any]:
    return {"t": f"2026-03-02T08:00:{seconds:02d}Z", **fields}


IN = {"type": "deal", "position": "p1", "entry": "in"}
OUT = {"type": "deal", "position": "p1", "entry": "out", "profit": "1"}


def write(tmp_path: Path, rules: Any, lines: list[Any]) -> list[str]:
    return write_files(tmp_path, rules, lines)


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "unexpected" not in err  # a refusal, not a defect caught on the way out
    return err


def verdict(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    result: dict[str, Any] = json.loads(out)
    return result


# ------------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"trading_day": {"counts": "opened", "colour": "red"}}, "colour"),
        ({"weekend_close": WEEKEND | {"zone": "UTC"}}, "zone"),
        ({"trading_day": {"counts": "closed"}}, "counts"),
        ({"trading_day": {"counts": "OPENED"}}, "counts"),
        ({"trading_day": {"min_profit_pct": "0"}}, "min_profit_pct"),
        ({"trading_day": {"min_profit_pct": "100"}}, "min_profit_pct"),
        ({"trading_day": {"min_profit_pct": "abc"}}, "min_profit_pct"),
        ({"trading_day": {"min_profit_pct": "-1"}}, "min_profit_pct"),
        ({"trading_day": "opened"}, "trading_day"),
        ({"max_open_positions": 0}, "max_open_positions"),
        ({"max_open_positions": True}, "max_open_positions"),
        ({"max_open_positions": 1.5}, "max_open_positions"),
        ({"max_open_positions": "2"}, "max_open_positions"),
        ({"max_open_volume": "0"}, "max_open_volume"),
        ({"max_open_volume": 0}, "max_open_volume"),
        ({"max_open_volume": "-1"}, "max_open_volume"),
        ({"max_open_volume": "x"}, "max_open_volume"),
        ({"max_open_volume": True}, "max_open_volume"),
        ({"weekend_close": {"day": "funday", "time": "22:00"}}, "day"),
        ({"weekend_close": {"day": "Friday", "time": "22:00"}}, "day"),
        ({"weekend_close": {"time": "22:00"}}, "day"),
        ({"weekend_close": {"day": "friday"}}, "time"),
        ({"weekend_close": {"day": "friday", "time": "24:00"}}, "time"),
        ({"weekend_close": {"day": "friday", "time": "7:00"}}, "time"),
        ({"weekend_close": {"day": "friday", "time": "22:60"}}, "time"),
        ({"weekend_close": {"day": "friday", "time": None}}, "time"),
        ({"weekend_close": "friday 22:00"}, "weekend_close"),
        ({"max_loss": {"pct": "10", "mode": "static", "lock_offset": "-1"}}, "lock_offset"),
        ({"max_loss": {"pct": "10", "mode": "static", "lock_offset": "-0.01"}}, "lock_offset"),
        ({"max_loss": {"pct": "10", "mode": "static", "lock_offset": "abc"}}, "lock_offset"),
        ({"max_daily_loss": {"pct": "5", "basis": "day_peak"}}, "basis"),
    ],
)
def test_malformed_version_2_rules_are_refused_naming_the_key(
    tmp_path: Path, capsys: Any, extra: dict[str, Any], words: str
) -> None:
    err = refused(capsys, write(tmp_path, RULES | extra, [EQ]))
    assert "rules" in err
    assert words in err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"trading_day": None}, "trading_day"),
        ({"trading_day": {"counts": None}}, "counts"),
        ({"max_loss": {"pct": "10", "mode": "static", "lock_offset": None}}, "lock_offset"),
    ],
)
def test_null_is_refused_where_only_absence_means_the_default(
    tmp_path: Path, capsys: Any, extra: dict[str, Any], words: str
) -> None:
    err = refused(capsys, write(tmp_path, RULES | extra, [EQ]))
    assert words in err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"max_open_volume": "1e2"}, "max_open_volume"),
        ({"max_open_volume": "1E2"}, "max_open_volume"),
        ({"max_open_volume": "1234567890123456"}, "max_open_volume"),
        ({"max_open_volume": "1.123456789"}, "max_open_volume"),
        ({"max_open_volume": "NaN"}, "max_open_volume"),
        ({"max_open_volume": "Infinity"}, "max_open_volume"),
        ({"trading_day": {"min_profit_pct": "5e-1"}}, "min_profit_pct"),
        ({"trading_day": {"min_profit_pct": "0.123456789"}}, "min_profit_pct"),
        ({"max_loss": {"pct": "10", "mode": "static", "lock_offset": "1e3"}}, "lock_offset"),
        (
            {"max_loss": {"pct": "10", "mode": "static", "lock_offset": "1234567890123456"}},
            "lock_offset",
        ),
    ],
)
def test_version_2_decimals_keep_to_15_digits_before_the_point_and_8_after_without_exponent(
    tmp_path: Path, capsys: Any, extra: dict[str, Any], words: str
) -> None:
    err = refused(capsys, write(tmp_path, RULES | extra, [EQ]))
    assert words in err


def test_version_2_decimal_limits_apply_to_json_numbers_through_their_text(
    tmp_path: Path, capsys: Any
) -> None:
    rules = '{"initial_balance": "100000", "timezone": "UTC", "max_open_volume": 1e2}'
    assert "max_open_volume" in refused(capsys, write(tmp_path, rules, [EQ]))
    rules = '{"initial_balance": "100000", "timezone": "UTC", "max_open_volume": 1.123456789}'
    assert "max_open_volume" in refused(capsys, write(tmp_path, rules, [EQ]))


def test_version_2_decimals_at_their_limits_are_accepted(tmp_path: Path, capsys: Any) -> None:
    rules = RULES | {
        "max_open_volume": "999999999999999.99999999",
        "trading_day": {"min_profit_pct": "0.00000001"},
        "max_loss": {"pct": "10", "mode": "static", "lock_offset": "123456789012345.12345678"},
    }
    lines = [EQ, at(1, **IN, volume="999999999999999.99999999")]
    assert verdict(capsys, write(tmp_path, rules, lines))["status"] == "in_progress"


def test_version_1_values_keep_their_version_1_reading(tmp_path: Path, capsys: Any) -> None:
    # An exponent in initial_balance, and more minimum days than the period has, as before.
    rules = (
        '{"initial_balance": 1e5, "timezone": "UTC", "min_trading_days": 3,'
        ' "trading_period_days": 2, "max_loss": {"pct": "10", "mode": "static"}}'
    )
    lines = [
        EQ,
        at(1, type="equity", balance="100000", equity="90000"),  # exactly on the floor
        at(2, type="equity", balance="100000", equity="89999.99"),
    ]
    result = verdict(capsys, write(tmp_path, rules, lines))
    assert (result["status"], result["rule"]) == ("failed", "max_loss")
    assert result["at"] == "2026-03-02T08:00:02Z"


# ------------------------------------------------------------------------------ the events


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        ([EQ, at(1, type="balance")], 2, "amount"),
        ([EQ, at(1, type="balance", amount=None)], 2, "amount"),
        ([EQ, at(1, type="balance", amount="0")], 2, "amount"),
        ([EQ, at(1, type="balance", amount="-0.00")], 2, "amount"),
        ([EQ, at(1, type="balance", amount=0)], 2, "amount"),
        ([EQ, at(1, type="balance", amount="x")], 2, "amount"),
        ([EQ, at(1, type="balance", amount="1e3")], 2, "amount"),
        ([EQ, at(1, type="balance", amount="0.123456789")], 2, "amount"),
        ([EQ, at(1, type="balance", amount="1234567890123456")], 2, "amount"),
        ([EQ, at(1, **IN, volume="0")], 2, "volume"),
        ([EQ, at(1, **IN, volume=0)], 2, "volume"),
        ([EQ, at(1, **IN, volume="-1")], 2, "volume"),
        ([EQ, at(1, **IN, volume="abc")], 2, "volume"),
        ([EQ, at(1, **IN, volume="1e1")], 2, "volume"),
        ([EQ, at(1, **IN, volume="0.000000001")], 2, "volume"),
        ([EQ, at(1, **IN, volume=True)], 2, "volume"),
        ([EQ, at(1, **IN), at(2, **OUT, volume="0")], 3, "volume"),
        ([EQ, at(1, **IN), at(2, **OUT, volume="-1")], 3, "volume"),
        ([EQ, at(1, **IN), at(2, **OUT, volume="abc")], 3, "volume"),
    ],
)
def test_bad_balance_events_and_volumes_name_their_line(
    tmp_path: Path, capsys: Any, lines: list[Any], line: int, words: str
) -> None:
    err = refused(capsys, write(tmp_path, RULES, lines))
    assert f"line {line}:" in err
    assert words in err


def test_an_in_deal_needs_a_volume_when_max_open_volume_is_set(tmp_path: Path, capsys: Any) -> None:
    rules = RULES | {"max_open_volume": "2"}
    lines = [EQ, at(1, **IN, volume="1"), at(2, **OUT), at(3, **IN)]
    err = refused(capsys, write(tmp_path, rules, lines))
    assert "line 4:" in err
    assert "volume" in err
    # Without the rule, the same deal needs none.
    assert verdict(capsys, write(tmp_path, RULES, lines))["status"] == "in_progress"


def test_a_missing_volume_past_a_verdict_is_still_refused(tmp_path: Path, capsys: Any) -> None:
    rules = RULES | {"max_open_volume": "2", "max_loss": {"pct": "10", "mode": "static"}}
    lines = [
        EQ,
        at(1, type="equity", balance="100000", equity="89000"),  # fails the stage
        at(2, **IN),
    ]
    err = refused(capsys, write(tmp_path, rules, lines))
    assert "line 3:" in err
    assert "volume" in err


def test_a_bad_amount_past_a_verdict_is_still_refused(tmp_path: Path, capsys: Any) -> None:
    rules = RULES | {"max_loss": {"pct": "10", "mode": "static"}}
    lines = [
        EQ,
        at(1, type="equity", balance="100000", equity="89000"),
        at(2, type="balance", amount="0"),
    ]
    assert "line 3:" in refused(capsys, write(tmp_path, rules, lines))
