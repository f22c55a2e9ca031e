"""The sandbox's price feed: where prices come from, and the process that moves them.

Prices come from a seeded synthetic generator (a random walk with each instrument's yearly
volatility, livelier in the London and New York hours and quieter around the daily rollover, when
spreads widen by each instrument's rollover multiplier: pricing.part_of_day) or from a CSV of
historical quotes replayed at their own pace.

`Feed.step()` takes one tick: the book (engine.Book) revalues every open position it moves at
once, stop losses and take profits it crosses are filled and accounts below their stop-out level
are closed out through the same use cases as a trader's own close, and equity snapshots are
written to the event stream as engine.Watch decides. Quotes and snapshots are written in small
batches (`flush`), so the feed keeps pace with many ticks a second.
"""

from __future__ import annotations

import csv
import json
import math
import queue
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from propdesk.core.money import MINOR_UNITS, from_minor, to_minor
from propdesk.platforms.sandbox import engine, history, pricing, stream, ticks
from propdesk.platforms.sandbox.models import (
    Account,
    Deal,
    Event,
    Instrument,
    Position,
    Quote,
    StreamLock,
)

SECONDS_PER_YEAR = pricing.SECONDS_PER_YEAR
SETTINGS_SECONDS = 5.0  # how soon a running feed sees staff's changes to an instrument


def refresh(instruments: Iterable[Instrument]) -> None:
    """Re-read instruments' settings (spread, hours, enabled) that staff may have changed."""
    fresh = Instrument.objects.in_bulk([i.pk for i in instruments])
    for instrument in instruments:
        found = fresh.get(instrument.pk)
        if found is not None:
            for name in (
                "spread_points",
                "rollover_spread_multiplier",
                "trading_hours",
                "enabled",
                "volatility",
            ):
                setattr(instrument, name, getattr(found, name))


@dataclass(frozen=True)
class Tick:
    symbol: str
    bid: Decimal
    ask: Decimal


# --- where prices come from ----------------------------------------------------------------------


class Synthetic:
    """A seeded random walk per instrument, starting from the latest quotes."""

    def __init__(self, instruments: list[Instrument], *, rate: float, seed: int = 1) -> None:
        self.instruments = instruments
        self.random = random.Random(seed)  # noqa: S311  (a simulation, not a secret)
        self.step_seconds = len(instruments) / rate  # each instrument's time between ticks
        self.mid: dict[str, float] = {}
        for instrument in instruments:
            quote = Quote.objects.filter(instrument=instrument).first()
            start = (quote.bid + quote.ask) / 2 if quote else instrument.start_price
            self.mid[instrument.symbol] = float(start)

    def __iter__(self) -> Iterator[Tick]:
        checked = time.monotonic()
        while True:
            if time.monotonic() - checked >= SETTINGS_SECONDS:
                refresh(self.instruments)
                checked = time.monotonic()
            live = [i for i in self.instruments if i.enabled] or self.instruments
            instrument = self.random.choice(live)
            yield self.next_for(instrument, datetime.now(UTC))

    def next_for(self, instrument: Instrument, now: datetime) -> Tick:
        busy = pricing.VOLATILITY_FACTORS[pricing.part_of_day(now)]
        years = self.step_seconds / SECONDS_PER_YEAR
        sigma = float(instrument.volatility) * busy * math.sqrt(years)
        mid = self.mid[instrument.symbol] * math.exp(self.random.gauss(0.0, sigma))
        self.mid[instrument.symbol] = mid
        spread = pricing.spread_at(
            instrument.spread_points, instrument.rollover_spread_multiplier, now
        )
        bid_points = max(1, round(mid * 10**instrument.digits - spread / 2))
        return Tick(
            instrument.symbol,
            Decimal(bid_points).scaleb(-instrument.digits),
            Decimal(bid_points + spread).scaleb(-instrument.digits),
        )


