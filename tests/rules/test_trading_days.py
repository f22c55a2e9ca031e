"""Trading days: ends at the reset wall time (fold=0), across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propdesk.rules import Calendar

PRAGUE = ZoneInfo("Europe/Prague")
NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours(calendar: Calendar, day: date) -> float:
    return (calendar.end(day) - calendar.start(day)) / timedelta(hours=1)


@pytest.mark.parametrize(
    ("day", "end"),
    [
        (date(2026, 3, 27), "2026-03-27T23:00"),
        (date(2026, 3, 28), "2026-03-28T23:00"),
        (date(2026, 3, 29), "2026-03-29T22:00"),
        (date(2026, 10, 24), "2026-10-24T22:00"),
        (date(2026, 10, 25), "2026-10-25T23:00"),
    ],
)
def test_prague_midnight_reset_ends(day: date, end: str) -> None:
    assert Calendar(PRAGUE, time(0)).end(day) == utc(end)


def test_prague_days_are_23_and_25_hours_long_at_the_changes() -> None:
    calendar = Calendar(PRAGUE, time(0))
    assert hours(calendar, date(2026, 3, 28)) == 24
    assert hours(calendar, date(2026, 3, 29)) == 23
    assert hours(calendar, date(2026, 10, 25)) == 25


def test_a_reset_inside_the_spring_gap_resolves_with_the_earlier_offset() -> None:
    # 02:30 on 29 March does not exist in Prague; fold=0 reads it with CET, i.e. 01:30 UTC.
    calendar = Calendar(PRAGUE, time(2, 30))
    assert calendar.end(date(2026, 3, 28)) == utc("2026-03-29T01:30")
    assert calendar.end(date(2026, 3, 29)) == utc("2026-03-30T00:30")
    assert hours(calendar, date(2026, 3, 29)) == 23


def test_a_reset_inside_the_autumn_overlap_is_its_first_occurrence() -> None:
    # 02:30 on 25 October happens twice; fold=0 is the first, still CEST: 00:30 UTC.
    calendar = Calendar(PRAGUE, time(2, 30))
    assert calendar.end(date(2026, 10, 24)) == utc("2026-10-25T00:30")
    assert calendar.end(date(2026, 10, 25)) == utc("2026-10-26T01:30")
    assert hours(calendar, date(2026, 10, 25)) == 25


def test_new_york_17_00_reset_around_both_changes() -> None:
    calendar = Calendar(NEW_YORK, time(17))
    assert calendar.end(date(2026, 3, 6)) == utc("2026-03-07T22:00")
    assert calendar.end(date(2026, 3, 7)) == utc("2026-03-08T21:00")
    assert hours(calendar, date(2026, 3, 7)) == 23
    assert calendar.end(date(2026, 10, 30)) == utc("2026-10-31T21:00")
    assert calendar.end(date(2026, 10, 31)) == utc("2026-11-01T22:00")
    assert hours(calendar, date(2026, 10, 31)) == 25


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        ("2026-03-08T20:59:59.999999", date(2026, 3, 7)),
        ("2026-03-08T21:00:00", date(2026, 3, 8)),
        ("2026-03-07T21:59:59", date(2026, 3, 6)),
        ("2026-03-07T22:00:00", date(2026, 3, 7)),
        ("2026-03-09T13:00:00", date(2026, 3, 8)),  # Monday morning is Sunday's trading day
        ("2026-11-01T21:30:00", date(2026, 10, 31)),
        ("2026-11-01T22:00:00", date(2026, 11, 1)),
    ],
)
def test_the_trading_day_of_an_instant_in_new_york(instant: str, day: date) -> None:
    assert Calendar(NEW_YORK, time(17)).day_of(utc(instant)) == day


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        ("2026-03-28T22:59:59", date(2026, 3, 28)),
        ("2026-03-28T23:00:00", date(2026, 3, 29)),
        ("2026-03-29T21:59:59", date(2026, 3, 29)),
        ("2026-03-29T22:00:00", date(2026, 3, 30)),
        ("2026-10-24T21:59:59", date(2026, 10, 24)),
        ("2026-10-24T22:00:00", date(2026, 10, 25)),
        ("2026-10-25T22:59:59", date(2026, 10, 25)),
        ("2026-10-25T23:00:00", date(2026, 10, 26)),
    ],
)
def test_the_trading_day_of_an_instant_in_prague(instant: str, day: date) -> None:
    assert Calendar(PRAGUE, time(0)).day_of(utc(instant)) == day


def test_the_overlap_hour_belongs_to_the_day_after_the_first_reset() -> None:
    calendar = Calendar(PRAGUE, time(2, 30))
    # Between the first 02:30 (00:30 UTC) and the second (01:30 UTC) is already 25 October.
    assert calendar.day_of(utc("2026-10-25T00:29:59")) == date(2026, 10, 24)
    assert calendar.day_of(utc("2026-10-25T00:30:00")) == date(2026, 10, 25)
    assert calendar.day_of(utc("2026-10-25T01:45:00")) == date(2026, 10, 25)


def test_a_day_the_zone_skipped_is_empty_and_holds_no_instant() -> None:
    # Samoa skipped 30 December 2011: its interval is empty, the instant goes to the 31st.
    calendar = Calendar(ZoneInfo("Pacific/Apia"), time(0))
    assert calendar.end(date(2011, 12, 29)) == calendar.end(date(2011, 12, 30))
    assert calendar.day_of(calendar.end(date(2011, 12, 29))) == date(2011, 12, 31)


ZONES = [
    "UTC",
    "Europe/Prague",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "America/Santiago",
    "Africa/Casablanca",
]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    reset=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    instant=st.datetimes(
        min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_every_instant_lies_in_the_interval_of_its_day(
    zone: str, reset: time, instant: datetime
) -> None:
    calendar = Calendar(ZoneInfo(zone), reset)
    day = calendar.day_of(instant)
    assert calendar.start(day) <= instant < calendar.end(day)


@settings(max_examples=100, deadline=None)
@given(zone=st.sampled_from(ZONES), reset=st.times(), day=st.dates(date(2010, 1, 1)))
def test_day_ends_never_go_backwards(zone: str, reset: time, day: date) -> None:
    calendar = Calendar(ZoneInfo(zone), reset.replace(second=0, microsecond=0))
    assert calendar.end(day) <= calendar.end(day + timedelta(days=1))
