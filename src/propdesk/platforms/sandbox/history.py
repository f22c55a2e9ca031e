"""The sandbox's recent prices, for the terminal's chart: each instrument's last bid in every
`BUCKET` of time, kept for `KEEP` (the `sandbox.prune_price_samples` sweep forgets older ones).
Ticks write it (`ticks.apply_tick`, the feed's writes), one row per instrument and interval."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from propdesk.platforms.sandbox.models import Instrument, PriceSample

BUCKET = timedelta(seconds=10)
KEEP = timedelta(hours=6)
SHOWN = timedelta(minutes=30)  # what the chart shows: 180 samples at most


def bucket(at: datetime) -> datetime:
    seconds = int(BUCKET.total_seconds())
    return at.replace(second=at.second - at.second % seconds, microsecond=0)


def record(prices: Iterable[tuple[Instrument, Decimal]], at: datetime) -> None:
    """Each instrument's bid as its sample for the interval `at` falls in."""
    start = bucket(at)
    PriceSample.objects.bulk_create(
        [PriceSample(instrument=instrument, at=start, bid=bid) for instrument, bid in prices],
        update_conflicts=True,
        unique_fields=["instrument", "at"],
        update_fields=["bid"],
    )


def recent(instrument: Instrument, *, now: datetime | None = None) -> list[PriceSample]:
    since = (now or timezone.now()) - SHOWN
    return list(PriceSample.objects.filter(instrument=instrument, at__gte=since).order_by("at"))


def prune() -> int:
    old = PriceSample.objects.filter(at__lt=timezone.now() - KEEP)
    return int(old.delete()[0])