def read_quotes_csv(path: Path) -> list[tuple[datetime, Tick]]:
    """`time,symbol,bid,ask` rows (ISO times with an offset), in time order; errors name the
    line."""
    known = {i.symbol: i for i in Instrument.objects.all()}
    rows: list[tuple[datetime, Tick]] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or set(reader.fieldnames) < {"time", "symbol", "bid", "ask"}:
            raise ValueError(f"{path}: the header is time,symbol,bid,ask")
        for number, row in enumerate(reader, start=2):
            try:
                at = datetime.fromisoformat(row["time"])
                if at.tzinfo is None:
                    raise ValueError("the time has no offset")
                instrument = known.get(row["symbol"])
                if instrument is None:
                    raise ValueError(f"unknown symbol {row['symbol']!r}")
                bid, ask = Decimal(row["bid"]), Decimal(row["ask"])
                instrument.spec.points(bid), instrument.spec.points(ask)
                if not 0 < bid <= ask:
                    raise ValueError("a quote has 0 < bid <= ask")
                if rows and at < rows[-1][0]:
                    raise ValueError("the times go back")
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(f"{path}, line {number}: {exc}") from None
            rows.append((at, Tick(instrument.symbol, bid, ask)))
    return rows


def replay(rows: list[tuple[datetime, Tick]], *, speed: float, loop: bool) -> Iterator[Tick]:
    """The quotes at their own pace (speed 2: twice as fast), once or over and over."""
    while True:
        began = time.monotonic()
        first = rows[0][0] if rows else None
        for at, tick in rows:
            assert first is not None
            due = began + (at - first).total_seconds() / speed
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            yield tick
        if not loop or not rows:
            return


# --- the feed ------------------------------------------------------------------------------------


