"""Settings > Trading platforms > Sandbox instruments: the list, and the edit form for what a
firm tunes (description, spread, volume limits, trading hours, enabled)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from propdesk.core.audit import AuditAction
from propdesk.core.errors import Forbidden, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.platforms import services as platforms
from propdesk.platforms.sandbox import accounts, orders
from propdesk.platforms.sandbox.models import Account, Instrument
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db
D = Decimal

INSTRUMENTS = "/backoffice/settings/trading-platforms/sandbox-instruments/"
EURUSD = f"{INSTRUMENTS}EURUSD/"
SEEDED = ["EURUSD", "GBPUSD", "US500", "USDJPY", "XAUUSD"]
MONDAY_14H = datetime(2024, 6, 10, 14, 0, tzinfo=UTC)
MONDAY_12H = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
SATURDAY_10H = datetime(2024, 6, 8, 10, 0, tzinfo=UTC)
SUNDAY_3H = datetime(2024, 6, 9, 3, 0, tzinfo=UTC)


@pytest.fixture
def account() -> Account:
    made, _password = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    return made


def instrument_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "description": "Euro vs US dollar (firm feed)",
        "spread_points": "20",
        "min_volume": "0.10",
        "max_volume": "50",
        "volume_step": "0.10",
        "trading_hours": "mon-fri 13:30-20:00\r\nsat 08:00-12:00",
        "enabled": "on",
        "rollover_spread_multiplier": "3",
        "volatility_pct": "7",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def eurusd() -> Instrument:
    return Instrument.objects.get(symbol="EURUSD")


def all_instruments() -> list[dict[str, object]]:
    return list(Instrument.objects.order_by("symbol").values())


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_the_five_seeded_instruments_trading_around_the_clock(support):
    response = logged_in(support).get(INSTRUMENTS)
    assert response.status_code == 200
    assert [row[0].symbol for row in response.context["rows"]] == SEEDED
    assert {row[1] for row in response.context["rows"]} == {"Around the clock"}
    page = response.content.decode()
    for symbol in SEEDED:
        assert f'data-symbol="{symbol}"' in page
    assert "Euro vs US dollar" in page
    assert "<td>100,000</td>" in page  # EURUSD's contract size, grouped


def test_the_list_shows_edited_hours_readably(admin):
    http = logged_in(admin)
    post_form(http, EURUSD, instrument_form())
    page = http.get(INSTRUMENTS).content.decode()
    assert "Mon\u2013Fri 13:30\u201320:00, Sat 08:00\u201312:00 UTC" in page


def test_the_trading_platforms_page_and_the_menu_link_to_the_instruments(support):
    http = logged_in(support)
    page = http.get("/backoffice/settings/trading-platforms/").content.decode()
    assert f'href="{INSTRUMENTS}"' in page
    assert "Sandbox instruments" in http.get("/backoffice/trading/accounts/").content.decode()


# --- who may see and do what ---------------------------------------------------------------------


def test_support_views_the_list_without_edit_links(support):
    page = logged_in(support).get(INSTRUMENTS).content.decode()
    assert f'href="{EURUSD}"' not in page


@pytest.mark.parametrize("role", ["Support", "Finance"])
def test_staff_without_platforms_manage_cannot_open_or_post_the_edit_form(staff_factory, role):
    http = logged_in(staff_factory(role))
    before = all_instruments()
    assert http.get(EURUSD).status_code == 403
    response = post_form(http, EURUSD, instrument_form())
    assert response.status_code == 403
    assert b"Not allowed" in response.content
    assert all_instruments() == before
    assert not AuditRecord.objects.filter(action=AuditAction.INSTRUMENT_UPDATE).exists()


def test_staff_without_platforms_view_are_kept_out_of_the_list(compliance):
    assert logged_in(compliance).get(INSTRUMENTS).status_code == 403


def test_the_use_case_refuses_an_actor_without_platforms_manage(support):
    with pytest.raises(Forbidden):
        platforms.save_instrument(
            "EURUSD",
            description="x",
            spread_points=1,
            min_volume="0.01",
            max_volume="10",
            volume_step="0.01",
            trading_hours="",
            actor=support,
        )
    assert eurusd().spread_points == 12


# --- editing -------------------------------------------------------------------------------------


def test_the_edit_form_shows_the_fixed_fields_and_the_current_values(admin):
    response = logged_in(admin).get(EURUSD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "EUR / USD" in page
    assert "100000" in page
    assert 'name="symbol"' not in page
    assert 'name="digits"' not in page
    assert 'name="contract_size"' not in page
    assert 'value="12"' in page
    assert response.context["form"]["trading_hours"].value() == ""


def test_editing_spread_volumes_and_hours_saves_them_and_is_audited(admin):
    http = logged_in(admin)
    response = post_form(http, EURUSD, instrument_form(enabled=None))
    assert response.status_code == 302
    instrument = eurusd()
    assert instrument.description == "Euro vs US dollar (firm feed)"
    assert instrument.spread_points == 20
    assert (instrument.min_volume, instrument.max_volume, instrument.volume_step) == (
        D("0.10"),
        D("50.00"),
        D("0.10"),
    )
    assert instrument.trading_hours == [
        {"days": "mon-fri", "open": "13:30", "close": "20:00"},
        {"days": "sat", "open": "08:00", "close": "12:00"},
    ]
    assert not instrument.enabled
    assert instrument.digits == 5
    assert instrument.contract_size == 100_000
    record = AuditRecord.objects.get(action=AuditAction.INSTRUMENT_UPDATE)
    assert record.actor == admin
    assert record.object_id == "EURUSD"
    assert record.before["spread_points"] == 12
    assert record.before["trading_hours"] == []
    assert record.before["enabled"] is True
    assert record.after["spread_points"] == 20
    assert record.after["min_volume"] == "0.10"
    assert record.after["trading_hours"] == instrument.trading_hours
    assert record.after["enabled"] is False
    form = http.get(EURUSD).context["form"]
    assert form["trading_hours"].value() == "mon-fri 13:30-20:00\nsat 08:00-12:00"


def test_times_and_days_are_written_in_the_stored_form(admin):
    hours = "  MON - FRI  8:00 - 17:30 \n\n fri-mon 22:00-24:00  "
    post_form(logged_in(admin), EURUSD, instrument_form(trading_hours=hours))
    assert eurusd().trading_hours == [
        {"days": "mon-fri", "open": "08:00", "close": "17:30"},
        {"days": "fri-mon", "open": "22:00", "close": "24:00"},
    ]


def test_an_order_outside_the_new_hours_is_refused_and_one_inside_is_filled(admin, account):
    response = post_form(logged_in(admin), EURUSD, instrument_form())
    assert response.status_code == 302
    for closed in (SATURDAY_10H.replace(hour=13), MONDAY_12H, SUNDAY_3H):
        with pytest.raises(orders.MarketClosed):
            orders.place_order(account, symbol="EURUSD", side="buy", volume="1", now=closed)
    assert not account.positions.exists()
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1", now=MONDAY_14H)
    assert position.volume == D("1.00")
    orders.place_order(account, symbol="EURUSD", side="sell", volume="1", now=SATURDAY_10H)


def test_the_new_volume_limits_apply_to_orders(admin, account):
    post_form(logged_in(admin), EURUSD, instrument_form(trading_hours=""))
    for volume in ("0.05", "0.15", "51"):
        with pytest.raises(ValidationFailed):
            orders.place_order(account, symbol="EURUSD", side="buy", volume=volume)
    assert orders.place_order(account, symbol="EURUSD", side="buy", volume="0.30").volume == D(
        "0.30"
    )


def test_emptying_the_hours_opens_the_market_around_the_clock_again(admin, account):
    http = logged_in(admin)
    post_form(http, EURUSD, instrument_form())
    assert post_form(http, EURUSD, instrument_form(trading_hours="")).status_code == 302
    assert eurusd().trading_hours == []
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1", now=SUNDAY_3H)


def test_a_disabled_instrument_takes_no_orders(admin, account):
    post_form(logged_in(admin), EURUSD, instrument_form(trading_hours="", enabled=None))
    with pytest.raises(ValidationFailed):
        orders.place_order(account, symbol="EURUSD", side="buy", volume="1")


def test_the_use_case_takes_hours_in_the_stored_list_form_too(admin):
    windows = [{"days": "Mon-Fri", "open": "9:00", "close": "17:00"}]
    platforms.save_instrument(
        "US500",
        description="US 500 stock index",
        spread_points=50,
        min_volume="1",
        max_volume="100",
        volume_step="1",
        trading_hours=windows,
        actor=admin,
    )
    stored = Instrument.objects.get(symbol="US500").trading_hours
    assert stored == [{"days": "mon-fri", "open": "09:00", "close": "17:00"}]


def test_an_unknown_symbol_is_not_found(admin):
    assert logged_in(admin).get(f"{INSTRUMENTS}NOPE/").status_code == 404


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"trading_hours": "mon-fri 08:00-17:00\nfunday 08:00-12:00"},
            "trading_hours",
            "Line 2 (funday 08:00-12:00): funday is not a day",
        ),
        ({"trading_hours": "mon-fri 08:00-25:00"}, "trading_hours", "25:00 is not a time of day"),
        ({"trading_hours": "mon-fri 08:60-17:00"}, "trading_hours", "08:60 is not a time of day"),
        (
            {"trading_hours": "sat 12:00-08:00"},
            "trading_hours",
            "Line 1 (sat 12:00-08:00): the window opens at 12:00 and closes at 08:00",
        ),
        ({"trading_hours": "sat 08:00-08:00"}, "trading_hours", "must open before it closes"),
        (
            {"trading_hours": "sun 10:00-12:00\nweekdays all day"},
            "trading_hours",
            "Line 2 (weekdays all day): write a window as days and UTC times",
        ),
        ({"min_volume": "5", "max_volume": "1"}, "max_volume", "below the minimum"),
        ({"volume_step": "0"}, "volume_step", "Volume step is from 0.01 to 1000 lots"),
        ({"volume_step": "-0.10"}, "volume_step", "Volume step is from 0.01 to 1000 lots"),
        ({"min_volume": "0.05"}, "min_volume", "multiple of the volume step (0.10)"),
        ({"max_volume": "50.05"}, "max_volume", "multiple of the volume step (0.10)"),
        ({"max_volume": "1000.10"}, "max_volume", "from 0.01 to 1000 lots"),
        ({"min_volume": "0.015"}, "min_volume", "at most 2 decimal places"),
        ({"min_volume": "lots"}, "min_volume", "must be a number"),
        ({"spread_points": "-1"}, "spread_points", "whole number of points, from 0 to 100000"),
        ({"spread_points": "100001"}, "spread_points", "whole number of points, from 0 to 100000"),
        ({"spread_points": "9" * 19}, "spread_points", "whole number of points"),
        ({"spread_points": "1.5"}, "spread_points", "whole number of points"),
        ({"description": "x" * 101}, "description", "at most 100 characters"),
        ({"rollover_spread_multiplier": "0"}, "rollover_spread_multiplier", "from 1 (no widening)"),
        ({"rollover_spread_multiplier": "11"}, "rollover_spread_multiplier", "to 10"),
        ({"rollover_spread_multiplier": "2.5"}, "rollover_spread_multiplier", "whole number"),
        ({"rollover_spread_multiplier": "x"}, "rollover_spread_multiplier", "whole number"),
        ({"volatility_pct": "0"}, "volatility_pct", "from 0.01 to 500 percent a year"),
        ({"volatility_pct": "501"}, "volatility_pct", "from 0.01 to 500 percent a year"),
        ({"volatility_pct": "-5"}, "volatility_pct", "from 0.01 to 500 percent a year"),
        ({"volatility_pct": "1e999"}, "volatility_pct", "Volatility"),
        ({"volatility_pct": "wild"}, "volatility_pct", "must be a number"),
        ({"volatility_pct": "7.125"}, "volatility_pct", "at most 2 decimal places"),
    ],
)
def test_bad_input_shows_a_field_error_and_changes_nothing(admin, overrides, field, message):
    before = all_instruments()
    response = post_form(logged_in(admin), EURUSD, instrument_form(**overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert all_instruments() == before
    assert not AuditRecord.objects.filter(action=AuditAction.INSTRUMENT_UPDATE).exists()


def test_a_round_volatility_reopens_as_a_plain_number_and_saves_again(admin):
    http = logged_in(admin)
    assert post_form(http, EURUSD, instrument_form(volatility_pct="20")).status_code == 302
    form = http.get(EURUSD).content.decode()
    assert 'name="volatility_pct" value="20"' in form
    assert "E+" not in form
    assert post_form(http, EURUSD, instrument_form(volatility_pct="20")).status_code == 302
    assert eurusd().volatility == Decimal("0.2")
