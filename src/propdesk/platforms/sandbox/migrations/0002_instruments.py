"""The sandbox's instruments, their first quotes, its trading server and the stream's lock."""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone

INSTRUMENTS = [
    # symbol, description, base, quote, digits, contract size, spread (points), volatility,
    # start price
    ("EURUSD", "Euro vs US dollar", "EUR", "USD", 5, 100_000, 12, "0.07", "1.08500"),
    ("GBPUSD", "British pound vs US dollar", "GBP", "USD", 5, 100_000, 15, "0.08", "1.26500"),
    ("USDJPY", "US dollar vs Japanese yen", "USD", "JPY", 3, 100_000, 14, "0.09", "151.500"),
    ("XAUUSD", "Gold vs US dollar", "XAU", "USD", 2, 100, 30, "0.15", "2350.00"),
    ("US500", "US 500 stock index", "", "USD", 2, 1, 50, "0.18", "5200.00"),
]


def seed(apps, schema_editor):
    Instrument = apps.get_model("sandbox", "Instrument")
    Quote = apps.get_model("sandbox", "Quote")
    TradingServer = apps.get_model("platforms", "TradingServer")
    StreamLock = apps.get_model("sandbox", "StreamLock")
    now = timezone.now()
    for symbol, text, base, quote, digits, size, spread, vol, start in INSTRUMENTS:
        instrument, made = Instrument.objects.get_or_create(
            symbol=symbol,
            defaults={
                "description": text,
                "base_currency": base,
                "quote_currency": quote,
                "digits": digits,
                "contract_size": size,
                "spread_points": spread,
                "volatility": Decimal(vol),
                "start_price": Decimal(start),
            },
        )
        if made:
            bid = Decimal(start)
            ask = bid + Decimal(spread).scaleb(-digits)
            Quote.objects.create(instrument=instrument, bid=bid, ask=ask, at=now)
    TradingServer.objects.get_or_create(
        name="Sandbox",
        defaults={"kind": "sandbox", "demo_groups": ["demo"], "live_groups": ["live"]},
    )
    StreamLock.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("sandbox", "0001_initial"), ("platforms", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
