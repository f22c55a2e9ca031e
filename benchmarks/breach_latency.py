"""How soon a breach stops trading: from the tick that takes an account below its daily-loss
floor to the moment its account is disabled and its stage (and participation) failed, as another
database connection sees it, with thousands of running stages loading the monitor.

    .venv/bin/python benchmarks/breach_latency.py [--stages 10000] [--samples 200] [--rate 50]
        [--log nats --monitors 2]

Drops and re-creates its own PostgreSQL database (`propdesk_bench_breach` on 127.0.0.1:5432 as
`postgres`) and migrates it. One challenge is created and published through the catalogue's use
cases (one demo stage: daily loss 5% of the previous day's balance, max loss 10% static, target
8%); then, in bulk, N clients, each with an active participation and a running first stage on
its own funded sandbox account (the funding deal, the opening deals and the stream events an
order would have written, so the monitor starts from a real backlog).

- The background load: every account but the samples' (or a `--holding` share of them: the
  others are between trades) holds `--positions` open positions over EURUSD, GBPUSD, USDJPY and
  US500, which the feed moves at `--rate` ticks a second (its synthetic walk, flushed by its
  writer thread every `--flush` seconds as `propdesk sandbox feed` does), so thousands of
  accounts receive equity snapshots continuously.
- The samples: S accounts hold one 10-lot XAUUSD buy each, opened 0.02 apart, so that each
  XAUUSD tick of a falling ladder takes exactly one more of them below its 95,000 floor (to
  94,990) and none other. Nobody else holds XAUUSD and only these ticks move it.
- The feed and the monitor (`runner.run`, as `propdesk monitor` runs it) are processes of their
  own; this one orders a ladder tick every `--gap` seconds (+-50%, so ticks fall at every phase
  of the flush) and polls the pending stages every `--poll` seconds on its own connection.

The monitor first reads the stream's history alone (as one running all along would have);
then the feed starts and the monitor is given `--warmup` seconds at most to catch up.

The account-event log (`--log`): the database's (one feed, one monitor process), or NATS
JetStream (`--log nats`: a stream of the run's own, `BENCH_BREACH_...`, deleted at the end; every
process the run starts has `PROPDESK_EVENT_LOG`, `PROPDESK_EVENT_STREAM` and
`PROPDESK_EVENT_PARTITIONS` in its environment, so the sandbox's ingestor, pulled by whichever
monitor holds its `ingest:` lease, publishes there), read by `--monitors` processes, each its own
lease holder (`bench-monitor-<k>`), sharing the `--partitions` partitions by their leases.

It prints the latency's median, p90, p99 and max (aim: p99 under 100 ms), where the time goes
(tick -> batch handed to the feed's writer -> committed -> the monitor's batch that read it
began (the ingestor's pull that took it in) -> its `FeedWatcher.step` began -> the stage
concluded (`ended_at`) -> the step returned -> seen), how many slow samples waited for a
checkpoint, the background load (ticks/s, snapshots/s written), and for each monitor process
the events/s it consumed, how far behind it was (its feeds' unread events, measured here every
second from the positions the processes share as they read; the age of the newest event each
batch read; the lag it saved with its checkpoints), its batch, checkpoint and day-closing times.
With NATS the path of a breach goes through the ingestor's pull (published to NATS and
acknowledged), which may run in another monitor process than the read.

When the aim is missed (or with `--profile`) the monitors are stopped, the feed alone builds a
backlog, and `FeedWatcher.step` is profiled on a few real batches of it (cProfile, SQL time by
statement; with NATS on the partition furthest behind), then its checkpoint, a day's reset, and
the unit costs of what a batch and a checkpoint repeat.

What-ifs, named as such in the output, never the default: `--monitor-batch N` (the monitor's
batch size), `--no-close-days` (the monitor closes no days), `--no-checkpoints` (the monitor
writes no checkpoint while it runs: what the reading costs without them), `--flush` (the feed's
writes).
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import io
import json
import math
import multiprocessing
import os
import pstats
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

AIM_P99_MS = 100.0
NATS_URL = "nats://127.0.0.1:4222"
BREACH_SYMBOL = "XAUUSD"  # the samples' instrument: only the ladder's ticks move it
BACKGROUND_SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "US500")
BALANCE = Decimal("100000.00")
FLOOR = Decimal("95000.00")  # 5% of the previous day's balance
LADDER_LOTS = Decimal("10.00")  # 10 lots of 100 oz: 1,000 USD a dollar
LADDER_STEP = Decimal("0.02")  # between two samples' opening prices: 20 USD of equity
BELOW = Decimal("5.01")  # the breaching bid, under the opening price: equity 94,990.00

DEFINITION: dict[str, Any] = {
    "name": "Breach benchmark 100K",
    "currency": "USD",
    "tags": ["benchmark"],
    "time_zone": "Europe/Prague",
    "fee": "499.00",
    "payment_ways": ["wallet"],
    "progression": "automatic",
    "stages": [
        {
            "name": "Challenge",
            "kind": "demo",
            "balance": "100000",
            "leverage": 100,
            "rules": {
                "profit_target_pct": "8",
                "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
                "max_loss": {"pct": "10", "mode": "static"},
            },
        },
        {
            "name": "Funded",
            "kind": "live",
            "balance": "100000",
            "leverage": 50,
            "profit_share_pct": "80",
            "rules": {"max_loss": {"pct": "10", "mode": "static"}},
        },
    ],
}


def say(text: str) -> None:
    print(text, flush=True)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spread(values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    if not values:
        return "(none)"
    v = [x * scale for x in values]
    return (
        f"median {statistics.median(v):8.1f}  p90 {pct(v, 0.9):8.1f}  p99 {pct(v, 0.99):8.1f}"
        f"  max {max(v):8.1f} {unit}"
    )


# --- the database -------------------------------------------------------------------------------


def recreate(args: argparse.Namespace) -> str:
    with psycopg.connect(
        host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
    ) as admin:
        name = sql.Identifier(args.db)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return f"postgres://{args.user}@{args.host}:{args.port}/{args.db}"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "propdesk.settings"
    # The same key in every process (the vault), and the settings' files out of the tree.
    os.environ.setdefault("PROPDESK_SECRET_KEY", "benchmark-only-not-a-secret")
    os.environ.setdefault("PROPDESK_VAR_DIR", str(Path(tempfile.gettempdir()) / "propdesk-bench"))
    os.environ.setdefault("PROPDESK_LOG_LEVEL", "WARNING")
    import django

    django.setup()


@dataclass
class Sample:
    attempt: int
    account: int
    login: str
    bid: Decimal
    ask: Decimal


def fill(args: argparse.Namespace) -> list[Sample]:
    """The challenge through its use cases; the clients, stages, accounts, positions, deals and
    stream events in bulk. Returns the ladder, in the order its ticks breach it."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from propdesk.accounts.models import Client, User
    from propdesk.accounts.services import create_staff_user
    from propdesk.challenges.catalogue import services as catalogue
    from propdesk.challenges.catalogue.definition import StageKind
    from propdesk.challenges.models import ChallengeVersion, Participation, StageAttempt
    from propdesk.core import vault
    from propdesk.platforms.models import TradingServer
    from propdesk.platforms.sandbox import accounts as sandbox_accounts
    from propdesk.platforms.sandbox import valuation
    from propdesk.platforms.sandbox.models import Account, Deal, Event, Instrument, Position

    n, s = args.stages, args.samples
    rng = random.Random(17)
    admin = create_staff_user(
        email="admin@bench.example",
        name="Bench Admin",
        role_name="Administrator",
        password=secrets.token_urlsafe(16),
        actor=None,
    )
    challenge = catalogue.create(DEFINITION, actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    version = ChallengeVersion.objects.get(challenge=challenge, state="published")
    fee = version.spec.fee
    servers = [sandbox_accounts.default_server()]
    for k in range(1, getattr(args, "servers", 1)):  # more sandbox servers (monitor_throughput)
        servers.append(
            TradingServer.objects.create(
                name=f"Bench sandbox {k + 1}",
                kind="sandbox",
                demo_groups=["demo"],
                live_groups=["live"],
            )
        )
    instruments = {i.symbol: i for i in Instrument.objects.select_related("quote")}
    quotes = valuation.latest_quotes()
    background = [instruments[symbol] for symbol in BACKGROUND_SYMBOLS]
    gold = instruments[BREACH_SYMBOL]
    base = gold.quote.bid
    every = n // s
    ladder = {k * every: k for k in range(s)}  # account index -> rung, spread over the rows

    users = User.objects.bulk_create(
        (
            User(
                email=f"trader{i}@bench.example",
                name=f"Trader {i}",
                kind="client",
                password=make_password(None),  # unusable: they never log in here
            )
            for i in range(n)
        ),
        batch_size=2000,
    )
    clients = Client.objects.bulk_create(
        (
            Client(
                user=user,
                kind="trader",
                nationality="CZ",
                phone=f"+420{600_000_000 + i}",
                status="active",
                kyc_status="approved",
            )
            for i, user in enumerate(users)
        ),
        batch_size=2000,
    )
    participations = Participation.objects.bulk_create(
        (
            Participation(
                client=client,
                challenge=challenge,
                version=version,
                status=Participation.Status.ACTIVE,
                payment=Participation.Payment.WALLET,
                fee=fee,
                currency="USD",
            )
            for client in clients
        ),
        batch_size=2000,
    )
    password = secrets.token_urlsafe(9)
    hashed = make_password(password)
    accounts = Account.objects.bulk_create(
        (
            Account(
                server=servers[i * len(servers) // n],  # the first n/k on the first, and so on
                login=str(800_000 + i),
                password=hashed,
                group="demo",
                leverage=100,
                currency="USD",
                balance=BALANCE,
                comment=f"Participation #{p.pk}, stage 1",
            )
            for i, p in enumerate(participations)
        ),
        batch_size=2000,
    )
    sealed = vault.seal(password)
    attempts = StageAttempt.objects.bulk_create(
        (
            StageAttempt(
                participation=p,
                stage=0,
                kind=StageKind.DEMO,
                server_id=account.server_id,
                login=account.login,
                sealed_password=sealed,
            )
            for p, account in zip(participations, accounts, strict=True)
        ),
        batch_size=2000,
    )

    funded = timezone.now().replace(microsecond=0) - timedelta(seconds=120)
    opened = funded + timedelta(seconds=60)
    held: list[list[Position]] = []
    for i, account in enumerate(accounts):
        rung = ladder.get(i)
        if rung is not None:
            chosen = [(gold, "buy", LADDER_LOTS, base - LADDER_STEP * rung)]
        else:
            chosen = []
            flat = rng.random() >= args.holding  # a stage between trades holds nothing
            picked = [] if flat else rng.sample(background, k=min(args.positions, len(background)))
            for instrument in picked:
                side = rng.choice(("buy", "sell"))
                price = instrument.quote.ask if side == "buy" else instrument.quote.bid
                chosen.append((instrument, side, Decimal(rng.randint(1, 100)).scaleb(-2), price))
        mine = []
        for instrument, side, volume, price in chosen:
            margin = (volume * instrument.contract_size * price / 100).quantize(Decimal("0.01"))
            if instrument.quote_currency == "JPY":
                margin = (margin / price).quantize(Decimal("0.01"))
            mine.append(
                Position(
                    account=account,
                    instrument=instrument,
                    side=side,
                    volume=volume,
                    open_price=price,
                    margin=margin,
                    opened_at=opened,
                )
            )
        held.append(mine)
    Position.objects.bulk_create((p for mine in held for p in mine), batch_size=5000)

    deals: list[Deal] = []
    events: list[Event] = []
    for account, mine in zip(accounts, held, strict=True):
        deals.append(
            Deal(
                account=account,
                kind=Deal.Kind.BALANCE,
                reason=Deal.Reason.STAFF,
                profit=BALANCE,
                balance_after=BALANCE,
                comment="Initial deposit",
                at=funded,
            )
        )
        events.append(Event(account=account, payload=snapshot(funded, BALANCE, BALANCE)))
        for position in mine:
            deals.append(
                Deal(
                    account=account,
                    position=position,
                    kind=position.side,
                    entry=Deal.Entry.IN,
                    symbol=position.instrument.symbol,
                    volume=position.volume,
                    price=position.open_price,
                    balance_after=BALANCE,
                    at=opened,
                )
            )
            payload = {"t": opened.isoformat(), "type": "deal", "position": str(position.pk)}
            payload.update(entry="in", symbol=position.instrument.symbol)
            payload["volume"] = f"{position.volume:.2f}"
            events.append(Event(account=account, payload=payload))
        equity = valuation.value(account, mine, quotes).equity
        events.append(Event(account=account, payload=snapshot(opened, BALANCE, equity)))
    Deal.objects.bulk_create(deals, batch_size=5000)
    Event.objects.bulk_create(events, batch_size=5000)

    spread_points = Decimal(gold.spread_points).scaleb(-gold.digits)
    samples = []
    for i, k in sorted(ladder.items(), key=lambda item: item[1]):
        bid = base - LADDER_STEP * k - BELOW
        samples.append(
            Sample(attempts[i].pk, accounts[i].pk, accounts[i].login, bid, bid + spread_points)
        )
    return samples


def snapshot(at: Any, balance: Decimal, equity: Decimal) -> dict[str, str]:
    return {"t": at.isoformat(), "type": "equity", "balance": f"{balance}", "equity": f"{equity}"}


def vacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


# --- the feed and the monitor, each a process of its own ----------------------------------------


def feed_ladder(
    running: Any,
    source: Iterator[Any],
    pipe: Any,
    ladder: list[tuple[str, str]],
    flush: float,
    noted: Callable[[int, float], None],
) -> int:
    """`propdesk sandbox feed`'s loop (feed.run) stepping `running` through `source`, with a
    ladder rung's tick put in whenever the pipe asks for one (`noted(rung, time)`, the time
    taken just before), flushed every `flush` seconds, until the pipe sends None; returns the
    ticks of `source` stepped."""
    from propdesk.platforms.sandbox import feed

    ticks = 0
    last = time.monotonic()
    for tick in source:
        running.step(tick)
        ticks += 1
        while pipe.poll():
            rung = pipe.recv()
            if rung is None:
                return ticks
            bid, ask = ladder[rung]
            at = time.time()
            running.step(feed.Tick(BREACH_SYMBOL, Decimal(bid), Decimal(ask)))
            noted(rung, at)
        now = time.monotonic()
        if now - last >= flush:
            running.flush_soon()
            last = now
    return ticks


def feed_role(
    url: str, rate: float, flush: float, ladder: list[tuple[str, str]], pipe: Any
) -> None:
    """`propdesk sandbox feed`'s loop (feed.run), with the ladder's ticks put in on request and
    the moment each batch is handed to the writer and committed noted."""
    setup_django(url)
    from propdesk.platforms.sandbox import feed
    from propdesk.platforms.sandbox.models import Instrument

    class Noted(feed.Feed):
        def __init__(self) -> None:
            self.handed: list[float] = []
            self.committed: list[float] = []
            super().__init__()

        def _prepare(self) -> Any:
            prepared = super()._prepare()
            self.handed.append(time.time())
            return prepared

        def _write(self, quotes: Any, rows: Any) -> Any:
            written = super()._write(quotes, rows)
            self.committed.append(time.time())
            return written

    began = time.perf_counter()
    running = Noted()
    running.flush()
    pipe.send(("ready", len(running.book.account_ids), time.perf_counter() - began))
    instruments = list(Instrument.objects.filter(symbol__in=BACKGROUND_SYMBOLS))
    source = feed.paced(iter(feed.Synthetic(instruments, rate=rate, seed=3)), rate)
    breaches: list[tuple[int, float, int]] = []  # rung, tick time, index of its batch
    running.start_writer()
    written_before = running.events_written
    wall, cpu = time.time(), time.process_time()
    ticks = feed_ladder(
        running,
        source,
        pipe,
        ladder,
        flush,
        lambda rung, at: breaches.append((rung, at, len(running.handed))),
    )
    running.stop_writer()
    running.flush()
    elapsed = time.time() - wall
    pipe.send(
        {
            "ticks": ticks,
            "seconds": elapsed,
            "cpu": time.process_time() - cpu,
            "written": running.events_written - written_before,
            "breaches": breaches,
            "handed": running.handed,
            "committed": running.committed,
        }
    )


def whatif(args: argparse.Namespace) -> dict[str, bool]:
    return {"close": not args.no_close_days, "checkpoint": not args.no_checkpoints}


def slot(key: str) -> int:
    """A feed's place in the shared positions (`reached`): its partition with NATS, else 0."""
    kind, _, number = key.partition(":")
    return int(number) if kind == "nats" else 0


def ingested(server: Any) -> int:
    """The sandbox stream's id up to which the server's ingestor has taken events in."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (position->>'stream')::bigint FROM platforms_ingestcursor WHERE server_id = %s",
            [server.pk],
        )
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def monitor_role(
    url: str,
    stop: Any,
    pipe: Any,
    limit: int,
    whatifs: dict[str, bool],
    reached: Any,
    owner: str,
) -> None:
    """`propdesk monitor` (runner.run) as lease holder `owner`, each `FeedWatcher.step` that
    read events timed (wall and CPU, from the ingestor's pull that took them in), each
    checkpoint, day-closing pass and ingestor's pull that took events in too. `reached` (shared
    integers, one a feed: `slot`) holds the positions the monitors have read to, for the lag
    measured outside. `limit` and `whatifs` are what-ifs: another batch size, no day closing at
    all, no checkpoint while it runs."""
    setup_django(url)
    from propdesk.challenges.monitoring import idle, runner
    from propdesk.challenges.monitoring.watcher import FeedWatcher
    from propdesk.platforms import feeds

    marks = Marks()
    nats = feeds.using_nats()  # then each pull's stream position is noted (one more query)
    pull, step, load, drop = idle.Ingestors.pull, FeedWatcher.step, FeedWatcher.load, None
    write, move = FeedWatcher._write, FeedWatcher._move
    close_days, lag = FeedWatcher.close_days, runner._lag
    # A batch begins with the ingestor's pull that took its events in (a round's, or an idle
    # look's): from there to the end of the step is the monitor's work.
    pulled: dict[str, Any] = {}

    def timed_pull(self: Any, server: Any) -> int | None:
        at = (time.time(), time.process_time())
        taken = pull(self, server)
        if taken:
            end = time.time()
            marks.pulls.append((at[0], end, taken, ingested(server) if nats else 0))
        if not pulled.get("took"):
            pulled["at"] = at
            pulled["took"] = bool(taken)
        return taken

    def timed_step(self: FeedWatcher, *, limit: int, began: Any = None) -> int:
        start, cpu = pulled.get("at") or (time.time(), time.process_time())
        pulled.clear()
        stepped = time.time()
        count = step(self, limit=wanted or limit, began=began)
        if count:
            reached[slot(self.key)] = max(reached[slot(self.key)], self.position)
            marks.batch(start, cpu, count, self.position, stepped, self.key)
        return count

    # A checkpoint is written a piece a round (`write_some`: `_write`), then moved (`_move`).
    cycle: dict[str, list[float]] = defaultdict(list)  # feed -> its pieces' starts, sizes

    def timed_write(self: FeedWatcher, entries: list[Any]) -> None:
        start = time.time()
        write(self, entries)
        marks.writes.append((start, time.time(), len(entries)))
        cycle[self.key] += [start, len(entries)]

    def timed_move(self: FeedWatcher, position: int, lag: Any) -> None:
        done = cycle.pop(self.key, [])
        start = done[0] if done else time.time()
        move(self, position, lag)
        marks.checkpoints.append(
            (
                start,
                time.time(),
                int(sum(done[1::2])),
                -1 if lag is None else lag.events,
                lag and lag.seconds,
            )
        )

    def timed_load(self: FeedWatcher) -> None:
        start = time.time()
        load(self)
        marks.moves.append((start, time.time(), self.key, "taken", len(self.entries)))

    def timed_round(self: runner.Monitor) -> int:
        start = time.time()
        count = round_(self)
        marks.rounds.append((start, time.time(), count))
        return count

    def noted_drop(self: runner.Monitor, key: str) -> None:
        marks.moves.append((time.time(), time.time(), key, "dropped", 0))
        assert drop is not None
        drop(self, key)

    def timed_lag(watcher: FeedWatcher) -> Any:
        start = time.time()
        measured = lag(watcher)
        marks.lags.append((start, time.time()))
        return measured

    def timed_close_days(self: FeedWatcher, moment: Any, *, limit: int | None = None) -> int:
        if not whatifs["close"]:
            return 0
        start = time.time()
        acted = close_days(self, moment, limit=limit)
        if acted or time.time() - start > 0.005:  # a pass that closed days, not a look
            marks.closings.append((start, time.time(), acted))
        return acted

    wanted = limit if limit != runner.BATCH else 0
    idle.Ingestors.pull = timed_pull  # type: ignore[method-assign]
    FeedWatcher.step = timed_step  # type: ignore[method-assign]
    FeedWatcher._write = timed_write  # type: ignore[method-assign]
    FeedWatcher.load = timed_load  # type: ignore[method-assign]
    drop, round_ = runner.Monitor._drop, runner.Monitor.round
    runner.Monitor.round = timed_round  # type: ignore[method-assign]
    runner.Monitor._drop = noted_drop  # type: ignore[method-assign]
    FeedWatcher._move = timed_move  # type: ignore[method-assign]
    FeedWatcher.close_days = timed_close_days  # type: ignore[method-assign]
    runner._lag = timed_lag
    if not whatifs["checkpoint"]:
        FeedWatcher.due = lambda self: False  # type: ignore[method-assign]
    runner.run(stop=stop, owner=owner)
    figures = marks.figures()
    figures["owner"] = owner
    pipe.send(figures)


class Marks:
    """What a monitor process notes of its work (see `monitor_role`)."""

    def __init__(self) -> None:
        # start, end, CPU, events, position read to, age of the newest event read (s), the
        # moment the step itself began (after the pulls), the feed's key
        self.batches: list[tuple[float, float, float, int, int, float, float, str]] = []
        # a checkpoint moved: its first piece's start, the move's end, stages written, lag
        # (events, seconds: as saved; -1 events when not measured)
        self.checkpoints: list[tuple[float, float, int, int, float | None]] = []
        self.writes: list[tuple[float, float, int]] = []  # a piece written: start, end, stages
        # a feed taken (loaded) or dropped (given back, lost): start, end, key, what, stages
        self.moves: list[tuple[float, float, str, str, int]] = []
        self.rounds: list[tuple[float, float, int]] = []  # start, end, events read
        self.lags: list[tuple[float, float]] = []  # measuring the lag: start, end
        self.closings: list[tuple[float, float, int]] = []  # start, end, verdicts
        # a pull that took events in: start, end, how many, the stream id it took in up to
        self.pulls: list[tuple[float, float, int, int]] = []
        self.newest: dict[str, Any] = {}
        from propdesk.platforms import feeds

        kinds: list[Any] = [feeds.LogFeed]
        if feeds.using_nats():
            from propdesk.platforms.natsfeed import NatsFeed

            kinds.append(NatsFeed)
        for kind in kinds:
            kind.read = self.noting(kind.read)

    def noting(self, read: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        def noted(feed: Any, *, after: int, limit: int) -> list[Any]:
            found = read(feed, after=after, limit=limit)
            if found:
                self.newest["t"] = found[-1].payload.get("t")
            return found

        return noted

    def batch(
        self, start: float, cpu: float, count: int, position: int, stepped: float, key: str
    ) -> None:
        end = time.time()
        try:
            age = end - datetime.fromisoformat(str(self.newest.get("t"))).timestamp()
        except ValueError:
            age = float("nan")
        self.batches.append(
            (start, end, time.process_time() - cpu, count, position, age, stepped, key)
        )

    def figures(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "checkpoints": self.checkpoints,
            "lags": self.lags,
            "closings": self.closings,
            "pulls": self.pulls,
            "writes": self.writes,
            "moves": self.moves,
            "rounds": self.rounds,
        }


# --- measuring ----------------------------------------------------------------------------------

SEEN = """
SELECT a.id FROM challenges_stageattempt a
  JOIN challenges_participation p ON p.id = a.participation_id
  JOIN sandbox_account s ON s.login = a.login
 WHERE a.id = ANY(%s) AND a.status = 'failed' AND p.status = 'failed' AND NOT s.trading_enabled
"""
# How far the monitor is behind the stream's head: the events its ingestor has yet to take in
# (stream ids), plus those in the log it has yet to read (log ids, less the position it has read
# to, which the monitor process shares as it reads: its checkpoint is written only every second).
HEAD = """
SELECT coalesce((SELECT max(id) FROM sandbox_event), 0)
     - coalesce((SELECT (position->>'stream')::bigint FROM platforms_ingestcursor LIMIT 1), 0)
     + coalesce((SELECT max(id) FROM platforms_loggedevent), 0)
"""
# With NATS: the events the ingestor has yet to take in (published), and each partition's.
NOT_TAKEN_IN = """
SELECT coalesce((SELECT max(id) FROM sandbox_event), 0)
     - coalesce((SELECT (position->>'stream')::bigint FROM platforms_ingestcursor LIMIT 1), 0)
"""
OWNERS = (
    "SELECT key, owner FROM challenges_monitorcheckpoint"
    " WHERE key LIKE 'log:%' OR key LIKE 'nats:%'"
)


@dataclass
class Behind:
    """How far the monitors are behind the stream's head, in events: `total` (not taken in,
    plus not read), `ingest` (the sandbox's events not taken in yet; with the database log
    counted in `by_owner` too) and `by_owner` (the feeds' unread events, by the process holding
    each feed's lease)."""

    total: int
    ingest: int
    by_owner: dict[str, int]


class Head:
    """Measures `Behind` on this process's connection (`poll`), from the positions the monitor
    processes share as they read (`reached`), with NATS one partition's lag at a time."""

    def __init__(self, poll: psycopg.Connection[Any], reached: Any, partitions: int) -> None:
        self.poll = poll
        self.reached = reached
        self.partitions: list[Any] = []
        if partitions:
            from propdesk.platforms.natsfeed import NatsFeed

            self.partitions = [NatsFeed(p) for p in range(partitions)]

    def __call__(self) -> int:
        return self.measure().total

    def measure(self) -> Behind:
        owners = dict(self.poll.execute(OWNERS).fetchall())
        if not self.partitions:
            row = self.poll.execute(HEAD).fetchone()
            assert row is not None
            total = max(0, (row[0] or 0) - self.reached[0])
            owner = next(iter(owners.values()), "") or ""
            return Behind(total, 0, {owner: total})
        row = self.poll.execute(NOT_TAKEN_IN).fetchone()
        ingest = max(0, int(row[0] if row else 0))
        by_owner: dict[str, int] = defaultdict(int)
        for p, feed in enumerate(self.partitions):
            unread = feed.lag(after=self.reached[p]).events
            by_owner[owners.get(f"nats:{p}") or ""] += unread
        return Behind(ingest + sum(by_owner.values()), ingest, dict(by_owner))

    def close(self) -> None:
        for feed in self.partitions:
            feed.close()


@dataclass
class Run:
    sent: dict[int, float]
    seen: dict[int, float]
    lags: list[tuple[float, Behind]]  # (time, how far behind) during the samples
    warm_lag: int
    feed: dict[str, Any]
    monitors: list[dict[str, Any]]  # each monitor process's figures (Marks.figures, its owner)
    sampling: tuple[float, float]
    cursor: list[int]  # where the monitors stopped reading, by feed (`slot`)


def receive(pipe: Any, process: Any, what: str, seconds: float = 600.0) -> Any:
    """What a child sends, or the end of the run if it died or went quiet."""
    waited = time.time()
    while not pipe.poll(1.0):
        if not process.is_alive() or time.time() - waited > seconds:
            process.kill()
            raise SystemExit(f"{what}: the {process.name} process died or hung (see above)")
    return pipe.recv()


def measure(args: argparse.Namespace, url: str, ladder: list[Sample]) -> Run:
    """Start the monitors, let them read the history, start the feed, warm up, take the samples;
    then stop the monitors and (when a profile will follow) let the feed build a backlog."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    partitions = args.partitions if args.log == "nats" else 0
    reached = ctx.Array("q", max(1, partitions))  # the positions read to, by feed (`slot`)
    pipes, watchers = [], []
    for k in range(args.monitors):
        monitor_end, monitor_here = ctx.Pipe()
        owner = f"bench-monitor-{k + 1}"
        watchers.append(
            ctx.Process(
                target=monitor_role,
                args=(url, stop, monitor_end, args.batch, whatif(args), reached, owner),
                name=owner,
            )
        )
        pipes.append(monitor_here)
    feed_end, feed_here = ctx.Pipe()
    rungs = [(str(s.bid), str(s.ask)) for s in ladder]
    ticker = ctx.Process(
        target=feed_role, args=(url, args.rate, args.flush, rungs, feed_end), name="feed"
    )
    for watcher in watchers:
        watcher.start()
    rng = random.Random(23)
    with psycopg.connect(url, autocommit=True) as poll:
        behind = Head(poll, reached, partitions)
        # The stream's history (fundings, orders) first, as a monitor running all along had.
        began = time.time()
        history = behind()
        while behind() > 0 and time.time() - began < args.warmup:
            time.sleep(0.2)
        took = time.time() - began
        say(
            f"monitor: the stream's history ({history:,} events) read in {took:.1f} s "
            f"({history / took:,.0f} events/s); {behind():,} left"
        )
        ticker.start()
        _, accounts, loaded = receive(feed_here, ticker, "the feed's start")
        say(f"feed: {accounts:,} accounts loaded and first snapshots written in {loaded:.1f} s")
        began = time.time()
        lag = behind()
        while time.time() - began < args.warmup:
            time.sleep(1.0)
            lag = behind()
            waited = time.time() - began
            if lag <= args.caught_up and waited >= 5:
                break
            if round(waited) % 5 == 0:
                say(f"  warm-up {waited:5.0f} s: the monitor is {lag:,} events behind")
        say(f"  warm-up over after {time.time() - began:.0f} s: {lag:,} events behind")
        warm_lag = lag
        sent: dict[int, float] = {}
        seen: dict[int, float] = {}
        pending: dict[int, int] = {}  # attempt -> rung
        lags: list[tuple[float, Behind]] = []
        rung = 0
        start = next_send = next_lag = time.time()
        deadline = float("inf")
        while True:
            now = time.time()
            if rung < len(ladder) and now >= next_send:
                feed_here.send(rung)
                sent[rung] = now
                pending[ladder[rung].attempt] = rung
                rung += 1
                next_send = now + args.gap * rng.uniform(0.5, 1.5)
                if rung == len(ladder):
                    deadline = now + args.timeout
            if pending:
                asked = time.time()
                for (attempt,) in poll.execute(SEEN, (list(pending),)).fetchall():
                    seen[pending.pop(attempt)] = asked
            if now >= next_lag:
                lags.append((now, behind.measure()))
                next_lag = now + 1.0
            if rung == len(ladder) and (not pending or now > deadline):
                break
            time.sleep(args.poll)
        sampling = (start, time.time())
        stop.set()
        monitors = [
            receive(here, watcher, "the monitor's figures")
            for here, watcher in zip(pipes, watchers, strict=True)
        ]
        for watcher in watchers:
            watcher.join()
        final = [int(reached[k]) for k in range(max(1, partitions))]
        # The feed goes on alone: a backlog of real batches for the profile, which follows when
        # the aim may be missed (seen - sent is never less than the latency).
        bounds = [seen[k] - sent[k] for k in seen]
        doubt = len(seen) < len(ladder) or pct(bounds, 0.99) * 1000 >= AIM_P99_MS
        waited = time.time()
        while (args.profile or doubt) and behind() < args.backlog_events:
            if time.time() - waited > args.backlog:
                break
            time.sleep(0.5)
        feed_here.send(None)
        fed = receive(feed_here, ticker, "the feed's figures")
        ticker.join()
        behind.close()
    return Run(sent, seen, lags, warm_lag, fed, monitors, sampling, final)


BREACHING_IN_LOG = """
SELECT DISTINCT ON (e.account_id) e.account_id, 'log:' || a.server_id, l.id FROM sandbox_event e
  JOIN sandbox_account a ON a.id = e.account_id
  LEFT JOIN platforms_loggedevent l ON l.server_id = a.server_id AND l.source = 'sandbox:' || e.id
 WHERE e.account_id = ANY(%s) AND e.payload->>'type' = 'equity'
   AND (e.payload->>'equity')::numeric < %s
 ORDER BY e.account_id, e.id
"""


BREACHING_IN_STREAM = """
SELECT DISTINCT ON (e.account_id) e.account_id, 0, e.id FROM sandbox_event e
 WHERE e.account_id = ANY(%s) AND e.payload->>'type' = 'equity'
   AND (e.payload->>'equity')::numeric < %s
 ORDER BY e.account_id, e.id
"""


def breaching(
    conn: psycopg.Connection[Any], ladder: list[Sample], nats: bool
) -> dict[int, tuple[str, int] | None]:
    """Each sample's breaching snapshot (by account): its feed's key and its position there
    (None: never taken in). With NATS, read from its account's subject."""
    if not nats:
        rows = conn.execute(BREACHING_IN_LOG, ([s.account for s in ladder], FLOOR)).fetchall()
        return {account: (key, id_) if id_ is not None else None for account, key, id_ in rows}
    from propdesk.platforms import natslog
    from propdesk.platforms.natsfeed import NatsFeed

    servers = dict(
        conn.execute(
            "SELECT id, server_id FROM sandbox_account WHERE id = ANY(%s)",
            ([s.account for s in ladder],),
        ).fetchall()
    )
    found: dict[int, tuple[str, int] | None] = {}
    for sample in ladder:
        with NatsFeed(natslog.partition_of(sample.login)) as feed:
            events = feed.account_events(servers[sample.account], sample.login, after=0, upto=2**62)
        below = [
            e
            for e in events
            if e.payload.get("type") == "equity" and Decimal(str(e.payload["equity"])) < FLOOR
        ]
        found[sample.account] = (feed.key, below[0].position) if below else None
    return found


def report(args: argparse.Namespace, url: str, ladder: list[Sample], run: Run) -> float:
    """Print the figures; returns the p99 in ms (infinity when a sample was never seen)."""
    fed, nats = run.feed, args.log == "nats"
    t0 = {rung: at for rung, at, _ in fed["breaches"]}
    batch_of = {rung: index for rung, _, index in fed["breaches"]}
    latency = {k: run.seen[k] - t0[k] for k in run.seen if k in t0}
    missed = len(ladder) - len(latency)
    values = list(latency.values())
    with psycopg.connect(url, autocommit=True) as conn:
        first = breaching(conn, ladder, nats)
        in_stream = {
            a: id_
            for a, _, id_ in conn.execute(
                BREACHING_IN_STREAM, ([s.account for s in ladder], FLOOR)
            ).fetchall()
        }
        row = conn.execute(
            "SELECT count(DISTINCT account_id) FROM sandbox_position WHERE closed_at IS NULL"
        ).fetchone()
        holding = (row[0] if row else 0) - len(ladder)
        ended: dict[int, float | None] = dict(
            conn.execute(
                "SELECT id, extract(epoch FROM ended_at)::float8 FROM challenges_stageattempt"
                " WHERE id = ANY(%s)",
                ([s.attempt for s in ladder],),
            ).fetchall()
        )
    # Every process's batches by feed, in the order of the positions they read to.
    by_key: dict[str, list[tuple[int, int, Any]]] = defaultdict(list)
    for who, monitor in enumerate(run.monitors):
        for b in monitor["batches"]:
            by_key[b[7]].append((b[4], who, b))
    for rows in by_key.values():
        rows.sort(key=lambda r: r[0])
    positions = {key: [r[0] for r in rows] for key, rows in by_key.items()}
    # The pull that took a snapshot in: the first whose stream position reached its id.
    pulls = sorted((p for m in run.monitors for p in m["pulls"]), key=lambda p: p[3])
    pulled = [p[3] for p in pulls]
    parts: dict[str, list[float]] = defaultdict(list)
    stalled: list[float] = []
    slow = 0
    for k, total in latency.items():
        sample = ladder[k]
        index = batch_of[k]
        event = first.get(sample.account)
        if index >= len(fed["committed"]) or event is None or ended.get(sample.attempt) is None:
            continue
        key, position = event
        handed, committed = fed["handed"][index], fed["committed"][index]
        at = bisect.bisect_left(positions.get(key, []), position)  # the batch that passed it
        if at == len(positions.get(key, [])):
            continue
        _, who, batch = by_key[key][at]
        start, end, stepped = batch[0], batch[1], batch[6]
        parts["tick -> batch handed to the feed's writer"].append(handed - t0[k])
        parts["handed -> committed (the feed's write)"].append(committed - handed)
        if nats:  # the pull (by the ingest lease's holder) and the read may be two processes
            taken = bisect.bisect_left(pulled, in_stream.get(sample.account) or 2**62)
            if taken < len(pulls):
                began_, done = pulls[taken][0], pulls[taken][1]
                parts["committed -> the pull that took it in began"].append(began_ - committed)
                parts["the pull (published to NATS, acknowledged)"].append(done - began_)
                parts["pull returned -> the step that read it began"].append(stepped - done)
        else:
            parts["committed -> the monitor's batch began"].append(start - committed)
            parts["batch began -> its step began (the pulls)"].append(stepped - start)
        parts["step began -> stage concluded (ended_at)"].append(ended[sample.attempt] - stepped)
        parts["concluded -> the batch's commit returned"].append(end - ended[sample.attempt])
        parts["returned -> seen here (query start)"].append(run.seen[k] - end)
        parts["(total)"].append(total)
        # How much of its wait for the monitor's batch the monitor spent writing checkpoints.
        if total * 1000 >= AIM_P99_MS:
            stalled.append(
                sum(
                    max(0.0, min(w[1], start) - max(w[0], committed))
                    for w in run.monitors[who]["writes"]
                )
            )
            slow += 1

    say("")
    say(
        f"breach latency, tick -> account disabled + stage and participation failed "
        f"(seen from another connection, polled every {args.poll * 1000:g} ms):"
    )
    if values:
        p99 = pct(values, 0.99) * 1000 if not missed else float("inf")
        verdict = "ok" if p99 < AIM_P99_MS else "MISSED"
        say(f"  {spread(values)}   n={len(values)}, {missed} never seen within {args.timeout:g} s")
        say(f"  aim: p99 < {AIM_P99_MS:g} ms: {verdict}")
        ordered = [latency[k] for k in sorted(latency)]
        quarter = max(1, len(ordered) // 4)
        early, late = statistics.median(ordered[:quarter]), statistics.median(ordered[-quarter:])
        say(
            f"  median of the first quarter of the samples {early * 1000:.1f} ms,"
            f" of the last quarter {late * 1000:.1f} ms"
        )
    else:
        p99 = float("inf")
        say(f"  no sample was seen within {args.timeout:g} s")
    unseen = [first.get(s.account) for k, s in enumerate(ladder) if k not in latency]
    short = sorted(pos - run.cursor[slot(key)] for key, pos in filter(None, unseen))
    if short:
        say(
            f"  {len(short)} never seen: the monitors stopped {short[0]:,} to {short[-1]:,} "
            f"positions short of their breaching snapshots in their feeds"
        )
    if len(short) < len(unseen):
        say(f"  {len(unseen) - len(short)} never seen: their snapshots never reached the log")
    say(f"  where it goes (n={len(parts['(total)'])}):")
    for label, part in parts.items():
        say(f"    {label:<46} {spread(part)}")
    if slow:
        hit = [x for x in stalled if x > 0]
        say(
            f"  of the {slow} samples over {AIM_P99_MS:g} ms, {len(hit)} waited (committed -> "
            f"batch began) while their monitor wrote a checkpoint: {spread(hit)} of such waiting"
        )

    start, end = run.sampling
    say("")
    say(
        f"background: {fed['ticks'] / fed['seconds']:.1f} ticks/s (asked {args.rate:g}) over "
        f"{len(BACKGROUND_SYMBOLS)} instruments, {holding:,} of {args.stages - len(ladder):,} "
        f"accounts holding {args.positions} positions; the feed wrote "
        f"{fed['written'] / fed['seconds']:,.0f} snapshots/s (flush every {args.flush * 1000:g} "
        f"ms); feed CPU {fed['cpu'] / fed['seconds']:.0%} of a core; {os.cpu_count()} CPUs"
    )
    totals = [b.total for _, b in run.lags] or [0]
    consumed = sum(b[3] for m in run.monitors for b in m["batches"] if start <= b[0] <= end)
    say(
        f"monitors ({len(run.monitors)} process(es), log: {args.log}): consumed "
        f"{consumed / (end - start):,.0f} events/s in all while sampling; events behind the "
        f"stream head at the start {run.warm_lag:,}, while sampling median "
        f"{statistics.median(totals):,.0f} max {max(totals):,}"
        + (
            f" (of which not taken in from the sandbox yet: median "
            f"{statistics.median([b.ingest for _, b in run.lags] or [0]):,.0f} max "
            f"{max([b.ingest for _, b in run.lags] or [0]):,})"
            if nats
            else ""
        )
    )
    for monitor in run.monitors:
        monitor_report(args, monitor, run)
    return p99


def monitor_report(args: argparse.Namespace, monitor: dict[str, Any], run: Run) -> None:
    """One monitor process's figures while sampling."""
    start, end = run.sampling
    window = end - start
    owner = monitor["owner"]
    during = [b for b in monitor["batches"] if start <= b[0] <= end]
    consumed = sum(b[3] for b in during)
    unread = [b.by_owner.get(owner, 0) for _, b in run.lags] or [0]
    held = sorted({b[7] for b in during}, key=slot)
    say(
        f"{owner} (feeds {', '.join(held) or 'none'}): consumed {consumed / window:,.0f} events/s "
        f"while sampling ({len(during)} batches in {window:.0f} s); its feeds' unread events "
        f"(measured here every second) median {statistics.median(unread):,.0f} max "
        f"{max(unread):,}"
    )
    if during:
        say(f"  batch time        {spread([b[1] - b[0] for b in during])}")
        say(f"  batch CPU         {spread([b[2] for b in during])}")
        say(f"  of which the pulls {spread([b[6] - b[0] for b in during])}  (before the step)")
        sizes = [float(b[3]) for b in during]
        say(
            f"  events per batch  median {statistics.median(sizes):,.0f}  max {max(sizes):,.0f}; "
            f"{sum(b[1] - b[0] for b in during) / consumed * 1e6:,.0f} us of batch per event"
        )
        ages = [b[5] for b in during if not math.isnan(b[5])]
        say(
            f"  seconds behind: the newest event a batch read, its age at the batch's end "
            f"(its platform time to read and applied): {spread(ages)}"
        )
    moved = [m for m in monitor["moves"] if start <= m[0] <= end]
    if moved:
        say(
            f"  feeds taken or dropped while sampling ({len(moved)}; seconds from the start): "
            + ", ".join(
                f"{key} {what} +{at - start:.1f} s"
                + (f" ({n:,} stages, {took - at:.2f} s)" if what == "taken" else "")
                for at, took, key, what, n in moved[:24]
            )
        )
    rounds = [r[1] - r[0] for r in monitor["rounds"] if start <= r[0] <= end]
    if rounds:
        from propdesk.challenges.monitoring import checkpoints

        say(
            f"  rounds (Monitor.round: pulls, every feed's step, days, checkpoint pieces) "
            f"{spread(rounds)}  n={len(rounds)}, {sum(1 for r in rounds if r >= 0.5)} of 0.5 s "
            f"or more, {sum(1 for r in rounds if r >= checkpoints.LEASE)} as long as a lease "
            f"({checkpoints.LEASE:g} s) or more"
        )
    pulls = [p for p in monitor["pulls"] if start <= p[0] <= end]
    if pulls:
        say(
            f"  the ingestor's pulls that took events in: {spread([p[1] - p[0] for p in pulls])}"
            f"  n={len(pulls)}, {sum(p[2] for p in pulls) / window:,.0f} events/s taken in"
        )
    writes = [w for w in monitor["writes"] if start <= w[0] <= end]
    moves = [c for c in monitor["checkpoints"] if start <= c[1] <= end]
    looks = [m for m in monitor["lags"] if start <= m[0] <= end]
    closed = [c for c in monitor["closings"] if start <= c[0] <= end]
    shares = [
        ("batches (from the pull)", sum(b[1] - b[0] for b in during)),
        ("checkpoints' writes", sum(w[1] - w[0] for w in writes)),
        ("measuring the lag", sum(m[1] - m[0] for m in looks)),
        ("closing days", sum(c[1] - c[0] for c in closed)),
    ]
    rest = window - sum(x for _, x in shares)
    say(
        f"  its {window:.0f} s while sampling: "
        + ", ".join(f"{name} {x:.1f} s ({x / window:.0%})" for name, x in shares)
        + f", the rest (idle, rounds) {rest:.1f} s ({rest / window:.0%})"
    )
    if writes:
        say(
            f"  checkpoints' writes (write_some, a piece a round) "
            f"{spread([w[1] - w[0] for w in writes])}"
            f"  n={len(writes)}, {statistics.median([w[2] for w in writes]):,.0f} stages a piece "
            f"(median)"
        )
    if moves:
        saved = [c for c in moves if c[3] >= 0]
        say(
            f"  checkpoints moved {len(moves)} times ({len(moves) / window:.1f} a second); a cycle "
            f"(first write -> moved) {spread([c[1] - c[0] for c in moves])}, "
            f"{statistics.median([c[2] for c in moves]):,.0f} stages written (median)"
            + (
                f"; lag it measured and saved: median "
                f"{statistics.median([c[3] for c in saved]):,.0f} max "
                f"{max(c[3] for c in saved):,} events behind, max "
                f"{max(c[4] or 0.0 for c in saved):.3f} s behind"
                if saved
                else ""
            )
        )
    if looks:
        looked = spread([m[1] - m[0] for m in looks])
        say(f"  measuring the lag {looked}  (runner._lag, before each checkpoint moves)")
    closings = monitor["closings"]
    if closings:
        took = [c[1] - c[0] for c in closings]
        say(
            f"  close_days passes {spread(took)}  n={len(closings)}; "
            f"{statistics.median(took) * 1e3:,.1f} ms a pass (median)"
        )
    else:
        say("  close_days: no day came due (each look for due stages is one indexed query)")


# --- where the monitor's time goes --------------------------------------------------------------


def profile(batches: int, partitions: int) -> None:
    """`FeedWatcher.step` on real batches of the backlog the feed left (the stopped monitor's
    feed, loaded from its checkpoint as a monitor taking it over would; with NATS, the
    partition furthest behind): cProfile and SQL time by statement; then the checkpoint that
    follows them, a day's reset (every stage's day closed, then the checkpoint that writes them
    all) and the unit costs a batch repeats."""
    from django.db import connection

    from propdesk.challenges.monitoring import idle
    from propdesk.challenges.monitoring.monitor import BATCH
    from propdesk.challenges.monitoring.watcher import FeedWatcher
    from propdesk.platforms import feeds
    from propdesk.platforms.sandbox import accounts as sandbox_accounts

    server = sandbox_accounts.default_server()
    by_kind: dict[str, list[float]] = defaultdict(list)

    say("")
    say(
        f"profile: FeedWatcher.step on the backlog: 1 batch to warm, 2 under cProfile, then "
        f"{batches} timed (the feed and the monitor stopped; {load_average()})"
    )
    # The backlog is in the sandbox's stream: the ingestor's pulls take it into the log first
    # (in the monitor's rounds they come before each read).
    ingestors, pulls, taken = idle.Ingestors(), [], 0
    while taken < (batches + 4) * BATCH * max(1, partitions):  # a batch left for the unit costs
        start = time.perf_counter()
        count = ingestors.pull(server) or 0
        pulls.append(time.perf_counter() - start)
        taken += count
        if not count:
            break
    ingestors.close()
    say(
        f"  the ingestor's pulls: {len(pulls)} took {taken:,} events into the log, "
        f"{statistics.mean(pulls) * 1000:.0f} ms a pull, "
        f"{sum(pulls) / max(1, taken) * 1e6:.1f} us an event"
    )
    key = feeds.LogFeed(server).key
    if partitions:
        key = furthest_behind(partitions)
    watcher = FeedWatcher(key)
    start = time.perf_counter()
    watcher.load()
    took = time.perf_counter() - start
    say(
        f"  load(): {len(watcher.entries):,} running stages in {took:.1f} s "
        f"({took / max(1, len(watcher.entries)) * 1e6:.0f} us a stage; a feed taken over)"
    )
    start = time.perf_counter()
    lag = watcher.feed.lag(after=watcher.position)
    say(
        f"  {key}: feed.lag() {lag.events:,} events behind: "
        f"{(time.perf_counter() - start) * 1000:.1f} ms (runner._lag, before each checkpoint)"
    )
    watcher.step(limit=BATCH)  # warm: the first batch's imports and caches stay out
    profiler = cProfile.Profile()
    for _ in range(2):
        profiler.enable()
        watcher.step(limit=BATCH)
        profiler.disable()
    walls: list[float] = []
    events = 0
    with connection.execute_wrapper(timed(by_kind)):
        for _ in range(batches):
            start = time.perf_counter()
            read = watcher.step(limit=BATCH)
            walls.append(time.perf_counter() - start)
            events += read
            if not read:
                break
    if events:
        summarise(walls, events, by_kind, profiler)
    else:
        say("  the backlog ran out: nothing left to time (try a longer --backlog)")
    checkpoint_cost(watcher, by_kind)
    unit_costs(watcher)
    day_reset(watcher, by_kind)


def furthest_behind(partitions: int) -> str:
    """The NATS partition with the most events after its checkpoint."""
    from propdesk.challenges.models import MonitorCheckpoint
    from propdesk.platforms.natsfeed import NatsFeed

    saved = dict(MonitorCheckpoint.objects.values_list("key", "position"))
    behind: dict[str, int] = {}
    for p in range(partitions):
        with NatsFeed(p) as feed:
            behind[feed.key] = feed.lag(after=saved.get(feed.key, 0)).events
    return max(behind, key=lambda k: behind[k])


def checkpoint_cost(watcher: Any, by_kind: dict[str, list[float]]) -> None:
    """The checkpoint after the profiled batches: every stage they changed, written."""
    from django.db import connection

    dirty = sum(1 for e in watcher.entries.values() if e.dirty)
    by_kind.clear()
    start = time.perf_counter()
    with connection.execute_wrapper(timed(by_kind)):
        watcher.checkpoint()
    took = time.perf_counter() - start
    say(
        f"  checkpoint(): {dirty:,} stages changed since the last, written in "
        f"{took * 1000:.0f} ms ({took / max(1, dirty) * 1e6:.0f} us a stage); SQL "
        + ", ".join(f"{k} {sum(v) * 1000:.0f} ms" for k, v in sorted(by_kind.items()))
    )


def day_reset(watcher: Any, by_kind: dict[str, list[float]]) -> None:
    """A day's end: every stage's day closed at once (`close_days`, in memory; the running
    monitor does it `runner.DAYS_AT_ONCE` a round), then the checkpoint writing them all; rolled
    back."""
    from django.db import connection, transaction

    ends = [e.evaluator.day_end for e in watcher.entries.values() if e.evaluator.day_end]
    if not ends:
        say("  day reset: no stage has a day end yet")
        return
    for entry in watcher.entries.values():
        entry.attempt.day_end = entry.evaluator.day_end
    moment = max(ends) + timedelta(seconds=1)
    with transaction.atomic():
        start = time.perf_counter()
        acted = watcher.close_days(moment)
        closing = time.perf_counter() - start
        dirty = sum(1 for e in watcher.entries.values() if e.dirty)
        by_kind.clear()
        start = time.perf_counter()
        with connection.execute_wrapper(timed(by_kind)):
            watcher.checkpoint()
        writing = time.perf_counter() - start
        transaction.set_rollback(True)
    say(
        f"  day reset: close_days() of {len(ends):,} stages {closing * 1000:.0f} ms "
        f"({closing / len(ends) * 1e6:.0f} us a stage, {acted} verdicts or pauses), then the "
        f"checkpoint of {dirty:,} stages {writing * 1000:.0f} ms "
        f"({writing / max(1, dirty) * 1e6:.0f} us a stage)"
    )


def unit_costs(watcher: Any) -> None:
    """What a batch and a checkpoint repeat, per event or per stage (means)."""
    from django.db import transaction

    from propdesk.challenges.monitoring.monitor import _run, write_states
    from propdesk.rules.evaluator import Evaluator
    from propdesk.rules.parse import parse_event

    entries = list(watcher.entries.values())[:200]
    if not entries:
        return
    say("  unit costs (means):")

    def unit(label: str, count: int, work: Callable[[], Any]) -> None:
        start = time.perf_counter()
        work()
        say(f"    {label:<66} {(time.perf_counter() - start) / max(1, count) * 1e6:7.1f} us")

    found = watcher.feed.read(after=watcher.position, limit=2000)  # not applied yet
    if not found:
        say("    (no events left after the timed batches: no per-event costs; a longer --backlog)")
    unit(
        f"feed.read(), an event of a batch of {len(found):,}" if found else "feed.read(), empty",
        len(found),
        lambda: watcher.feed.read(after=watcher.position, limit=2000),
    )
    unit("parse_event(), an event", len(found), lambda: [parse_event(e.payload) for e in found])
    by_login: dict[str, list[Any]] = defaultdict(list)
    for event in found:
        by_login[event.login].append((event.position, event.payload))
    copies = {}
    for (_, login), entry in watcher.entries.items():
        if login in by_login:
            copies[login] = Evaluator.from_state(entry.evaluator.rules, entry.evaluator.state())
    fed = sum(len(by_login[login]) for login in copies)
    unit(
        "_run(): an event through its stage's rules (parse, feed)",
        fed,
        lambda: [_run(copies[login], by_login[login]) for login in copies],
    )
    states = [e.evaluator.state() for e in entries]
    unit("evaluator.state(), a stage", len(entries), lambda: [e.evaluator.state() for e in entries])
    unit("json.dumps of a state, a stage", len(states), lambda: [json.dumps(x) for x in states])
    for entry, state in zip(entries, states, strict=True):
        entry.attempt.evaluator_state = state
    with transaction.atomic():
        unit(
            f"write_states() of {len(entries)}, a stage",
            len(entries),
            lambda: write_states([e.attempt for e in entries]),
        )
        transaction.set_rollback(True)


def summarise(
    walls: list[float], events: int, by_kind: dict[str, list[float]], profiler: cProfile.Profile
) -> None:
    """The timed batches' figures and SQL by statement, then the profiled batches' top calls."""
    total = sum(walls)
    say(
        f"  {len(walls)} batches, {events:,} events: {total / len(walls) * 1000:.0f} ms a batch, "
        f"{total / max(1, events) * 1e6:.0f} us an event ({events / total:,.0f} events/s)"
    )
    say("  SQL by statement (wall time in this process, round trips included):")
    sql_total = 0.0
    for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1])):
        sql_total += sum(times)
        say(
            f"    {kind:<52} {len(times):6,} x {statistics.mean(times) * 1e6:6.0f} us"
            f" = {sum(times) * 1000:7.0f} ms ({sum(times) / total:4.0%})"
        )
    say(
        f"    all SQL: {sql_total * 1000:.0f} ms of {total * 1000:.0f} ms ({sql_total / total:.0%})"
        "; the rest is Python (decoding the payloads, the rules, the curve)"
    )
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(25)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    say("\n".join("    " + line for line in lines if not line.startswith(("Ordered", "   List"))))


