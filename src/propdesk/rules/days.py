"""Trading days: when each one ends, and which one holds an instant (docs/rules.md)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .model import UTC

ONE_DAY = timedelta(days=1)


def period_last_day(start: date, period_days: int | None) -> date | None:
    """The trading period's last day; None when unlimited or past the calendar's end (a period
    that long can never end, since no event can be that late)."""
    if period_days is None or start.toordinal() + period_days - 1 > date.max.toordinal():
        return None
    return date.fromordinal(start.toordinal() + period_days - 1)


# Stand-ins for the ends of days that `datetime` cannot hold (day 9999-12-31 never ends).
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
START_OF_TIME = datetime.min.replace(tzinfo=UTC)


class Calendar:
    """The trading days of one time zone and day-reset time.

    Day `d` is `[end(d - 1), end(d))`, where `end(d)` is the wall time `reset` on `d + 1`
    resolved with fold=0, as zoneinfo does. The ends are returned in UTC so that comparing them
    with any aware instant is exact (two datetimes sharing a ZoneInfo compare by wall time).
    """

    __slots__ = ("reset", "shift", "zone")

    def __init__(self, zone: ZoneInfo, reset: time) -> None:
        self.zone = zone
        self.reset = reset
        self.shift = timedelta(hours=reset.hour, minutes=reset.minute)

    def end(self, day: date) -> datetime:
        """The instant at which trading day `day` ends."""
        if day == date.max:
            return END_OF_TIME
        wall = datetime.combine(day + ONE_DAY, self.reset, tzinfo=self.zone)
        return wall.astimezone(UTC)

    def start(self, day: date) -> datetime:
        """The instant at which trading day `day` begins (the previous day's end)."""
        if day == date.min:
            return START_OF_TIME
        return self.end(day - ONE_DAY)

    def day_of(self, t: datetime) -> date:
        """The trading day whose interval holds the aware instant `t`."""
        local = t.astimezone(self.zone).replace(tzinfo=None)
        # Away from daylight-saving changes the guess is right; near them it is off by at most a
        # day, and walking by the exact ends settles it (ends never go backwards).
        day = (local - self.shift).date() if local - datetime.min >= self.shift else date.min
        while t >= self.end(day):
            day += ONE_DAY
        while t < self.start(day):
            day -= ONE_DAY
        return day
