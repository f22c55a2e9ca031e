"""`propdesk rules replay`: the verdict on stdout, exit 0; any bad input: one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from propdesk.rules.replay import main
from tests.rules.factories import write_files

RULES = {
    "initial_balance": "100000.00",
    "timezone": "Europe/Prague",
    "profit_target_pct": "10",
    "max_daily_loss": {"pct": "5", "basis": "prev_day_balance", "action": "pause"},
    "max_loss": {"pct": "10", "mode": "static"},
}
EVENTS = [
    {
        "t": "2026-03-02T07:00:00+00:00",
        "type": "equity",
        "balance": "100000.00",
        "equity": "99850.00",
    },
    {
        "t": "2026-03-02T07:00:05+00:00",
        "type": "deal",
        "position": "p1",
        "entry": "in",
        "symbol": "EURUSD",
        "volume": "1.00",
    },
    {
        "t": "2026-03-02T09:14:00+00:00",
        "type": "deal",
        "position": "p1",
        "entry": "out",
        "symbol": "EURUSD",
        "volume": "1.00",
        "profit": "-150.00",
    },
    {
        "t": "2026-03-02T11:00:00+00:00",
        "type": "equity",
        "balance": "99850.00",
        "equity": "94000.00",
    },
    {
        "t": "2026-03-03T08:00:00+00:00",
        "type": "deal",
        "position": "p2",
        "entry": "in",
        "symbol": "EURUSD",
        "volume": "1.00",
    },
    {
        "t": "2026-03-03T10:15:00+00:00",
        "type": "equity",
        "balance": "99850.00",
        "equity": "89999.99",
    },
]
EXPECTED = {
    "status": "failed",
    "rule": "max_loss",
    "at": "2026-03-03T10:15:00Z",
    "trading_days": 2,
    "events": [
        {"at": "2026-03-02T11:00:00Z", "kind": "paused", "rule": "max_daily_loss"},
        {"at": "2026-03-02T23:00:00Z", "kind": "resumed", "rule": "max_daily_loss"},
        {"at": "2026-03-03T10:15:00Z", "kind": "failed", "rule": "max_loss"},
    ],
}


def write(tmp_path: Path, rules: Any = RULES, lines: list[Any] | None = None) -> list[str]:
    return write_files(tmp_path, rules, EVENTS if lines is None else lines)


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    return err


def test_prints_the_verdict_as_one_json_line(tmp_path: Path, capsys: Any) -> None:
    assert main(write(tmp_path)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == json.dumps(EXPECTED) + "\n"


def test_the_output_has_exactly_the_spec_keys(tmp_path: Path, capsys: Any) -> None:
    main(write(tmp_path))
    result = json.loads(capsys.readouterr().out)
    assert list(result) == ["status", "rule", "at", "trading_days", "events"]
    assert all(list(event) == ["at", "kind", "rule"] for event in result["events"])


def test_in_progress_has_null_rule_and_time(tmp_path: Path, capsys: Any) -> None:
    assert main(write(tmp_path, lines=EVENTS[:3])) == 0
    assert json.loads(capsys.readouterr().out) == {
        "status": "in_progress",
        "rule": None,
        "at": None,
        "trading_days": 1,
        "events": [],
    }


def test_until_closes_the_days_that_ended(tmp_path: Path, capsys: Any) -> None:
    lines = [*EVENTS[:4], EVENTS[0] | {"t": "2026-03-02T12:00:00+00:00", "balance": "110000"}]
    assert main([*write(tmp_path, lines=lines), "--until", "2026-03-03T00:00:00+01:00"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "passed"
    assert result["at"] == "2026-03-02T23:00:00Z"
    assert [e["kind"] for e in result["events"]] == ["paused", "passed"]


def test_until_written_with_an_equals_sign(tmp_path: Path, capsys: Any) -> None:
    lines = EVENTS[:4]
    assert main([*write(tmp_path, lines=lines), "--until=2026-03-02T23:00:00Z"]) == 0
    assert json.loads(capsys.readouterr().out)["events"][-1]["kind"] == "resumed"


def test_until_equal_to_the_last_event_is_fine(tmp_path: Path, capsys: Any) -> None:
    assert main([*write(tmp_path), "--until", "2026-03-03T10:15:00Z"]) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED


def test_json_numbers_in_both_files(tmp_path: Path, capsys: Any) -> None:
    rules = '{"initial_balance": 1e5, "timezone": "UTC", "max_loss": {"pct": 10, "mode": "static"}}'
    lines = [
        '{"t": "2026-03-02T07:00:00Z", "type": "equity", "balance": 100000, "equity": 9e4}',
        '{"t": "2026-03-02T08:00:00Z", "type": "equity", "balance": 100000, "equity": 89999.99}',
    ]
    assert main(write(tmp_path, rules, lines)) == 0
    assert json.loads(capsys.readouterr().out)["at"] == "2026-03-02T08:00:00Z"


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path: Path, capsys: Any) -> None:
    argv = write(tmp_path)
    text = Path(argv[1]).read_text()
    Path(argv[1]).write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    Path(argv[0]).write_bytes(b"\xef\xbb\xbf" + Path(argv[0]).read_bytes())
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED


def test_the_last_line_needs_no_newline(tmp_path: Path, capsys: Any) -> None:
    argv = write(tmp_path)
    Path(argv[1]).write_text(Path(argv[1]).read_text().rstrip("\n"))
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED


# ------------------------------------------------------------------------- bad events

EQ = {"t": "2026-03-02T07:00:00Z", "type": "equity", "balance": "1", "equity": "1"}


def at(seconds: int, **fields: Any) -> dict[str, Any]:
    return {"t": f"2026-03-02T08:00:{seconds:02d}Z", **fields}


IN = {"type": "deal", "position": "p1", "entry": "in"}
OUT = {"type": "deal", "position": "p1", "entry": "out", "profit": "1"}


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        ([EQ, EQ, "{not json"], 3, "invalid JSON"),
        ([EQ, "[1, 2]"], 2, "JSON object"),
        ([EQ, ""], 2, "empty line"),
        ([EQ, "", EQ], 2, "empty line"),
        ([EQ, {"type": "equity", "balance": "1", "equity": "1"}], 2, '"t"'),
        ([EQ, EQ | {"t": "2026-03-02T08:00:00"}], 2, "offset"),
        ([EQ, at(1, type="equity", balance="1", equity="1"), EQ], 3, "backwards"),
        ([EQ, at(1, type="withdrawal")], 2, "unknown event type"),
        ([EQ, at(1, type="equity", equity="1")], 2, '"balance"'),
        ([EQ, at(1, type="deal", position="p1", entry="sell")], 2, '"entry"'),
        ([EQ, at(1, **IN), at(2, type="deal", position="p1", entry="out")], 3, '"profit"'),
        ([EQ, at(1, **OUT)], 2, "not open"),
        ([EQ, at(1, **IN), at(2, **OUT), at(3, **OUT)], 4, "not open"),
        ([EQ, at(1, **IN), at(2, **IN)], 3, "already open"),
        ([at(1, **IN)], 1, "first event"),
    ],
)
def test_an_invalid_event_names_its_line(
    tmp_path: Path, capsys: Any, lines: list[Any], line: int, words: str
) -> None:
    err = refused(capsys, write(tmp_path, {"initial_balance": "1", "timezone": "UTC"}, lines))
    assert f"line {line}:" in err
    assert words in err


def test_lines_past_a_verdict_are_still_checked(tmp_path: Path, capsys: Any) -> None:
    lines = [*EVENTS, EVENTS[0] | {"t": "2026-03-04T00:00:00Z"}, "oops"]
    err = refused(capsys, write(tmp_path, lines=lines))
    assert "line 8:" in err


def test_positions_are_followed_past_a_verdict(tmp_path: Path, capsys: Any) -> None:
    # p2 was opened on line 5; the stage failed on line 6; opening p2 again is still invalid.
    lines = [*EVENTS, EVENTS[4] | {"t": "2026-03-04T00:00:00Z"}]
    assert "line 7:" in refused(capsys, write(tmp_path, lines=lines))


def test_an_empty_events_file_is_invalid(tmp_path: Path, capsys: Any) -> None:
    assert "no event" in refused(capsys, write(tmp_path, lines=[]))


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path, capsys: Any) -> None:
    argv = write(tmp_path)
    Path(argv[1]).write_bytes(json.dumps(EQ).encode() + b'\n{"t": "\xff"}\n')
    assert "line 2:" in refused(capsys, argv)


# -------------------------------------------------------------------------- bad rules


def test_bad_rules_are_refused_before_any_event_is_read(tmp_path: Path, capsys: Any) -> None:
    argv = write(tmp_path, RULES | {"timezone": "Mars/Base"}, ["garbage"])
    err = refused(capsys, argv)
    assert "rules" in err
    assert "time zone" in err
    argv[1] = str(tmp_path / "missing.jsonl")
    assert "time zone" in refused(capsys, argv)


def test_invalid_rules_json_names_the_line(tmp_path: Path, capsys: Any) -> None:
    err = refused(capsys, write(tmp_path, '{\n  "initial_balance": "1",\n  oops\n}'))
    assert "line 3:" in err


@pytest.mark.parametrize(
    "rules",
    [
        RULES | {"colour": "red"},
        RULES | {"max_loss": {"pct": "100", "mode": "static"}},
        RULES | {"upgrade_immediately": False},
        RULES | {"day_reset": None},
    ],
)
def test_rules_that_cannot_be_evaluated(tmp_path: Path, capsys: Any, rules: Any) -> None:
    refused(capsys, write(tmp_path, rules))


def test_unreadable_files(tmp_path: Path, capsys: Any) -> None:
    argv = write(tmp_path)
    assert "cannot read rules" in refused(capsys, [str(tmp_path / "nope.json"), argv[1]])
    assert "cannot read events" in refused(capsys, [argv[0], str(tmp_path / "nope.jsonl")])
    assert "cannot read events" in refused(capsys, [argv[0], str(tmp_path)])


# ---------------------------------------------------------------- bad --until, arguments


@pytest.mark.parametrize(
    ("until", "words"),
    [
        ("2026-03-04T00:00:00", "offset"),
        ("tomorrow", "ISO 8601"),
        ("2026-03-03T10:14:59Z", "before the last event"),
    ],
)
def test_a_bad_until(tmp_path: Path, capsys: Any, until: str, words: str) -> None:
    err = refused(capsys, [*write(tmp_path), "--until", until])
    assert "--until" in err
    assert words in err


def test_a_naive_until_is_refused_before_the_events_are_read(tmp_path: Path, capsys: Any) -> None:
    argv = write(tmp_path, lines=["garbage"])
    assert "--until" in refused(capsys, [*argv, "--until", "2026-03-04T00:00:00"])


@pytest.mark.parametrize(
    "extra",
    [
        ["--until"],
        ["--until", "2026-03-04T00:00Z", "--until", "2026-03-05T00:00Z"],
        ["--fast"],
        ["third.jsonl"],
    ],
)
def test_bad_arguments(tmp_path: Path, capsys: Any, extra: list[str]) -> None:
    refused(capsys, [*write(tmp_path), *extra])


def test_too_few_paths(capsys: Any) -> None:
    refused(capsys, [])
    refused(capsys, ["rules.json"])


# ------------------------------------------------------------------------------ explain


def test_explain_adds_a_text_block_after_the_same_json_line(tmp_path: Path, capsys: Any) -> None:
    assert main([*write(tmp_path), "--explain"]) == 0
    out = capsys.readouterr().out
    first, blank, *text = out.split("\n")
    assert json.loads(first) == EXPECTED
    assert blank == ""
    story = "\n".join(text)
    assert "snapshot at line 4 (2026-03-02T11:00:00Z): balance 99850.00, equity 94000.00" in story
    assert "floor = 100000.00 - 5000.00 = 95000.00" in story
    assert "equity 89999.99 < floor 90000.00" in story
    assert "2026-03-02T23:00:00Z  resumed (max_daily_loss)" in story


# --------------------------------------------------------------------------- subprocess


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(__file__).resolve().parents[3] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "propdesk.cli", "rules", "replay", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_real_command(tmp_path: Path) -> None:
    done = run_cli(*write(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == json.dumps(EXPECTED) + "\n"
    assert done.stderr == ""


def test_the_real_command_on_bad_input(tmp_path: Path) -> None:
    done = run_cli(*write(tmp_path, lines=[EQ, "{"]))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "line 2:" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_period_reaching_past_the_calendar_is_simply_never_over(
    tmp_path: Path, capsys: Any
) -> None:
    rules = {"initial_balance": "100000", "timezone": "UTC", "trading_period_days": 3_000_000}
    line = {"t": "2026-03-02T07:00:00Z", "type": "equity", "balance": "1", "equity": "1"}
    assert main(write(tmp_path, rules, [line])) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "status": "in_progress",
        "rule": None,
        "at": None,
        "trading_days": 0,
        "events": [],
    }
