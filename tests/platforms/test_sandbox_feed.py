"""The feed's book against the use cases' exact valuation, what it writes to the stream, and
the price sources."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from propdesk.platforms.sandbox import accounts, engine, feed, stream, valuation
from propdesk.platforms.sandbox import orders as sandbox_orders
from propdesk.platforms.sandbox import ticks as sandbox_ticks
from propdesk.platforms.sandbox.models import Account, Deal, Event, Instrument, Quote

pytestmark = pytest.mark.django_db
D = Decimal


def open_account(balance="100000", currency="USD", leverage=100):
    account, _ = accounts.create_account(
        accounts.default_server(),
        group="demo",
        leverage=leverage,
        balance=balance,
        currency=currency,
    )
    return account


def test_the_books_equity_is_the_use_cases_equity_to_the_cent_tick_after_tick():
    rng = random.Random(5)
    usd, eur = open_account(), open_account(currency="EUR")
    orders = [
        ("EURUSD", "buy", "1.30"),
        ("USDJPY", "sell", "0.70"),  # yen profits, converted at USDJPY (USD accounts only)
        ("XAUUSD", "buy", "0.05"),
        ("US500", "sell", "3"),
        ("GBPUSD", "sell", "0.01"),
    ]
    for account in (usd, eur):
        for symbol, side, volume in orders:
            if account.currency == "EUR" and symbol == "USDJPY":
                continue
            sandbox_orders.place_order(account, symbol=symbol, side=side, volume=volume)
    running = feed.Feed()
    instruments = list(Instrument.objects.all())
    for _ in range(60):
        instrument = rng.choice(instruments)
        quote = Quote.objects.get(instrument=instrument)
        step = D(rng.randint(-40, 40) * instrument.spread_points).scaleb(-instrument.digits)
        tick = feed.Tick(instrument.symbol, quote.bid + step, quote.ask + step)
        running.step(tick)
        running.flush()
        for account in (usd, eur):
            exact = valuation.state(Account.objects.get(pk=account.pk)).equity
            assert D(running.book.equity(account.pk)).scaleb(-2) == exact


def test_a_stop_loss_is_filled_by_the_feed_at_the_crossing_ticks_price():
    account = open_account()
    sandbox_ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    sandbox_orders.place_order(account, symbol="EURUSD", side="sell", volume="1.00", sl="1.08700")
    running = feed.Feed()
    assert running.step(feed.Tick("EURUSD", D("1.08680"), D("1.08692"))) == []
    [deal] = running.step(feed.Tick("EURUSD", D("1.08695"), D("1.08707")))
    assert deal.reason == Deal.Reason.STOP_LOSS
    assert deal.price == D("1.08707")
    assert deal.profit == D("-207.00")


def test_the_feed_stops_out_an_account_below_its_level():
    account = open_account(balance="1000", leverage=500)
    sandbox_ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    sandbox_orders.place_order(account, symbol="EURUSD", side="buy", volume="4.00")
    running = feed.Feed()
    [deal] = running.step(feed.Tick("EURUSD", D("1.08360"), D("1.08372")))
    assert deal.reason == Deal.Reason.STOP_OUT
    assert Account.objects.get(pk=account.pk).balance == D("392.00")


def test_equity_snapshots_mark_new_lows_and_highs_and_skip_what_stays_inside():
    account = open_account()
    sandbox_ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    sandbox_orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    running = feed.Feed()
    running.flush()
    start = Event.objects.order_by("-id").first().pk

    def written():
        running.flush()
        return [
            e.payload["equity"]
            for e in Event.objects.filter(pk__gt=start, account=account, from_feed=True)
        ]

    running.step(feed.Tick("EURUSD", D("1.08450"), D("1.08462")))  # a new low: 99938.00
    running.step(feed.Tick("EURUSD", D("1.08480"), D("1.08492")))  # inside the range
    running.step(feed.Tick("EURUSD", D("1.08550"), D("1.08562")))  # a new high: 100038.00
    running.step(feed.Tick("EURUSD", D("1.08440"), D("1.08452")))  # a new low: 99928.00
    # Between two writes the run shrinks to its high and its low, in their order: the first
    # low is outdone by the later, lower one.
    assert written() == ["100038.00", "99928.00"]
    running.step(feed.Tick("EURUSD", D("1.08600"), D("1.08612")))  # a new high: 100088.00
    assert written() == ["100038.00", "99928.00", "100088.00"]
    running.step(feed.Tick("EURUSD", D("1.08500"), D("1.08512")))  # inside
    assert written() == ["100038.00", "99928.00", "100088.00"]


def test_a_snapshot_queued_before_a_traders_order_is_dropped_not_written_stale():
    account = open_account()
    sandbox_orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    running = feed.Feed()
    running.flush()
    running.step(feed.Tick("EURUSD", D("1.08400"), D("1.08412")))  # queues a new low
    accounts.balance_operation(account, "500", "Bonus")  # writes its own snapshot
    running.flush()
    last = Event.objects.filter(account=account).order_by("-id").first()
    assert last.from_feed is False
    assert last.payload["balance"] == "100500.00"
    running.step(feed.Tick("EURUSD", D("1.08300"), D("1.08312")))
    running.flush()
    newest = Event.objects.filter(account=account).order_by("-id").first()
    assert newest.from_feed is True
    assert newest.payload["balance"] == "100500.00"  # the feed re-read the account


def test_the_watch_writes_at_a_quarter_hour_what_moved_since_with_its_own_moment():
    book = engine.Book({"EURUSD": Instrument.objects.get(symbol="EURUSD").spec}, {"USD": 2})
    book.set_price("EURUSD", 108500, 108512)
    holding = engine.Holding(1, 7, "EURUSD", 1, 100, 108512)
    slot = book.put_account(
        7, currency="USD", balance=10_000_000, stopout_bp=5000, holdings=[holding]
    )
    book.refresh()
    watch = engine.Watch()
    watch.written(slot, int(book.balance[slot] + book.floating[slot]), 10_000_000)
    first, _ = watch.boundary(book, 900.0 * 10)  # the first boundary: nothing moved
    assert first.tolist() == []
    result = book.tick("EURUSD", 108520, 108532)
    assert watch.due(book, result.touched, 9100.0).tolist() == [slot]  # a new high
    book.tick("EURUSD", 108510, 108522)
    assert watch.due(book, result.touched, 9200.0).tolist() == []  # inside: not yet written
    slots, moments = watch.boundary(book, 900.0 * 11)
    assert slots.tolist() == [slot]
    assert moments.tolist() == [9200.0]  # stamped when the value arose, not at the boundary


def test_the_synthetic_feed_is_repeatable_with_a_seed_and_keeps_to_the_digits():
    instruments = list(Instrument.objects.all())
    first = feed.Synthetic(instruments, rate=50, seed=3)
    second = feed.Synthetic(instruments, rate=50, seed=3)
    a = [t for _, t in zip(range(200), first, strict=False)]
    b = [t for _, t in zip(range(200), second, strict=False)]
    assert [(t.symbol, t.bid, t.ask) for t in a] == [(t.symbol, t.bid, t.ask) for t in b]
    digits = {i.symbol: i.digits for i in instruments}
    for tick in a:
        assert tick.bid < tick.ask
        assert -tick.bid.as_tuple().exponent <= digits[tick.symbol]


@pytest.mark.django_db(transaction=True)  # the feed writes from a thread of its own
def test_a_quotes_csv_replays_and_bad_lines_are_named(tmp_path):
    good = tmp_path / "quotes.csv"
    good.write_text(
        "time,symbol,bid,ask\n"
        "2026-03-02T07:00:00+00:00,EURUSD,1.08500,1.08512\n"
        "2026-03-02T07:00:00.010+00:00,XAUUSD,2350.10,2350.40\n"
    )
    rows = feed.read_quotes_csv(good)
    ticks = list(feed.replay(rows, speed=100, loop=False))
    expected = [("EURUSD", D("1.08500")), ("XAUUSD", D("2350.10"))]
    assert [(t.symbol, t.bid) for t in ticks] == expected
    assert feed.run(iter(ticks)) == 2
    assert Quote.objects.get(instrument__symbol="XAUUSD").ask == D("2350.40")
    for line, problem in [
        ("2026-03-02T07:00:00,EURUSD,1.08500,1.08512", "offset"),
        ("2026-03-02T07:00:00+00:00,DOGE,1,2", "unknown symbol"),
        ("2026-03-02T07:00:00+00:00,EURUSD,1.085001,1.08512", "decimals"),
        ("2026-03-02T07:00:00+00:00,EURUSD,1.08600,1.08512", "bid <= ask"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text("time,symbol,bid,ask\n" + line + "\n")
        with pytest.raises(ValueError, match="line 2") as refused:
            feed.read_quotes_csv(bad)
        assert problem in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_the_feed_runs_until_told_to_stop():
    instruments = list(Instrument.objects.all())
    stop = threading.Event()
    source = feed.Synthetic(instruments, rate=1000, seed=1)

    def ticks():
        for count, tick in enumerate(source):
            if count == 50:
                stop.set()
            yield tick

    assert feed.run(ticks(), stop=stop) == 51


def test_a_run_of_extremes_between_writes_keeps_its_low_and_high_in_order():
    queued = [
        (0, 1.0, 100, 100, True),
        (1, 1.0, 50, 50, True),
        (0, 2.0, 90, 100, True),  # a lower low
        (0, 3.0, 120, 100, True),  # a higher high
        (0, 4.0, 80, 100, True),  # the lowest
        (0, 5.0, 85, 100, False),  # a quarter-hour close: kept, and it ends the run
        (0, 6.0, 70, 100, True),
    ]
    assert feed.collapse(queued) == [
        (0, 3.0, 120, 100),
        (0, 4.0, 80, 100),
        (0, 5.0, 85, 100),
        (0, 6.0, 70, 100),
        (1, 1.0, 50, 50),
    ]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_the_feeds_write_and_a_traders_change_do_not_deadlock():
    """A change holds its account's row, then waits for the stream's lock; the feed holds that
    lock and writes a snapshot pointing at the same row. Neither may wait for the other."""
    account = open_account()
    sandbox_orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    running = feed.Feed()
    running.flush()
    running.step(feed.Tick("EURUSD", D("1.08300"), D("1.08312")))  # queues a new low
    locked, go = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def trader_change() -> None:
        try:
            with transaction.atomic():
                held = accounts.lock_account(account.pk)  # as every change takes it
                locked.set()
                go.wait(10)
                stream.emit(
                    held,
                    [
                        {
                            "t": "2026-11-24T00:00:00+00:00",
                            "type": "equity",
                            "balance": "100000.00",
                            "equity": "100000.00",
                        }
                    ],
                )
        except BaseException as exc:  # the failure this test looks for
            failures.append(exc)
        finally:
            connection.close()

    change = threading.Thread(target=trader_change)
    change.start()
    assert locked.wait(10)
    threading.Timer(0.3, go.set).start()
    running.flush()  # must not wait for the trader's row lock
    change.join(20)
    assert not change.is_alive()
    assert failures == []


def test_a_quarter_hour_closes_on_the_equity_before_the_tick_that_opens_the_next():
    account = open_account()
    sandbox_ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    sandbox_orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    now = [datetime(2026, 11, 24, 8, 0, tzinfo=UTC).timestamp()]
    running = feed.Feed(clock=lambda: now[0])
    running.flush()
    start = Event.objects.order_by("-id").first().pk
    now[0] += 60
    running.step(feed.Tick("EURUSD", D("1.08400"), D("1.08412")))  # a new low: 99888.00
    now[0] += 60
    running.step(feed.Tick("EURUSD", D("1.08450"), D("1.08462")))  # inside: 99938.00
    closing_moment = now[0]
    now[0] = datetime(2026, 11, 24, 8, 15, 0, 20_000, tzinfo=UTC).timestamp()
    running.step(feed.Tick("EURUSD", D("1.08600"), D("1.08612")))  # after 08:15: 100088.00
    running.flush()
    written = [
        (e.payload["t"], e.payload["equity"])
        for e in Event.objects.filter(pk__gt=start, account=account)
    ]
    close = datetime.fromtimestamp(closing_moment, UTC).isoformat()
    assert (close, "99938.00") in written  # the value the window closed on, when it arose
    assert written[-1][1] == "100088.00"
    before_quarter = [e for e in written if e[0] < "2026-11-24T08:15"]
    assert before_quarter[-1] == (close, "99938.00")


def test_a_running_feed_takes_in_staffs_changes_to_an_instrument():
    instruments = list(Instrument.objects.filter(symbol__in=["EURUSD", "XAUUSD"]))
    Instrument.objects.filter(symbol="XAUUSD").update(
        spread_points=99, trading_hours=[{"days": "sat", "open": "00:00", "close": "01:00"}]
    )
    feed.refresh(instruments)
    gold = next(i for i in instruments if i.symbol == "XAUUSD")
    assert gold.spread_points == 99
    assert gold.trading_hours == [{"days": "sat", "open": "00:00", "close": "01:00"}]