def timed(by_kind: dict[str, list[float]]) -> Callable[..., Any]:
    def wrapper(execute: Callable[..., Any], text: str, params: Any, many: bool, ctx: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(text, params, many, ctx)
        finally:
            by_kind[statement_kind(text)].append(time.perf_counter() - start)

    return wrapper


def statement_kind(text: str) -> str:
    words = text.split()
    verb = words[0].upper() if words else "?"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?([a-z_]+)"?', text, re.IGNORECASE)
    name = table.group(1) if table else ""
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return f"{verb} (savepoints)"
    if verb == "SELECT" and "FOR UPDATE" in text.upper():
        return f"SELECT {name} FOR UPDATE"
    return f"{verb} {name}".strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=10_000, help="running stages (accounts)")
    parser.add_argument("--samples", type=int, default=200, help="breaches measured")
    parser.add_argument("--positions", type=int, default=3, help="per background account (1-4)")
    parser.add_argument(
        "--holding", type=float, default=1.0, help="share of the other accounts holding positions"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="background ticks a second")
    parser.add_argument("--flush", type=float, default=0.02, help="the feed's writes, seconds")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between breaches")
    parser.add_argument("--poll", type=float, default=0.002, help="seconds between polls")
    parser.add_argument("--warmup", type=float, default=60.0, help="most seconds to catch up")
    parser.add_argument("--caught-up", type=int, default=2000, help="events behind: caught up")
    parser.add_argument("--timeout", type=float, default=30.0, help="after the last breach")
    parser.add_argument("--profile", action="store_true", help="profile even if the aim is met")
    parser.add_argument("--profile-batches", type=int, default=5)
    parser.add_argument("--backlog", type=float, default=60.0, help="most seconds of feed alone")
    parser.add_argument(
        "--monitor-batch", type=int, default=0, help="what-if: the monitor's batch size"
    )
    parser.add_argument(
        "--no-close-days", action="store_true", help="what-if: the monitor closes no days"
    )
    parser.add_argument(
        "--no-checkpoints",
        action="store_true",
        help="what-if: the monitor writes no checkpoint while it runs",
    )
    parser.add_argument(
        "--log", choices=("database", "nats"), default="database", help="the account-event log"
    )
    parser.add_argument("--monitors", type=int, default=1, help="monitor processes (NATS: > 1)")
    parser.add_argument("--partitions", type=int, default=8, help="PROPDESK_EVENT_PARTITIONS")
    parser.add_argument("--nats", default=NATS_URL, help="the NATS server (--log nats)")
    parser.add_argument("--db", default="propdesk_bench_breach", help="dropped and re-created")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep-db", action="store_true", help="do not drop it at the end")
    args = parser.parse_args()
    if not 1 <= args.samples <= args.stages // 2:
        parser.error("--samples is between 1 and half of --stages")
    if args.db in ("postgres", "test", "template0", "template1"):
        parser.error("--db names the benchmark's own database")
    if args.monitors < 1 or (args.monitors > 1 and args.log != "nats"):
        parser.error("--monitors: 1, or more with --log nats (the database log is one feed here)")

    began = time.perf_counter()
    stream = use_nats(args) if args.log == "nats" else ""
    url = recreate(args)
    setup_django(url)  # the settings in os.environ: every process started inherits them
    from propdesk.platforms import natslog

    if stream:
        natslog.ensure_stream()
    try:
        return run_benchmark(args, url, began, stream)
    finally:
        if stream and not args.keep_db:
            natslog.delete_stream(stream)