class Feed:
    def __init__(self, *, clock: Any = time.time) -> None:
        self.clock = clock  # seconds since the epoch; a replay of the past may bring its own
        instruments = list(Instrument.objects.all())  # a disabled one may still hold positions
        self.instruments = {i.symbol: i for i in instruments}
        self.book = engine.Book(
            {i.symbol: i.spec for i in instruments}, {c: d for c, d in MINOR_UNITS.items()}
        )
        self.watch = engine.Watch()
        self._thread: threading.Thread | None = None
        self._batches: queue.Queue[Any] = queue.Queue(maxsize=2)  # a slow database holds ticks
        self._changed: queue.Queue[tuple[int, set[int]]] = queue.Queue()
        self._failure: Exception | None = None
        self.events_written = 0
        self.pending_quotes: dict[str, Tick] = {}
        # (slot, t, equity, balance, extreme?) in order; see `collapse`
        self.pending_snapshots: list[tuple[int, float, int, int, bool]] = []
        self.seen = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for quote in Quote.objects.select_related("instrument"):
            spec = quote.instrument.spec
            self.book.set_price(spec.symbol, spec.points(quote.bid), spec.points(quote.ask))
        holding = Position.objects.filter(account=OuterRef("pk"), closed_at__isnull=True)
        self.load_many(Account.objects.filter(Exists(holding)))  # equity moves only with positions
        self.book.revalue_all()
        now = self.clock()
        for slot in range(len(self.book.account_ids)):  # the feed's first word on each account
            self.watch.written(slot, *self._figures_at(slot))
            self._queue(slot, now, extreme=False)

    def load_many(self, accounts: Iterable[Account]) -> list[int]:
        """(Re)read accounts' balances and open positions (two queries); returns their slots."""
        chosen = {account.pk: account for account in accounts}
        positions: dict[int, list[Position]] = defaultdict(list)
        open_positions = Position.objects.filter(account__in=list(chosen), closed_at__isnull=True)
        for position in open_positions.select_related("instrument"):
            positions[position.account_id].append(position)
        slots = []
        for account in chosen.values():
            currency = account.currency
            slot = self.book.put_account(
                account.pk,
                currency=currency,
                balance=to_minor(account.balance, currency),
                stopout_bp=int(account.stopout_level * 100),
                holdings=[self._holding(p, currency) for p in positions[account.pk]],
            )
            self.watch.grow(slot + 1)
            slots.append(slot)
        return slots

    def _holding(self, position: Position, currency: str) -> engine.Holding:
        spec = position.instrument.spec
        return engine.Holding(
            position=position.pk,
            account=position.account_id,
            symbol=spec.symbol,
            side=position.sign,
            volume=pricing.centi_lots(position.volume),
            open_points=spec.points(position.open_price),
            sl_points=spec.points(position.sl) if position.sl is not None else 0,
            tp_points=spec.points(position.tp) if position.tp is not None else 0,
            margin=to_minor(position.margin, currency),
        )

    def step(self, tick: Tick) -> list[Deal]:
        """One tick: revalue, then act on what it crossed at once (the quote is written first,
        so fills happen at this tick's price)."""
        instrument = self.instruments[tick.symbol]
        spec = instrument.spec
        self.boundary()  # a new quarter hour closes on the figures before this tick
        now = self.clock()
        if not pricing.market_open(instrument.trading_hours, datetime.fromtimestamp(now, UTC)):
            return []
        result = self.book.tick(tick.symbol, spec.points(tick.bid), spec.points(tick.ask))
        self.pending_quotes[tick.symbol] = tick
        deals: list[Deal] = []
        if result.crossed or result.stop_outs:
            self.flush()  # waits for the writer: fills see this tick's quote
            deals = self._act(result)
        for slot in self.watch.due(self.book, result.touched, now).tolist():
            self._queue(slot, now, extreme=True)
        return deals

    def _act(self, result: engine.TickResult) -> list[Deal]:
        deals: list[Deal] = []
        for position in Position.objects.filter(pk__in=result.crossed, closed_at__isnull=True):
            deals.extend(ticks.trigger(position.pk))
        for account_id in result.stop_outs:
            deals.extend(ticks.stop_out(account_id))
        # The cursor stays: the next write finds these accounts (and any a trader changed
        # meanwhile) changed, and re-reads them.
        self._reload({d.account_id for d in deals})
        return deals

    def _queue(self, slot: int, at: float, *, extreme: bool) -> None:
        equity, balance = self._figures_at(slot)
        self.pending_snapshots.append((slot, at, equity, balance, extreme))

    def _figures_at(self, slot: int) -> tuple[int, int]:
        return int(self.book.balance[slot] + self.book.floating[slot]), int(self.book.balance[slot])

    def boundary(self) -> None:
        slots, moments = self.watch.boundary(self.book, self.clock())
        for slot, at in zip(slots.tolist(), moments.tolist(), strict=True):
            self._queue(slot, at or self.clock(), extreme=False)

    def flush(self) -> int:
        """Write the latest quotes and the queued snapshots now; accounts that changed under
        the feed (a trader's order, a balance operation) are re-read instead of written.
        Returns the number of events written."""
        self.wait()
        written, changed = self._write(*self._prepare())
        self._reload(changed)
        self.events_written += written
        return written

    def _prepare(self) -> tuple[dict[str, Tick], list[tuple[int, str]]]:
        quotes, snapshots = self.pending_quotes, self.pending_snapshots
        self.pending_quotes, self.pending_snapshots = {}, []
        rows: list[tuple[int, str]] = []
        for slot, at, equity, balance in collapse(snapshots):
            currency = self.book.currencies[slot]
            moment = datetime.fromtimestamp(at, UTC)
            rows.append(
                (
                    self.book.account_ids[slot],
                    f'{{"t": "{moment.isoformat()}", "type": "equity", '
                    f'"balance": "{from_minor(balance, currency)}", '
                    f'"equity": "{from_minor(equity, currency)}"}}',
                )
            )
        return quotes, rows

    def _write(self, quotes: dict[str, Tick], rows: list[tuple[int, str]]) -> tuple[int, set[int]]:
        """One transaction: the quotes, then, under the stream's lock, the snapshots of every
        account no deal or balance operation has touched since the feed last looked."""
        stamp = timezone.now()
        with transaction.atomic():
            for symbol, tick in quotes.items():
                Quote.objects.update_or_create(
                    instrument=self.instruments[symbol],
                    defaults={"bid": tick.bid, "ask": tick.ask, "at": stamp},
                )
            history.record(((self.instruments[s], t.bid) for s, t in quotes.items()), stamp)
            StreamLock.objects.select_for_update().get_or_create(pk=1)
            changed = set(
                Event.objects.filter(id__gt=self.seen, from_feed=False).values_list(
                    "account_id", flat=True
                )
            )
            written = _insert_events([row for row in rows if row[0] not in changed])
            newest = Event.objects.order_by("-id").values_list("id", flat=True).first()
            self.seen = newest or self.seen
        return written, changed

    # --- writing beside the ticks ---------------------------------------------------------------

    def start_writer(self) -> None:
        """From now on `flush_soon` hands the writes to a thread of their own (with its own
        database connection), so ticks keep coming while the database works."""
        self._thread = threading.Thread(target=self._writer, name="sandbox-feed-writer")
        self._thread.start()

    def _writer(self) -> None:
        try:
            while (batch := self._batches.get()) is not None:
                try:
                    self._changed.put(self._write(*batch))
                except Exception as exc:  # handed to the tick thread, which stops the feed
                    self._failure = exc
                finally:
                    self._batches.task_done()
        finally:
            connection.close()

    def flush_soon(self) -> None:
        if self._thread is None:
            self.flush()
            return
        self._batches.put(self._prepare())
        self.take_changes()

    def take_changes(self) -> int:
        """Re-read the accounts the writer found changed; returns the events it wrote."""
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise RuntimeError("the feed's writer failed") from failure
        written = 0
        changed: set[int] = set()
        while self._thread is not None and not self._changed.empty():
            count, found = self._changed.get()
            written += count
            changed |= found
        if changed:
            self._reload(changed)
        self.events_written += written
        return written

    def wait(self) -> None:
        """Let the writer finish what it was given (before writing from this thread)."""
        if self._thread is not None:
            self._batches.join()
            self.take_changes()

    def stop_writer(self) -> int:
        if self._thread is None:
            return 0
        self.wait()
        self._batches.put(None)
        self._thread.join()
        self._thread = None
        return self.take_changes()

    def _reload(self, account_ids: set[int]) -> None:
        """Re-read accounts changed by a deal or a balance operation, which wrote their own
        snapshot: the window goes on from that."""
        slots = self.load_many(Account.objects.filter(pk__in=account_ids))
        self.book.refresh()
        for slot in slots:
            self.watch.written(slot, *self._figures_at(slot))


