"""One JSON line becomes one event, or an error saying what is wrong with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from propdesk.rules import Deal, Equity, EventError, parse_event, parse_line
from propdesk.rules.parse import _DECODER

T = "2026-03-02T07:00:00+00:00"
AT = datetime(2026, 3, 2, 7, tzinfo=UTC)


def line(**fields: Any) -> str:
    return json.dumps(fields)


def error(text: str) -> str:
    with pytest.raises(EventError) as caught:
        parse_line(text)
    return str(caught.value)


def test_an_equity_snapshot() -> None:
    event = parse_line(line(t=T, type="equity", balance="100000.00", equity="99850.00"))
    assert event == Equity(AT, Decimal("100000.00"), Decimal("99850.00"))


def test_deals_in_and_out() -> None:
    opened = parse_line(line(t=T, type="deal", position="p1", entry="in", symbol="EURUSD"))
    closed = parse_line(line(t=T, type="deal", position="p1", entry="out", profit="-150.00"))
    assert opened == Deal(AT, "p1", "in")
    assert closed == Deal(AT, "p1", "out", Decimal("-150.00"))


def test_numeric_positions_are_positions_too() -> None:
    assert parse_line(line(t=T, type="deal", position=12345, entry="in")) == Deal(AT, 12345, "in")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100000", "100000"), ("1e5", "1E+5"), ("100000.00", "100000.00"), ("-0.5", "-0.5")],
)
def test_json_numbers_become_the_decimal_of_their_text(text: str, expected: str) -> None:
    event = parse_line(f'{{"t": "{T}", "type": "equity", "balance": {text}, "equity": {text}}}')
    assert isinstance(event, Equity)
    assert str(event.balance) == expected
    assert str(event.equity) == expected


def test_a_profit_given_as_a_json_number_is_exact() -> None:
    event = parse_line(
        f'{{"t": "{T}", "type": "deal", "position": "p", "entry": "out", "profit": -0.1}}'
    )
    assert isinstance(event, Deal)
    assert event.profit == Decimal("-0.1")


@pytest.mark.parametrize("value", ["+5", "5.", ".5", "1e3", "1E-2", "-0", "007"])
def test_decimal_strings_in_any_plain_spelling(value: str) -> None:
    event = parse_line(line(t=T, type="equity", balance=value, equity=value))
    assert isinstance(event, Equity)
    assert event.balance == Decimal(value)


def test_offsets_are_kept_and_fractions_read() -> None:
    event = parse_line(line(t="2026-03-02T08:00:00.25+01:00", type="equity", balance=1, equity=1))
    assert event.t == AT + timedelta(microseconds=250000)
    assert event.t.utcoffset() == timedelta(hours=1)


def test_z_is_an_offset() -> None:
    assert parse_line(line(t="2026-03-02T07:00:00Z", type="equity", balance=1, equity=1)).t == AT


def test_unknown_keys_are_ignored() -> None:
    event = parse_line(line(t=T, type="equity", balance="1", equity="2", server="x", id=[1]))
    assert event == Equity(AT, Decimal(1), Decimal(2))


def test_whitespace_and_crlf_around_the_object_are_fine() -> None:
    text = '  {"t":"' + T + '","type":"equity","balance":"1","equity":"1"}  \r\n'
    assert parse_line(text) == Equity(AT, Decimal(1), Decimal(1))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty line"),
        ("   \n", "empty line"),
        ("{", "invalid JSON"),
        ('{"t": "x"', "invalid JSON"),
        ("{} {}", "invalid JSON"),
        ("[]", "JSON object"),
        ('"equity"', "JSON object"),
        ("42", "JSON object"),
        ("null", "JSON object"),
        (f'{{"t": "{T}", "type": "equity", "balance": NaN, "equity": 1}}', "invalid JSON"),
        (f'{{"t": "{T}", "type": "equity", "balance": Infinity, "equity": 1}}', "invalid JSON"),
    ],
)
def test_lines_that_are_not_one_json_object(text: str, words: str) -> None:
    assert words in error(text)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"type": "equity", "balance": "1", "equity": "1"}, 'missing "t"'),
        ({"t": None, "type": "equity", "balance": "1", "equity": "1"}, "t must be"),
        ({"t": 1700000000, "type": "equity", "balance": "1", "equity": "1"}, "t must be"),
        ({"t": "2026-03-02T07:00:00", "type": "equity", "balance": "1", "equity": "1"}, "offset"),
        ({"t": "2026-03-02", "type": "equity", "balance": "1", "equity": "1"}, "offset"),
        ({"t": "yesterday", "type": "equity", "balance": "1", "equity": "1"}, "ISO 8601"),
        ({"t": "2026-02-30T00:00:00Z", "type": "equity", "balance": "1", "equity": "1"}, "ISO"),
        ({"t": "0001-01-01T00:00:00Z", "type": "equity", "balance": "1", "equity": "1"}, "range"),
        ({"t": T, "balance": "1", "equity": "1"}, 'missing "type"'),
        ({"t": T, "type": "trade"}, "unknown event type"),
        ({"t": T, "type": "Equity", "balance": "1", "equity": "1"}, "unknown event type"),
        ({"t": T, "type": None}, "unknown event type"),
        ({"t": T, "type": "equity", "equity": "1"}, '"balance"'),
        ({"t": T, "type": "equity", "balance": "1"}, '"equity"'),
        ({"t": T, "type": "equity", "balance": None, "equity": "1"}, '"balance"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": "abc"}, '"equity"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": ""}, '"equity"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": "NaN"}, '"equity"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": " 1"}, '"equity"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": "1_0"}, '"equity"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": "--1"}, '"equity"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": "1.2.3"}, '"equity"'),
        ({"t": T, "type": "equity", "balance": "1", "equity": True}, '"equity"'),
        ({"t": T, "type": "equity", "balance": ["1"], "equity": "1"}, '"balance"'),
        ({"t": T, "type": "deal", "entry": "in"}, '"position"'),
        ({"t": T, "type": "deal", "position": None, "entry": "in"}, '"position"'),
        ({"t": T, "type": "deal", "position": 1.5, "entry": "in"}, '"position"'),
        ({"t": T, "type": "deal", "position": "p"}, '"entry"'),
        ({"t": T, "type": "deal", "position": "p", "entry": "buy"}, '"entry"'),
        ({"t": T, "type": "deal", "position": "p", "entry": "out"}, '"profit"'),
        ({"t": T, "type": "deal", "position": "p", "entry": "out", "profit": None}, '"profit"'),
        ({"t": T, "type": "deal", "position": "p", "entry": "out", "profit": "x"}, '"profit"'),
    ],
)
def test_invalid_events_say_what_is_wrong(fields: dict[str, Any], words: str) -> None:
    assert words in error(json.dumps(fields))


def test_messages_stay_on_one_line() -> None:
    message = error(line(t=T, type="deal\nx", position="p"))
    assert "\n" not in message


@pytest.mark.parametrize(
    "text",
    [
        '{"t": "2026-03-02T07:00:00+00:00", "type": "equity", "balance": "1", "equity": "2"}\n',
        '{"t":"2026-03-02T07:00:00+00:00","type":"equity","balance":"1","equity":"2"}',
        '{"type": "equity", "t": "2026-03-02T07:00:00+00:00", "equity": "2", "balance": "1"}',
        '{"t": "2026-03-02T07:00:00+00:00", "type": "equity", "balance": 1, "equity": 2.0}',
        '{"t": "2026-03-02T07:00:00+00:00", "type": "equity", "balance": "1", "equity": "2e0"}',
        '{"t": "2026-03-02T07:00:00\\u002b00:00", "type": "equity", "balance": "1", "equity": "2"}',
    ],
)
def test_the_inline_equity_path_reads_as_the_general_one(text: str) -> None:
    assert parse_line(text) == parse_event(_DECODER.decode(text))


def test_times_in_other_offsets_compare_as_instants() -> None:
    a = parse_line(line(t="2026-03-02T09:00:00+02:00", type="equity", balance=1, equity=1))
    assert a.t == AT
    assert a.t.tzinfo == timezone(timedelta(hours=2))