def use_nats(args: argparse.Namespace) -> str:
    """The log on NATS for this process and every one it starts, in a stream of the run's own
    (deleted at the end); returns its name."""
    stream = f"BENCH_BREACH_{uuid.uuid4().hex[:12].upper()}"
    os.environ["PROPDESK_EVENT_LOG"] = args.nats
    os.environ["PROPDESK_EVENT_STREAM"] = stream
    os.environ["PROPDESK_EVENT_PARTITIONS"] = str(args.partitions)
    return stream


def run_benchmark(args: argparse.Namespace, url: str, began: float, stream: str) -> int:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    ladder = fill(args)
    from propdesk.challenges.monitoring.monitor import BATCH

    args.batch = args.monitor_batch or BATCH
    # warm, profiled, timed, units (with NATS, in the partition furthest behind of them all)
    args.backlog_events = (args.profile_batches + 4) * BATCH
    if stream:
        args.backlog_events *= args.partitions
    args.monitor_batch = args.batch if args.monitor_batch else 0
    connection.close()
    vacuum(url)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('shared_buffers'),"
            " current_setting('synchronous_commit'), current_setting('fsync')"
        ).fetchone()
    assert row is not None
    say(
        f"PostgreSQL {row[0]} (shared_buffers {row[1]}, synchronous_commit {row[2]}, "
        f"fsync {row[3]}); {load_average()}"
    )
    whatifs = [
        f"the monitor's batches of {args.monitor_batch} events" if args.monitor_batch else "",
        "no day closing (close_days off)" if args.no_close_days else "",
        "no checkpoints while running" if args.no_checkpoints else "",
    ]
    if any(whatifs):
        say("WHAT-IF, not the monitor as it ships: " + "; ".join(w for w in whatifs if w))
    say(
        f"filled {args.stages:,} running stages ({len(ladder)} on the breach ladder) in "
        f"{time.perf_counter() - began:.0f} s (with migrate); {os.cpu_count()} CPUs; log: "
        + (f"NATS stream {stream}, {args.partitions} partitions" if stream else "database")
        + f"; {args.monitors} monitor process(es)"
    )
    try:
        run = measure(args, url, ladder)
        p99 = report(args, url, ladder, run)
        if args.profile or p99 >= AIM_P99_MS:
            profile(args.profile_batches, args.partitions if args.log == "nats" else 0)
    finally:
        connection.close()
        if not args.keep_db:
            with psycopg.connect(
                host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
            ) as admin:
                name = sql.Identifier(args.db)
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    say(f"whole run: {time.perf_counter() - began:.0f} s; {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
