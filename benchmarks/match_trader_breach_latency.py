"""How soon a breach on Match-Trader stops trading: from the tick on the fake Match-Trader
server that takes one account below its daily-loss floor to the moment the platform records
the account's access change (the fake's access log, timed by the fake), with 1,000 running
stages on that server.

    .venv/bin/python benchmarks/match_trader_breach_latency.py [--db postgres|sqlite]
        [--stages 1000] [--samples 60] [--rate-limit 500] [--background 2]

Every process drops its emails (Django's dummy backend, unless PROPDESK_EMAIL_BACKEND says
otherwise): the output is the figures. The database is the benchmark's own: on PostgreSQL
`propdesk_bench_mt` on 127.0.0.1:5432 as `postgres`, dropped and created again; on SQLite a new
file in a temporary directory. Then:

- The fake Match-Trader server runs in a process of its own (`FakeMatchTrader`, what `propdesk
  fake-platform match-trader` serves, here without a state file, prices still but for this
  benchmark's ticks), with no request limit while the stages are set up.
- A trading server for it is saved and a 1-step challenge on it published through their use
  cases (daily loss 5% of the previous day's balance, max loss 10% static, target 8%). The
  clients and their active participations are created in bulk; each first stage is opened by
  `lifecycle.open_stage`, which writes its account's opening command to the outbox, and the
  outbox (`run_due`, the worker's turn, in this process) opens every account on the fake
  through the Match-Trader adapter: real accounts, each funded by a deposit.
- Positions, as the trader would open them (the fake's trader control): the samples (every
  `stages / samples`-th account) hold 10 lots of XAUUSD bought 0.02 apart, so that each tick of
  a falling ladder takes exactly one more of them to 94,990 (under the 95,000 floor) and no
  other; every other account holds one position of EURUSD, GBPUSD or US30, which this process
  moves `--background` times a second (a random walk: the ingestor writes their new lows and
  highs, the monitor reads them). Nobody else holds gold, and only the ladder moves it.
- Then the fake's request limit becomes `--rate-limit` a minute (Match-Trader documents 500,
  per broker key), and `propdesk worker` and `propdesk monitor` start as processes of their
  own (`Worker.run`, `monitor.run`), with their Broker API clients' own limit (500 a minute
  each, as shipped; `--rate-limit` other than 500 is a what-if and changes theirs too).
- Once the monitor has read every account's first snapshot, a ladder tick every `--gap`
  seconds (+-50%); each is timed here just before it is sent, and its account's access change
  is read from the fake's access log (`/_fake/access-log`, polled every `--poll` seconds).

- Last, the monitor is stopped and started again (a new process, so a new ingestor), and the
  last sample's breach is ticked as it starts: how long until Match-Trader is watched again.

It prints the latency's median, p90, p99 and max, where the time goes (tick -> the ingestor's
pull that saw it began -> the stage concluded -> the access command done -> the platform's
access change), the monitor's pulls (how often, how long, how many requests), the restart, and
what the worker and the monitor asked of the fake. What-ifs, named as such in the output, never
the default: `--rate-limit` other than 500, `--pull-every` (the ingestor's shortest time
between pulls; 0.2 is how it pulled before it paced itself to the budget).

Measured (December 2026, 2 cores shared with other work at a load average of 2-3, 1,000
stages, 59 breaches 1.5 s apart, 2 background ticks/s): on SQLite median 633 ms, p90 1.06 s,
p99 1.27 s; on PostgreSQL median 780 ms, p90 1.40 s, p99 1.94 s. A third is the wait for the
next pull (one every 0.5 s: 3 requests each, under 400 a minute), most of the rest the pull
(260-290 ms median: the fake lists 1,000 accounts and their positions in about 35 ms, the rest is
propdesk reading them, planning the events and appending them) and the verdict; the access
command (two requests) about 0.1 s. A restarted monitor's first complete pull began 2-3 s after
its process, and a breach ticked as it started was seen 2.8-2.9 s later. Earlier figures (median
0.5-0.6 s, p99 about 1.1 s) were taken before the ingestor read the ledger of accounts whose
balance moved. Pulling every 0.2 s instead of pacing to the budget (`--pull-every 0.2`) ran the
minute's requests out in its first half: p99 15-20 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from breach_latency import load_average, say, spread

API_KEY = "benchmark-match-trader-key"
BREACH_SYMBOL = "XAUUSD"  # the samples' instrument: only the ladder's ticks move it
BACKGROUND_SYMBOLS = ("EURUSD", "GBPUSD", "US30")
LADDER_LOTS = "10"  # 10 lots of 100 oz: 1,000 USD a dollar
LADDER_STEP = Decimal("0.02")  # between two samples' opening prices: 20 USD of equity
BELOW = Decimal("5.01")  # the breaching bid, under the opening price: equity 94,990.00
DOCUMENTED_LIMIT = 500  # requests a minute, per broker key (Match-Trader's Broker API)

DEFINITION: dict[str, Any] = {
    "name": "Match-Trader breach benchmark 100K",
    "currency": "USD",
    "tags": ["benchmark"],
    "time_zone": "UTC",
    "fee": "499.00",
    "payment_ways": ["wallet"],
    "progression": "automatic",
    "platform": "Match-Trader",
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


# --- the database -------------------------------------------------------------------------------


def database(args: argparse.Namespace) -> str:
    if args.db == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="propdesk-bench-mt-"))
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
    ) as admin:
        name = sql.Identifier(args.name)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return f"postgres://{args.user}@{args.host}:{args.port}/{args.name}"


def setup_django(url: str, budget: int | None = None, fake_url: str = "") -> None:
    """Django in this process; `budget` (requests a minute) replaces the Broker API client's
    own limit for the fake's address (a what-if, or the set-up's none at all)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "propdesk.settings"
    # The same key in every process (the vault), and the settings' files out of the tree.
    os.environ.setdefault("PROPDESK_SECRET_KEY", "benchmark-only-not-a-secret")
    os.environ.setdefault(
        "PROPDESK_VAR_DIR", str(Path(tempfile.gettempdir()) / "propdesk-bench-mt")
    )
    os.environ.setdefault("PROPDESK_LOG_LEVEL", "WARNING")
    # Emails (each new account's "ready" email, from the worker) are dropped: on the console
    # backend, the shipped default, 1,000 of them buried the figures.
    os.environ.setdefault("PROPDESK_EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    import django

    django.setup()
    if budget is not None:
        from propdesk.platforms.matchtrader import client

        client._BUDGETS[(fake_url, API_KEY)] = client.Budget(limit=budget)


# --- the fake platform, a process of its own ----------------------------------------------------


def fake_role(pipe: Any) -> None:
    """The fake Match-Trader server with no request limit until told one ("limit", N); every
    API request counted by path (the worker's and the monitor's), until told to stop."""
    from collections import Counter

    from propdesk.platforms.matchtrader.fake import FakeMatchTrader
    from propdesk.platforms.matchtrader.fake import server as fake_server

    counted: Counter[str] = Counter()
    limited = [0]
    api = fake_server._Handler._api

    def counting(handler: Any, method: str, path: str, query: Any) -> Any:
        answer = api(handler, method, path, query)
        named = "/".join(
            "{id}" if part[:1].isdigit() or "@" in part or len(part) > 30 else part
            for part in path.split("/")
        )
        counted[f"{method} {named}"] += 1
        if answer[0] == 429:
            limited[0] += 1
        return answer

    fake_server._Handler._api = counting  # type: ignore[method-assign]
    fake = FakeMatchTrader(api_key=API_KEY, tick_rate=0, rate_limit=0).start()
    pipe.send(fake.url)
    while True:
        what, value = pipe.recv()
        if what == "limit":
            with fake.limiter.lock:  # the set-up's requests count for nothing
                fake.limiter.limit, counted_from = value, time.time()
                fake.limiter.times.clear()
            counted.clear()
            limited[0] = 0
            pipe.send("ok")
        elif what == "stop":
            seconds = time.time() - counted_from
            pipe.send({"requests": dict(counted), "seconds": seconds, "refused": limited[0]})
            fake.stop()
            return


class Fake:
    """The fake's address, its trader's and the market's controls (`/_fake/...`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_fake/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with self.opener.open(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def price(self, symbol: str, bid: Decimal) -> None:
        self.control("POST", "price", {"symbol": symbol, "bid": str(bid)})

    def open_position(self, login: str, symbol: str, side: str, volume: str, price: Any) -> None:
        body = {"login": login, "symbol": symbol, "side": side, "volume": volume}
        if price is not None:
            body["price"] = str(price)
        self.control("POST", "positions/open", body)

    def access_changes(self, login: str) -> list[dict[str, Any]]:
        return list(self.control("GET", f"access-log?login={login}")["changes"])


# --- the stages, through the challenge's use cases and the outbox -------------------------------


@dataclass
class Sample:
    attempt: int
    login: str
    bid: Decimal  # the ladder tick that breaches it


def fill(args: argparse.Namespace, fake: Fake) -> tuple[list[Sample], list[str]]:
    """The server, the challenge, N clients with an active participation, each first stage
    opened by the use case and its account by the outbox on the fake; then the positions.
    Returns the ladder (in the order its ticks breach it) and every login."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from propdesk.accounts.models import Client, User
    from propdesk.accounts.services import create_staff_user
    from propdesk.challenges.catalogue import services as catalogue
    from propdesk.challenges.models import ChallengeVersion, Participation, StageAttempt
    from propdesk.challenges.participation import lifecycle
    from propdesk.platforms import outbox, servers
    from propdesk.platforms.matchtrader.fake import DEFAULT_OFFERS
    from propdesk.platforms.matchtrader.fake.market import INSTRUMENTS
    from propdesk.platforms.models import PlatformCommand, TradingServer

    n, s = args.stages, args.samples
    began = time.perf_counter()
    admin = create_staff_user(
        email="admin@bench.example",
        name="Bench Admin",
        role_name="Administrator",
        password=secrets.token_urlsafe(16),
        actor=None,
    )
    challenge_offer, funded_offer = DEFAULT_OFFERS
    servers.save_server(
        None,
        name="Match-Trader",
        kind=TradingServer.Kind.MATCH_TRADER,
        demo_groups=["challenge"],
        live_groups=["funded"],
        base_url=fake.url,
        api_key=API_KEY,
        offers={"challenge": challenge_offer.uuid, "funded": funded_offer.uuid},
        actor=admin,
    )
    challenge = catalogue.create(DEFINITION, actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    version = ChallengeVersion.objects.get(challenge=challenge, state="published")
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
    Participation.objects.bulk_create(
        (
            Participation(
                client=client,
                challenge=challenge,
                version=version,
                status=Participation.Status.ACTIVE,
                payment=Participation.Payment.WALLET,
                fee=version.spec.fee,
                currency="USD",
            )
            for client in clients
        ),
        batch_size=2000,
    )
    with transaction.atomic():
        for participation in Participation.objects.select_related("version", "client__user"):
            lifecycle.open_stage(participation, 0)
    say(f"set-up: {n:,} clients, participations and stages in {time.perf_counter() - began:.1f} s")

    began = time.perf_counter()
    while outbox.run_due(limit=500):
        pass
    waiting = PlatformCommand.objects.exclude(status=PlatformCommand.Status.DONE).count()
    if waiting:
        raise SystemExit(f"set-up: {waiting} accounts were not opened (see the log above)")
    took = time.perf_counter() - began
    say(f"set-up: {n:,} accounts opened on the fake by the outbox in {took:.1f} s")

    began = time.perf_counter()
    attempts = list(StageAttempt.objects.order_by("participation_id").values_list("pk", "login"))
    if len(attempts) != n or not all(login for _, login in attempts):
        raise SystemExit("set-up: not every stage has its account")
    every = n // s
    rng = random.Random(17)
    base = INSTRUMENTS[BREACH_SYMBOL].start
    samples = []
    for i, (attempt, login) in enumerate(attempts):
        if i % every == 0 and len(samples) < s:
            rung = len(samples)
            opened = base - LADDER_STEP * rung
            fake.open_position(login, BREACH_SYMBOL, "BUY", LADDER_LOTS, opened)
            samples.append(Sample(attempt, login, opened - BELOW))
        else:
            symbol = rng.choice(BACKGROUND_SYMBOLS)
            volume = f"{rng.randint(10, 100) / 100:.2f}"
            fake.open_position(login, symbol, rng.choice(("BUY", "SELL")), volume, None)
    say(f"set-up: {n:,} positions opened in {time.perf_counter() - began:.1f} s")
    return samples, [login for _, login in attempts]


# --- the worker and the monitor, each a process of its own --------------------------------------


def worker_role(url: str, budget: int | None, fake_url: str, stop: Any) -> None:
    """`propdesk worker` (its housekeeping sweep carries out the platform commands)."""
    setup_django(url, budget, fake_url)
    from propdesk.jobs.worker import Worker

    Worker(stop=stop).run()


def monitor_role(
    url: str, budget: int | None, fake_url: str, pull_every: float | None, stop: Any, pipe: Any
) -> None:
    """`propdesk monitor` (monitor.run), each of the Match-Trader ingestor's pulls timed;
    `pull_every`, a what-if, replaces its shortest time between pulls."""
    setup_django(url, budget, fake_url)
    from propdesk.challenges.monitoring import monitor
    from propdesk.platforms.matchtrader import client
    from propdesk.platforms.matchtrader.ingestor import MatchTraderIngestor

    pulls: list[tuple[float, float, int, int]] = []  # start, end, requests, events appended
    failed: list[tuple[float, float, int]] = []  # pulls that raised: start, end, requests
    pulled = MatchTraderIngestor._pull
    request = client.BrokerApi.request
    sent = [0]

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return request(self, *args, **kwargs)

    def timed(self: Any) -> int:
        if pull_every is not None:
            self.interval = pull_every
        start, before = time.time(), sent[0]
        try:
            appended = pulled(self)
        except Exception:
            failed.append((start, time.time(), sent[0] - before))
            raise
        pulls.append((start, time.time(), sent[0] - before, appended))
        return appended

    client.BrokerApi.request = counted  # type: ignore[method-assign]
    MatchTraderIngestor._pull = timed  # type: ignore[method-assign]
    monitor.run(stop=stop)
    pipe.send({"pulls": pulls, "failed": failed, "requests": sent[0]})


# --- measuring ----------------------------------------------------------------------------------


def background(fake: Fake, rate: float, stop: threading.Event) -> None:
    """The other accounts' instruments walk: a random step of one of them `rate` times a
    second (each step about the fake's own walk's, relative to the price)."""
    from propdesk.platforms.matchtrader.fake.market import INSTRUMENTS

    rng = random.Random(5)
    bids = {s: INSTRUMENTS[s].start for s in BACKGROUND_SYMBOLS}
    while rate > 0 and not stop.wait(1.0 / rate):
        symbol = rng.choice(BACKGROUND_SYMBOLS)
        instrument = INSTRUMENTS[symbol]
        step = Decimal(repr(math.exp(rng.gauss(0.0, instrument.volatility))))
        bids[symbol] = (bids[symbol] * step).quantize(instrument.point)
        fake.price(symbol, bids[symbol])


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def read_all(url: str, logins: list[str], timeout: float) -> float:
    """Wait until the monitor has read an equity snapshot of every account (the first pull
    took them in); the seconds it took."""
    from django.db.models import Max

    from propdesk.challenges.models import MonitorCheckpoint
    from propdesk.platforms.models import LoggedEvent

    began = time.time()
    while time.time() - began < timeout:
        # The feeds' checkpoints (one a server, written about every second as it reads).
        cursor = MonitorCheckpoint.objects.aggregate(read=Max("position"))["read"] or 0
        seen = LoggedEvent.objects.filter(id__lte=cursor).values("login").distinct().count()
        if seen >= len(logins):
            return time.time() - began
        time.sleep(0.5)
    raise SystemExit(f"the monitor did not read every account's first snapshot in {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--name", default="propdesk_bench_mt", help="the PostgreSQL database")
    parser.add_argument("--stages", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between breaches")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between looks")
    parser.add_argument("--timeout", type=float, default=120.0, help="a breach not seen by then")
    parser.add_argument("--background", type=float, default=2.0, help="ticks a second")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DOCUMENTED_LIMIT,
        help="the platform's requests a minute (500 documented; another: a what-if)",
    )
    parser.add_argument(
        "--pull-every",
        type=float,
        default=None,
        help="a what-if: the ingestor's shortest time between pulls (shipped: 0.2 s)",
    )
    args = parser.parse_args()
    if args.samples > args.stages:
        parser.error("--samples at most --stages")

    say(f"{args.stages:,} stages on the fake Match-Trader, {args.db}; {load_average()}")
    url = database(args)
    ctx = multiprocessing.get_context("spawn")
    fake_end, fake_here = ctx.Pipe()
    server = ctx.Process(target=fake_role, args=(fake_end,), name="fake", daemon=True)
    server.start()
    fake = Fake(fake_here.recv())
    setup_django(url, budget=10**9, fake_url=fake.url)  # the set-up alone: no limit here
    from django.core.management import call_command

    began = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    say(f"set-up: migrated in {time.perf_counter() - began:.1f} s")
    ladder, logins = fill(args, fake)

    fake_here.send(("limit", args.rate_limit))
    fake_here.recv()
    what_if = None if args.rate_limit == DOCUMENTED_LIMIT else args.rate_limit
    stop, watching = ctx.Event(), ctx.Event()
    monitor_end, monitor_here = ctx.Pipe()
    worker = ctx.Process(target=worker_role, args=(url, what_if, fake.url, stop), name="worker")
    watcher = ctx.Process(
        target=monitor_role,
        args=(url, what_if, fake.url, args.pull_every, watching, monitor_end),
        name="monitor",
    )
    worker.start()
    watcher.start()
    took = read_all(url, logins, args.timeout)
    say(f"monitor: every account's first snapshot read {took:.1f} s after it started")
    ticking = threading.Event()
    walker = threading.Thread(target=background, args=(fake, args.background, ticking))
    walker.start()
    time.sleep(5)  # the background's snapshots flowing before the first breach

    rng = random.Random(23)
    sent: dict[int, float] = {}
    changed: dict[int, float] = {}
    *measured, last = ladder
    for k, sample in enumerate(measured):
        sent[k] = time.time()
        seen = breach(fake, sample, args)
        if seen is not None:
            changed[k] = seen
        time.sleep(args.gap * rng.uniform(0.5, 1.5))
        if (k + 1) % 10 == 0:
            tens = [changed[j] - sent[j] for j in changed if j >= k - 9]
            say(f"  {k + 1} breaches: the last ten {spread(tens)}")
    watching.set()
    monitor = monitor_here.recv()
    watcher.join()

    # The monitor started again: its ingestor is new, so its first pull reconciles every
    # account from the platform's closed-position history (one request each); the last
    # sample's breach is ticked as it starts.
    watching, (again_end, again_here) = ctx.Event(), ctx.Pipe()
    again = ctx.Process(
        target=monitor_role,
        args=(url, what_if, fake.url, args.pull_every, watching, again_end),
        name="monitor",
    )
    restarted = time.time()
    again.start()
    seen = breach(fake, last, args)
    watching.set()
    after = {
        "started": restarted,
        "seen": None if seen is None else seen - restarted,
        **again_here.recv(),
    }
    again.join()
    ticking.set()
    walker.join()
    stop.set()
    worker.join()
    fake_here.send(("stop", None))
    asked = fake_here.recv()
    server.join()
    report(args, measured, sent, changed, monitor, asked, after)


def breach(fake: Fake, sample: Sample, args: argparse.Namespace) -> float | None:
    """Tick the sample's breach; when the platform changed its account's access (None: not
    within --timeout)."""
    before = len(fake.access_changes(sample.login))
    ticked = time.time()
    fake.price(BREACH_SYMBOL, sample.bid)
    while time.time() - ticked < args.timeout:
        changes = fake.access_changes(sample.login)[before:]
        done = [c for c in changes if c["accessRight"] != "FULL"]
        if done:
            return at(done[0]["at"])
        time.sleep(args.poll)
    return None


def report(
    args: argparse.Namespace,
    ladder: list[Sample],
    sent: dict[int, float],
    changed: dict[int, float],
    monitor: dict[str, Any],
    asked: dict[str, Any],
    after: dict[str, Any],
) -> None:
    from propdesk.challenges.models import StageAttempt
    from propdesk.platforms.models import LoggedEvent, PlatformCommand

    latency = {k: changed[k] - sent[k] for k in changed}
    missed = len(ladder) - len(latency)
    say("")
    what_ifs = []
    if args.rate_limit != DOCUMENTED_LIMIT:
        what_ifs.append(f"WHAT-IF: the platform's and the clients' limit {args.rate_limit}/min")
    if args.pull_every is not None:
        what_ifs.append(f"WHAT-IF: the ingestor pulls at most every {args.pull_every:g} s")
    say(
        "breach latency, tick on the platform -> the platform's access change "
        f"(the fake's access log), {args.db}, {args.stages:,} stages, "
        f"{args.background:g} background ticks/s; "
        + ("; ".join(what_ifs) or f"as shipped ({DOCUMENTED_LIMIT} requests a minute)")
        + ":"
    )
    say(f"  {spread(list(latency.values()))}   n={len(latency)}, {missed} not seen")

    parts: dict[str, list[float]] = {}
    for k, total in latency.items():
        sample = ladder[k]
        attempt = StageAttempt.objects.get(pk=sample.attempt)
        snapshot = next(
            (
                e.payload
                for e in LoggedEvent.objects.filter(login=sample.login).order_by("id")
                if e.payload["type"] == "equity" and Decimal(e.payload["equity"]) < 95000
            ),
            None,
        )
        command = PlatformCommand.objects.filter(
            subject=f"stage:{sample.attempt}", kind=PlatformCommand.Kind.SET_ACCESS
        ).first()
        if snapshot is None or attempt.ended_at is None or command is None or not command.done_at:
            continue
        pulled = at(snapshot["t"])
        steps = (
            ("tick -> the ingestor's pull that saw it began", pulled - sent[k]),
            ("pull began -> stage concluded", attempt.ended_at.timestamp() - pulled),
            (
                "concluded -> access command done",
                command.done_at.timestamp() - attempt.ended_at.timestamp(),
            ),
            ("(total)", total),
        )
        for label, seconds in steps:
            parts.setdefault(label, []).append(seconds)
    say(f"  where it goes (n={len(parts.get('(total)', []))}):")
    for label, values in parts.items():
        say(f"    {label:<48} {spread(values)}")

    pulls = monitor["pulls"]
    if len(pulls) > 1:
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(pulls)]
        say(
            f"monitor: {len(pulls)} pulls of Match-Trader; between two pulls' starts {spread(gaps)}"
        )
        say(f"  a pull took     {spread([p[1] - p[0] for p in pulls])}")
        requests = [float(p[2]) for p in pulls]
        say(
            f"  requests a pull median {statistics.median(requests):.0f}, max {max(requests):.0f};"
            f" the monitor sent {monitor['requests']:,} requests in all"
        )
    first = after["pulls"][0] if after["pulls"] else None
    failures = after["failed"]
    tried = (
        f"{len(failures)} pulls failed first ({sum(f[2] for f in failures):,} requests; "
        "see the log above)"
        if failures
        else "no pull failed"
    )
    if first is not None:
        say(
            f"monitor started again: its first complete pull began "
            f"{first[0] - after['started']:.1f} s after the process, took "
            f"{first[1] - first[0]:.1f} s and {first[2]:,} requests (a new ingestor reads "
            f"every account's closed positions); {tried}"
        )
    else:
        say(f"monitor started again: no pull completed in its {args.timeout:g} s; {tried}")
    seen = after["seen"]
    say(
        "  a breach ticked as it started: "
        + (f"seen {seen:.1f} s later" if seen is not None else f"not seen in {args.timeout:g} s")
    )
    minutes = asked["seconds"] / 60
    total = sum(asked["requests"].values())
    say(
        f"the fake answered {total:,} API requests in {asked['seconds']:.0f} s "
        f"({total / minutes:,.0f} a minute; {asked['refused']} refused with 429):"
    )
    for kind, count in sorted(asked["requests"].items(), key=lambda item: -item[1]):
        say(f"    {kind:<40} {count:,}")
    say(load_average())


if __name__ == "__main__":
    main()
