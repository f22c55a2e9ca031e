"""How many account equity updates a second the sandbox's feed sustains, and how soon a tick's
equity snapshot can be read from the event stream.

    .venv/bin/python benchmarks/sandbox_feed.py [--accounts 10000] [--positions 5] [--seconds 20]

Drops and re-creates its own PostgreSQL database (`propdesk_bench_sandbox` on 127.0.0.1:5432
as `postgres`), migrates it and opens N accounts with P open positions each, spread over the
instruments (bulk inserts; every position is a real row the feed loads).

1. The book alone (one core, no database): synthetic ticks through `Feed.step`'s arithmetic
   (`Book.tick` plus the snapshot decision, `Watch.due`): ticks a second and account equity
   updates a second (each tick revalues every account holding the ticked instrument, or one
   whose profit it converts).
2. The whole feed at `--rate` ticks a second (default 50) for `--seconds`: ticks, fills, quotes
   and snapshots written in batches every `--flush` seconds by the feed's writer thread (as
   `propdesk sandbox feed` runs), while a separate process reads the
   stream from its cursor as a consumer would. For each equity event it prints the delay from
   the tick that made the value (the event's `t`) to the moment the consumer read it: median
   and 99th percentile. Also the feed's own busy share of the wall clock.

Aim (issue 6): every account's equity updated on every tick at 50 ticks/s in total, on one core.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def say(text: str) -> None:
    print(text, flush=True)


def recreate(args: argparse.Namespace) -> str:
    with psycopg.connect(
        host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.db}"')
    return f"postgres://{args.user}@{args.host}:{args.port}/{args.db}"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "propdesk.settings"
    os.environ.setdefault("PROPDESK_VAR_DIR", tempfile.mkdtemp(prefix="propdesk-bench-"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(accounts: int, per_account: int) -> None:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from propdesk.platforms.sandbox import accounts as sandbox_accounts
    from propdesk.platforms.sandbox.models import Account, Instrument, Position

    rng = random.Random(11)
    server = sandbox_accounts.default_server()
    instruments = list(Instrument.objects.select_related("quote"))
    password = make_password("benchmark")
    now = timezone.now()
    made = Account.objects.bulk_create(
        Account(
            server=server,
            login=str(800_000 + i),
            password=password,
            group="demo",
            leverage=100,
            currency="USD",
            balance=Decimal("100000.00"),
        )
        for i in range(accounts)
    )
    positions = []
    for account in made:
        for instrument in rng.sample(instruments, k=min(per_account, len(instruments))):
            side = rng.choice(("buy", "sell"))
            quote = instrument.quote
            price = quote.ask if side == "buy" else quote.bid
            volume = Decimal(rng.randint(1, 100)).scaleb(-2)
            margin = (volume * instrument.contract_size * price / 100).quantize(Decimal("0.01"))
            if instrument.quote_currency == "JPY":
                margin = (margin / price).quantize(Decimal("0.01"))
            positions.append(
                Position(
                    account=account,
                    instrument=instrument,
                    side=side,
                    volume=volume,
                    open_price=price,
                    margin=margin,
                    opened_at=now,
                )
            )
    Position.objects.bulk_create(positions, batch_size=5000)


def book_alone(ticks: int) -> None:
    from propdesk.platforms.sandbox import feed
    from propdesk.platforms.sandbox.models import Instrument

    began = time.perf_counter()
    running = feed.Feed()
    say(
        f"feed start: {len(running.book.account_ids):,} accounts and their positions loaded "
        f"and valued in {time.perf_counter() - began:.1f} s"
    )
    running.pending_snapshots.clear()
    instruments = list(Instrument.objects.all())
    source = iter(feed.Synthetic(instruments, rate=50, seed=2))
    prepared = [next(source) for _ in range(ticks)]
    specs = {i.symbol: i.spec for i in instruments}
    points = [
        (t.symbol, specs[t.symbol].points(t.bid), specs[t.symbol].points(t.ask)) for t in prepared
    ]
    touched = 0
    emitted = 0
    began = time.process_time()
    wall = time.perf_counter()
    for symbol, bid, ask in points:
        result = running.book.tick(symbol, bid, ask)
        touched += len(result.touched)
        emitted += len(running.watch.due(running.book, result.touched, time.time()))
    cpu = time.process_time() - began
    elapsed = time.perf_counter() - wall
    accounts = len(running.book.account_ids)
    say(
        f"book alone: {ticks:,} ticks in {cpu:.2f} s of CPU ({elapsed:.2f} s wall): "
        f"{ticks / cpu:,.0f} ticks/s, {touched / cpu:,.0f} account equity updates/s "
        f"({touched / ticks:,.0f} of {accounts:,} accounts per tick; "
        f"{emitted / ticks:,.1f} snapshots due per tick)"
    )
    per_tick_all = cpu / ticks * accounts / (touched / ticks)
    say(
        f"  if every tick moved every account: {1 / per_tick_all:,.0f} ticks/s "
        f"(aim: 50 ticks/s with all {accounts:,} accounts updated on each)"
    )


def consumer(url: str, start: int, until: float, results: Any) -> None:
    """Another process reading the stream from its cursor, as the monitor will."""
    delays: list[float] = []
    cursor = start
    with psycopg.connect(url, autocommit=True) as conn:
        while time.time() < until:
            rows = conn.execute(
                "SELECT id, payload->>'t', payload->>'type' FROM sandbox_event "
                "WHERE id > %s ORDER BY id LIMIT 20000",
                (cursor,),
            ).fetchall()
            now = time.time()
            for event_id, moment, kind in rows:
                cursor = event_id
                if kind == "equity":
                    delays.append(now - datetime.fromisoformat(moment).timestamp())
            if not rows:
                time.sleep(0.002)
    results.put(delays)


def whole_feed(url: str, rate: float, seconds: float, flush: float) -> None:
    from django.db import connection

    from propdesk.platforms.sandbox import feed
    from propdesk.platforms.sandbox.models import Event, Instrument

    running = feed.Feed()
    running.flush()
    start = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    instruments = list(Instrument.objects.all())
    source = feed.paced(iter(feed.Synthetic(instruments, rate=rate, seed=3)), rate)
    results: Any = multiprocessing.Queue()
    reader = multiprocessing.Process(
        target=consumer, args=(url, start, time.time() + seconds + 3, results)
    )
    reader.start()
    began = time.perf_counter()
    cpu = time.process_time()
    ticks = 0
    written = 0
    last = time.monotonic()
    deadline = began + seconds
    running.start_writer()  # as `propdesk sandbox feed` runs it: writes beside the ticks
    for tick in source:
        running.step(tick)
        ticks += 1
        now = time.monotonic()
        if now - last >= flush:
            running.flush_soon()
            last = now
        if time.perf_counter() >= deadline:
            break
    running.stop_writer()
    running.flush()
    written = running.events_written
    elapsed = time.perf_counter() - began
    busy = time.process_time() - cpu
    delays = sorted(results.get())
    reader.join()
    connection.close()
    say(
        f"whole feed: {ticks:,} ticks in {elapsed:.1f} s = {ticks / elapsed:.1f} ticks/s "
        f"(asked {rate:g}); {written:,} equity events written; the feed's CPU "
        f"{busy / elapsed:.0%} of the wall clock"
    )
    if delays:
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        say(
            f"tick -> equity event readable from the stream: median "
            f"{statistics.median(delays) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
            f"({len(delays):,} events; writes batched every {flush * 1000:.0f} ms)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--positions", type=int, default=5)
    parser.add_argument("--ticks", type=int, default=2_000, help="for the book alone")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--flush", type=float, default=0.05, help="seconds between writes")
    parser.add_argument("--db", default="propdesk_bench_sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args()
    url = recreate(args)
    setup_django(url)
    began = time.perf_counter()
    fill(args.accounts, args.positions)
    say(
        f"filled {args.accounts:,} accounts x {args.positions} positions "
        f"in {time.perf_counter() - began:.1f} s; {os.cpu_count()} CPUs"
    )
    book_alone(args.ticks)
    whole_feed(url, args.rate, args.seconds, args.flush)
    return 0


if __name__ == "__main__":
    sys.exit(main())
