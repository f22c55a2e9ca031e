"""The sandbox platform: exact profit per instrument, partial closes, stop loss and take profit
on the tick that crosses them, stop-out, refusals that change nothing, and the event stream."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from propdesk.cli import main as propdesk
from propdesk.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from propdesk.platforms import adapters
from propdesk.platforms.sandbox import accounts, auth, orders, stream, ticks, valuation
from propdesk.platforms.sandbox.models import Deal, Event, Instrument, Position

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def account():
    made, _password = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    return made


def tick(symbol, bid, ask):
    return ticks.apply_tick(symbol, D(bid), D(ask))


def fresh(account):
    return type(account).objects.get(pk=account.pk)


def test_a_eurusd_buy_makes_exactly_the_price_move_times_the_contract(account):
    tick("EURUSD", "1.08500", "1.08512")
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    assert position.open_price == D("1.08512")
    tick("EURUSD", "1.08612", "1.08624")
    state = valuation.state(fresh(account))
    assert state.positions[0].profit == D("100.00")
    assert state.equity == D("100100.00")
    deal = orders.close_position(account, position.pk)
    assert deal.profit == D("100.00")
    assert fresh(account).balance == D("100100.00")


def test_a_jpy_pair_converts_its_profit_at_the_pairs_own_price(account):
    tick("USDJPY", "151.500", "151.514")
    position = orders.place_order(account, symbol="USDJPY", side="buy", volume="1.00")
    tick("USDJPY", "152.014", "152.028")
    # 0.5 yen x 100,000 = 50,000 JPY, in USD at 152.014, to the cent (half to even).
    exact = Fraction(50_000) / Fraction("152.014")
    expected = D(round(exact * 100)) / 100
    deal = orders.close_position(account, position.pk)
    assert deal.profit == expected == D("328.92")


def test_a_gold_sell_gains_when_gold_falls(account):
    tick("XAUUSD", "2350.00", "2350.30")
    position = orders.place_order(account, symbol="XAUUSD", side="sell", volume="0.50")
    assert position.open_price == D("2350.00")
    tick("XAUUSD", "2340.00", "2340.30")
    deal = orders.close_position(account, position.pk)
    assert deal.price == D("2340.30")  # a sell closes at the ask
    assert deal.profit == D("485.00")  # (2350.00 - 2340.30) x 0.5 x 100


def test_a_partial_close_books_its_share_and_keeps_the_rest_open(account):
    tick("EURUSD", "1.08500", "1.08510")
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    margin = position.margin
    tick("EURUSD", "1.08710", "1.08720")
    deal = orders.close_position(account, position.pk, volume="0.40")
    assert deal.volume == D("0.40")
    assert deal.profit == D("80.00")  # 0.00200 x 40,000
    position.refresh_from_db()
    assert position.volume == D("0.60")
    assert position.closed_at is None
    assert position.margin == margin - (margin * D("0.4")).quantize(D("0.01"))
    last_event = Event.objects.order_by("-id").first()
    assert last_event.payload["type"] == "equity"  # the part shows in the balance only
    assert last_event.payload["balance"] == "100080.00"
    rest = orders.close_position(account, position.pk)
    assert rest.profit == D("120.00")
    assert fresh(account).balance == D("100200.00")
    out = Event.objects.filter(payload__type="deal", payload__entry="out").get()
    assert out.payload["volume"] == "1.00"  # the trade's end: its whole volume...
    assert out.payload["profit"] == "200.00"  # ...and its net result, the part included


def test_a_stop_loss_fills_on_the_tick_that_crosses_it_and_not_before(account):
    tick("EURUSD", "1.08500", "1.08512")
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00", sl="1.08400")
    assert tick("EURUSD", "1.08401", "1.08413") == []
    [deal] = tick("EURUSD", "1.08390", "1.08402")
    assert deal.reason == Deal.Reason.STOP_LOSS
    assert deal.price == D("1.08390")  # the market at the crossing tick
    assert deal.profit == D("-122.00")
    position.refresh_from_db()
    assert position.closed_at is not None


def test_a_sell_take_profit_fills_when_the_ask_reaches_it(account):
    tick("GBPUSD", "1.26500", "1.26515")
    orders.place_order(account, symbol="GBPUSD", side="sell", volume="2.00", tp="1.26300")
    assert tick("GBPUSD", "1.26290", "1.26305") == []  # the ask has not reached it yet
    [deal] = tick("GBPUSD", "1.26285", "1.26300")
    assert deal.reason == Deal.Reason.TAKE_PROFIT
    assert deal.profit == D("400.00")  # (1.26500 - 1.26300) x 200,000


def test_stop_out_closes_the_worst_position_when_margin_level_falls_below_it():
    small, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=500, balance="1000"
    )
    tick("EURUSD", "1.08500", "1.08512")
    orders.place_order(small, symbol="EURUSD", side="buy", volume="4.00")
    state = valuation.state(fresh(small))
    assert state.margin == D("868.10")  # 4 x 100,000 x 1.08512 / 500
    assert tick("EURUSD", "1.08420", "1.08432") == []  # equity 632.00: level 72.8%
    [deal] = tick("EURUSD", "1.08360", "1.08372")  # equity 392.00: 45.2% < 50%
    assert deal.reason == Deal.Reason.STOP_OUT
    assert deal.profit == D("-608.00")
    assert fresh(small).balance == D("392.00")
    assert valuation.state(fresh(small)).positions == ()


def test_not_enough_free_margin_is_refused_and_changes_nothing(account):
    before = (Position.objects.count(), Deal.objects.count(), Event.objects.count())
    with pytest.raises(Conflict) as refused:
        orders.place_order(account, symbol="XAUUSD", side="buy", volume="100")
    assert refused.value.code == "not_enough_margin"
    assert (Position.objects.count(), Deal.objects.count(), Event.objects.count()) == before


def test_a_disabled_account_cannot_open_trades(account):
    accounts.set_trading_enabled(account, False, reason="breach")
    with pytest.raises(Conflict) as refused:
        orders.place_order(account, symbol="EURUSD", side="buy", volume="0.10")
    assert refused.value.code == "trading_disabled"
    assert not Position.objects.exists()


def test_a_closed_market_refuses_orders(account):
    Instrument.objects.filter(symbol="US500").update(
        trading_hours=[{"days": "mon-fri", "open": "13:30", "close": "20:00"}]
    )
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    with pytest.raises(Conflict) as refused:
        orders.place_order(account, symbol="US500", side="buy", volume="1", now=saturday)
    assert refused.value.code == "market_closed"
    monday = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert orders.place_order(account, symbol="US500", side="buy", volume="1", now=monday)


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({"symbol": "DOGEUSD"}, "symbol"),
        ({"symbol": None}, "symbol"),
        ({"side": "hold"}, "side"),
        ({"volume": "0"}, "volume"),
        ({"volume": "0.015"}, "volume"),
        ({"volume": "100.01"}, "volume"),
        ({"volume": "lots"}, "volume"),
        ({"volume": "NaN"}, "volume"),
        ({"volume": True}, "volume"),
        ({"sl": "1.085001"}, "sl"),
        ({"sl": "2.00000"}, "sl"),  # a buy's stop loss above the market
        ({"tp": "1.00000"}, "tp"),  # a buy's take profit below the market
        ({"tp": "-1"}, "tp"),
    ],
)
def test_bad_orders_name_the_field_and_change_nothing(account, order, field):
    wanted = {"symbol": "EURUSD", "side": "buy", "volume": "1.00", **order}
    with pytest.raises(ValidationFailed) as refused:
        orders.place_order(account, **wanted)
    assert field in refused.value.fields
    assert not Position.objects.exists()


@pytest.mark.parametrize(
    ("symbol", "bid", "ask", "order", "field", "message"),
    [
        (
            "EURUSD", "1.08320", "1.08332", {"side": "buy", "sl": "1.0845"}, "sl",
            "Stop loss 1.08450 must be below the current bid 1.08320.",
        ),
        (
            "EURUSD", "1.08320", "1.08332", {"side": "buy", "tp": "1.08"}, "tp",
            "Take profit 1.08000 must be above the current bid 1.08320.",
        ),
        (
            "EURUSD", "1.08320", "1.08332", {"side": "sell", "sl": "1.08332"}, "sl",
            "Stop loss 1.08332 must be above the current ask 1.08332.",
        ),
        (
            "EURUSD", "1.08320", "1.08332", {"side": "sell", "tp": "1.09"}, "tp",
            "Take profit 1.09000 must be below the current ask 1.08332.",
        ),
        (
            "USDJPY", "151.5", "151.514", {"side": "buy", "sl": "152"}, "sl",
            "Stop loss 152.000 must be below the current bid 151.500.",
        ),
        (
            "USDJPY", "151.5", "151.514", {"side": "sell", "tp": "151.6"}, "tp",
            "Take profit 151.600 must be below the current ask 151.514.",
        ),
    ],
)  # fmt: skip
def test_a_level_on_the_wrong_side_says_where_it_must_be_at_the_instruments_digits(
    account, symbol, bid, ask, order, field, message
):
    tick(symbol, bid, ask)
    with pytest.raises(ValidationFailed) as refused:
        orders.place_order(account, symbol=symbol, volume="0.10", **order)
    assert refused.value.fields == {field: message}
    assert not Position.objects.exists()


def test_both_levels_on_the_wrong_side_are_reported_together(account):
    tick("EURUSD", "1.08320", "1.08332")
    with pytest.raises(ValidationFailed) as refused:
        orders.place_order(
            account, symbol="EURUSD", side="buy", volume="0.10", sl="1.09", tp="1.07"
        )
    assert set(refused.value.fields) == {"sl", "tp"}


def test_closing_someone_elses_or_a_closed_position_is_not_found(account):
    other, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="1000"
    )
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="0.10")
    with pytest.raises(NotFound):
        orders.close_position(other, position.pk)
    for too_much in ("-1", "0.11", "0.005", "many"):
        with pytest.raises(ValidationFailed):
            orders.close_position(account, position.pk, volume=too_much)
    orders.close_position(account, position.pk)
    with pytest.raises(NotFound):
        orders.close_position(account, position.pk)


def test_balance_operations_credit_and_a_debit_beyond_free_margin_is_refused(account):
    platform = adapters.platform(accounts.default_server())
    record = platform.balance_operation(account.login, D("250.50"), "Bonus", key="bonus-1")
    assert record.kind == "balance"
    assert platform.account_state(account.login).balance == D("100250.50")
    with pytest.raises(Conflict):
        platform.balance_operation(account.login, D("-200000"), "Too much", key="debit-1")
    assert platform.account_state(account.login).balance == D("100250.50")


def test_the_stream_resumes_from_a_cursor_with_nothing_lost_or_repeated(account):
    server = accounts.default_server()
    for volume in ("0.10", "0.20", "0.30"):
        position = orders.place_order(account, symbol="EURUSD", side="buy", volume=volume)
        orders.close_position(account, position.pk)
    everything = stream.events(after=0, limit=10_000, server=server)
    first = stream.events(after=0, limit=4, server=server)
    rest = []
    cursor = first[-1].pk
    while batch := stream.events(after=cursor, limit=3, server=server):
        rest += batch
        cursor = batch[-1].pk
    assert [e.pk for e in first + rest] == [e.pk for e in everything]
    assert len({e.pk for e in everything}) == len(everything)
    kinds = [(e.payload["type"], e.payload.get("entry")) for e in everything]
    assert kinds[0] == ("equity", None)  # the account's first event: its opening balance
    assert kinds.count(("deal", "in")) == kinds.count(("deal", "out")) == 3
    times = [datetime.fromisoformat(e.payload["t"]) for e in everything]
    assert times == sorted(times)


def test_the_stream_is_valid_input_for_the_rule_evaluator(account, tmp_path, capsys):
    """What the sandbox streams, the rule evaluator reads as spec/rules.md's events."""
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="0.50")
    tick("EURUSD", "1.08600", "1.08612")
    orders.close_position(account, position.pk, volume="0.20")  # a part first
    orders.close_position(account, position.pk)
    lines = [json.dumps(e.payload) for e in stream.events(account=account)]
    events_file = tmp_path / "events.jsonl"
    events_file.write_text("\n".join(lines) + "\n")
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(
        json.dumps(
            {
                "initial_balance": "100000.00",
                "timezone": "UTC",
                "profit_target_pct": "8",
                "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
                "max_loss": {"pct": "10", "mode": "static"},
            }
        )
    )
    code = propdesk(["rules", "replay", str(rules_file), str(events_file)])
    output = capsys.readouterr()
    assert code == 0, output.err
    assert json.loads(output.out.splitlines()[0])["status"] == "in_progress"


