"""Settings > Sandbox instruments shows the spread and volatility the price feed actually
charges: the spread in points and in price, widened at the rollover by a multiplier staff set,
and the volatility as a typical move in an hour."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.platforms.sandbox import feed
from propdesk.platforms.sandbox.models import Instrument
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

INSTRUMENTS = "/backoffice/settings/trading-platforms/sandbox-instruments/"
XAUUSD = f"{INSTRUMENTS}XAUUSD/"
AFTERNOON = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # a Monday, London and New York open
ROLLOVER = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)
NIGHT = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)


def gold() -> Instrument:
    return Instrument.objects.get(symbol="XAUUSD")


def quoted_spread(at: datetime) -> int:
    """The spread, in points, of the synthetic feed's next XAUUSD tick at `at`."""
    instrument = gold()
    tick = feed.Synthetic([instrument], rate=10, seed=7).next_for(instrument, at)
    return instrument.spec.points(tick.ask) - instrument.spec.points(tick.bid)


def shown_spreads(page: str, symbol: str) -> tuple[int, int, str]:
    """(points outside the rollover, points at it, the words) of a row or the edit page."""
    found = re.search(
        r'data-spread="(\d+)" data-rollover-spread="(\d+)">(.*?)</(td|dd)>',
        page.split(f'data-symbol="{symbol}"', 1)[-1],
    )
    assert found is not None
    return int(found[1]), int(found[2]), words(found[3])


def words(html: str) -> str:
    """What a person reads in a piece of the page: no tags, one space between words."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def edit_form(**overrides: str) -> dict[str, str]:
    instrument = gold()
    data = {
        "description": instrument.description,
        "spread_points": str(instrument.spread_points),
        "rollover_spread_multiplier": str(instrument.rollover_spread_multiplier),
        "volatility_pct": "15",
        "min_volume": "0.01",
        "max_volume": "100",
        "volume_step": "0.01",
        "trading_hours": "",
        "enabled": "on",
    }
    data.update(overrides)
    return data


def test_the_list_shows_the_spread_the_feed_quotes_in_and_out_of_the_rollover(support):
    page = logged_in(support).get(INSTRUMENTS).content.decode()
    normal, rollover, words = shown_spreads(page, "XAUUSD")
    assert (normal, rollover) == (30, 90)
    assert (
        words
        == "30 points (0.30); 90 points (0.90) at the rollover, 21:00\u201323:00 UTC (\u00d73)"
    )
    assert quoted_spread(AFTERNOON) == normal
    assert quoted_spread(NIGHT) == normal
    assert quoted_spread(ROLLOVER) == rollover
    assert quoted_spread(datetime(2026, 12, 7, 22, 59, tzinfo=UTC)) == rollover
    assert quoted_spread(datetime(2026, 12, 7, 23, 0, tzinfo=UTC)) == normal
    eurusd_normal, eurusd_rollover, eurusd_words = shown_spreads(page, "EURUSD")
    assert (eurusd_normal, eurusd_rollover) == (12, 36)
    assert eurusd_words.startswith("12 points (0.00012); 36 points (0.00036)")


def test_the_rollover_multiplier_is_a_setting_the_feed_and_the_page_follow(admin):
    http = logged_in(admin)
    response = post_form(http, XAUUSD, edit_form(rollover_spread_multiplier="1"))
    assert response.status_code == 302
    assert gold().rollover_spread_multiplier == 1
    normal, rollover, words = shown_spreads(http.get(INSTRUMENTS).content.decode(), "XAUUSD")
    assert (normal, rollover) == (30, 30)
    assert words == "30 points (0.30), around the clock"
    assert quoted_spread(ROLLOVER) == 30

    post_form(http, XAUUSD, edit_form(spread_points="25", rollover_spread_multiplier="4"))
    edit_page = http.get(XAUUSD).content.decode()
    assert shown_spreads(edit_page, "XAUUSD") == (
        25,
        100,
        "25 points (0.25); 100 points (1.00) at the rollover, 21:00\u201323:00 UTC (\u00d74)",
    )
    assert (quoted_spread(AFTERNOON), quoted_spread(ROLLOVER)) == (25, 100)
    record = AuditRecord.objects.filter(action=AuditAction.INSTRUMENT_UPDATE).order_by("id").last()
    assert record is not None
    assert record.before["rollover_spread_multiplier"] == 1
    assert record.after["rollover_spread_multiplier"] == 4


def test_a_running_feed_picks_up_the_new_multiplier(admin):
    instruments = [gold()]
    source = feed.Synthetic(instruments, rate=10, seed=7)
    post_form(logged_in(admin), XAUUSD, edit_form(rollover_spread_multiplier="5"))
    feed.refresh(instruments)  # what the running feed does every few seconds
    tick = source.next_for(instruments[0], ROLLOVER)
    spec = instruments[0].spec
    assert spec.points(tick.ask) - spec.points(tick.bid) == 150


def test_volatility_is_shown_as_a_typical_hourly_move_and_is_what_the_feed_moves(admin):
    http = logged_in(admin)
    page = http.get(INSTRUMENTS).content.decode()
    row = page.split('data-symbol="XAUUSD"', 1)[1]
    shown = re.search(r"<td data-volatility>(.*?)</td>", row)
    assert shown is not None
    # 15% a year at 2350.15 (the seeded mid): 0.15 x 2350.15 x sqrt(1 h / 1 year) x 1.5
    assert words(shown[1]) == (
        "15% a year; \u00b15.65 (0.24%) an hour 07:00\u201317:00 UTC; "
        "\u00b13.01 (0.13%) an hour at other times; \u00b11.88 (0.08%) an hour at the rollover"
    )
    # The feed, an hour of ticks a second apart in the afternoon: its hourly move is that.
    instrument = gold()
    source = feed.Synthetic([instrument], rate=1, seed=11)
    mids = [
        float(t.bid + t.ask) / 2
        for t in (
            source.next_for(instrument, AFTERNOON + timedelta(seconds=s)) for s in range(3600)
        )
    ]
    returns = [math.log(b / a) for a, b in itertools.pairwise(mids)]
    mean = sum(returns) / len(returns)
    per_tick = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    hourly_pct = per_tick * math.sqrt(3600) * 100
    assert hourly_pct == pytest.approx(0.24, rel=0.1)

    post_form(http, XAUUSD, edit_form(volatility_pct="30"))
    assert gold().volatility == Decimal("0.3000")
    again = http.get(XAUUSD).content.decode()
    assert "30% a year;<br> \u00b111.30 (0.48%) an hour 07:00\u201317:00 UTC" in again