def collapse(
    snapshots: list[tuple[int, float, int, int, bool]],
) -> list[tuple[int, float, int, int]]:
    """Per account, a run of new lows and highs queued between two writes shrinks to its
    lowest and its highest, in the order they came: a low followed by a lower low (or a high
    by a higher) says nothing a rule could act on that the later one does not say more
    strongly. Other snapshots (first words, quarter-hour closes) are kept as they are."""
    by_slot: dict[int, list[tuple[float, int, int, bool]]] = {}
    for slot, at, equity, balance, extreme in snapshots:
        by_slot.setdefault(slot, []).append((at, equity, balance, extreme))
    kept: list[tuple[int, float, int, int]] = []
    for slot, items in by_slot.items():
        run: list[tuple[float, int, int, bool]] = []

        def close_run(slot: int = slot, run: list[tuple[float, int, int, bool]] = run) -> None:
            if run:
                ends = {min(run, key=lambda r: r[1]), max(run, key=lambda r: r[1])}
                kept.extend((slot, at, eq, bal) for at, eq, bal, _ in sorted(ends, key=run.index))
                run.clear()

        for item in items:
            if item[3]:
                run.append(item)
            else:
                close_run()
                kept.append((slot, item[0], item[1], item[2]))
        close_run()
    return kept


def _insert_events(rows: list[tuple[int, str]]) -> int:
    """Append the feed's snapshots (JSON text) to the stream: COPY on PostgreSQL."""
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            statement = "COPY sandbox_event (account_id, payload, from_feed) FROM STDIN"
            # One block of COPY text: the payloads hold no tab, newline or backslash.
            block = "".join(f"{account_id}\t{payload}\tt\n" for account_id, payload in rows)
            with cursor.cursor.copy(statement) as copy:
                copy.write(block.encode())
        stream.announce()
        return len(rows)
    made = Event.objects.bulk_create(
        (Event(account_id=a, payload=json.loads(p), from_feed=True) for a, p in rows),
        batch_size=2000,
    )
    stream.announce()
    return len(made)


def run(
    source: Iterator[Tick], *, flush_every: float = 0.02, stop: Any = None, limit: int = 0
) -> int:
    """Feed ticks until `stop` is set (a threading.Event) or `limit` ticks; returns the count.
    Writes go to a thread of their own every `flush_every` seconds."""
    feed = Feed()
    feed.start_writer()
    count = 0
    last = checked = time.monotonic()
    try:
        for tick in source:
            feed.step(tick)
            count += 1
            now = time.monotonic()
            if now - checked >= SETTINGS_SECONDS:
                refresh(feed.instruments.values())
                checked = now
            if now - last >= flush_every:
                feed.flush_soon()  # step() has already closed any quarter hour
                last = now
            if (stop is not None and stop.is_set()) or (limit and count >= limit):
                break
    finally:
        feed.stop_writer()
        feed.flush()
    return count


def paced(source: Iterator[Tick], rate: float) -> Iterator[Tick]:
    """At most `rate` ticks a second."""
    gap = 1.0 / rate
    due = time.monotonic()
    for tick in source:
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        due = max(due + gap, time.monotonic() - 1.0)
        yield tick
