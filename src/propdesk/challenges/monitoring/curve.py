"""A stage's equity curve, as the monitor sees it: five-minute buckets, each keeping the lowest
and highest equity in it and the equity and balance it ended on, so a chart of a month shows
every dip that came near a floor without a row per snapshot.

The bucket still filling lives on the attempt (`curve_open`, saved with the evaluator's state);
a bucket is written as a `CurvePoint` once a later snapshot starts the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from propdesk.challenges.models import CurvePoint, StageAttempt
from propdesk.rules.figures import Figures
from propdesk.rules.model import Equity, decimal_text, format_time
from propdesk.rules.parse import parse_time

BUCKET = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_of(t: datetime) -> datetime:
    return t - (t - _EPOCH) % BUCKET


def take(attempt: StageAttempt, snaps: Iterable[Equity]) -> list[CurvePoint]:
    """Fold snapshots into the attempt's open bucket; returns the buckets they closed (to be
    saved by the caller, with the attempt)."""
    closed: list[CurvePoint] = []
    open_ = attempt.curve_open
    for snap in snaps:
        start = bucket_of(snap.t)
        equity, balance = str(snap.equity), str(snap.balance)
        if open_ is not None and parse_time(open_["t"]) < start:
            closed.append(_point(attempt, open_))
            open_ = None
        if open_ is None:
            open_ = {"t": format_time(start), "low": equity, "high": equity}
        elif parse_time(open_["t"]) > start:
            continue  # older than the bucket already open: platforms never go back, ignore
        if snap.equity < Decimal(open_["low"]):
            open_["low"] = equity
        if snap.equity > Decimal(open_["high"]):
            open_["high"] = equity
        open_["equity"], open_["balance"] = equity, balance
    attempt.curve_open = open_
    return closed


def _point(attempt: StageAttempt, bucket: dict[str, Any]) -> CurvePoint:
    return CurvePoint(
        attempt=attempt,
        t=parse_time(bucket["t"]),
        low=Decimal(bucket["low"]),
        high=Decimal(bucket["high"]),
        equity=Decimal(bucket["equity"]),
        balance=Decimal(bucket["balance"]),
    )


def points(attempt: StageAttempt) -> list[dict[str, str]]:
    """The whole curve, oldest first, JSON-ready (decimals as text, times as UTC `...Z`)."""
    rows = [
        {
            "t": format_time(p.t),
            "low": str(p.low),
            "high": str(p.high),
            "equity": str(p.equity),
            "balance": str(p.balance),
        }
        for p in CurvePoint.objects.filter(attempt=attempt).order_by("t")
    ]
    if attempt.curve_open is not None:
        rows.append(dict(attempt.curve_open))
    return rows


def chart_data(
    attempt: StageAttempt | None, figures: Figures | None, currency: str
) -> dict[str, Any]:
    """What chart.js draws with uPlot (static/challenges/chart.js): the curve's buckets and the
    horizontal lines of the target and the floors, the times read in the current time zone."""
    lines = []
    if figures is not None:
        for key, label, value in (
            ("target", "Profit target", figures.target_balance),
            ("daily", "Daily-loss floor", figures.daily_loss_floor),
            ("max", "Max-loss floor", figures.max_loss_floor),
        ):
            if value is not None:
                lines.append({"key": key, "label": label, "value": decimal_text(value)})
    return {
        "currency": currency,
        "time_zone": timezone.get_current_timezone_name(),
        "points": points(attempt) if attempt is not None else [],
        "lines": lines,
    }


def in_words(chart: dict[str, Any]) -> dict[str, Any] | None:
    """The curve of `chart_data` for whoever cannot see the chart: its first and last bucket,
    where equity began and ended, its lowest and highest, and one row per calendar day (in the
    chart's time zone) with that day's lowest, highest and closing figures. None without a
    point yet."""
    points = chart["points"]
    if not points:
        return None
    zone = ZoneInfo(chart["time_zone"])
    days: dict[date, dict[str, Any]] = {}
    for p in points:
        low, high = Decimal(p["low"]), Decimal(p["high"])
        day = days.setdefault(
            parse_time(p["t"]).astimezone(zone).date(), {"low": low, "high": high}
        )
        day["low"], day["high"] = min(day["low"], low), max(day["high"], high)
        day["equity"], day["balance"] = Decimal(p["equity"]), Decimal(p["balance"])
    first, last = points[0], points[-1]
    return {
        "start": _local(first["t"], zone),
        "end": _local(last["t"], zone),
        "zone": chart["time_zone"],
        "opened": Decimal(first["equity"]),
        "equity": Decimal(last["equity"]),
        "balance": Decimal(last["balance"]),
        "lowest": min(row["low"] for row in days.values()),
        "highest": max(row["high"] for row in days.values()),
        "lines": [
            {"label": line["label"], "value": Decimal(line["value"])} for line in chart["lines"]
        ],
        "days": [{"day": day, **row} for day, row in days.items()],
    }


def _local(t: str, zone: ZoneInfo) -> str:
    return f"{parse_time(t).astimezone(zone):%Y-%m-%d %H:%M}"