def test_the_cli_prints_credentials_that_open_the_trading_api(client, capsys):
    assert propdesk(["sandbox", "create-account", "--balance", "100000", "--leverage", "50"]) == 0
    credentials = json.loads(capsys.readouterr().out)
    assert set(credentials) == {"login", "password", "server"}
    account = auth.authenticate(credentials["login"], credentials["password"])
    assert account.leverage == 50
    assert account.balance == D("100000.00")


@pytest.mark.parametrize("args", [["--balance", "-1"], ["--balance", "1", "--leverage", "0"]])
def test_the_cli_refuses_bad_accounts(args, capsys):
    assert propdesk(["sandbox", "create-account", *args]) == 2
    assert "refused" in capsys.readouterr().err


def test_an_instrument_no_price_converts_to_the_account_currency_is_refused():
    euro, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="1000", currency="EUR"
    )
    with pytest.raises(Conflict, match="No price converts JPY"):
        orders.place_order(euro, symbol="USDJPY", side="buy", volume="0.10")
    assert not Position.objects.exists()


def test_a_yen_account_closes_part_of_a_position_in_whole_yen():
    yen, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="20000000", currency="JPY"
    )
    position = orders.place_order(yen, symbol="USDJPY", side="buy", volume="1.00")
    assert position.margin == position.margin.to_integral_value()
    orders.close_position(yen, position.pk, volume="0.01")
    position.refresh_from_db()
    assert position.margin == position.margin.to_integral_value()
    assert position.volume == D("0.99")


def test_failed_logins_from_elsewhere_do_not_lock_the_trader_out(account):
    _, password = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="1000"
    )
    login = type(account).objects.order_by("-id").first().login
    for _ in range(8):
        with pytest.raises(DomainError):
            auth.authenticate(login, "guessing", ip="203.0.113.9")
    assert auth.authenticate(login, password, ip="198.51.100.7").login == login
