"""How many events a second a monitor process consumes from a backlog, with thousands of running
stages, and how that grows from one monitor process to two.

    .venv/bin/python benchmarks/monitor_throughput.py [--stages 10000] [--events 200000]
        [--processes 1,2] [--log database]

Drops and re-creates its own PostgreSQL database (`propdesk_bench_throughput` on 127.0.0.1:5432
as `postgres`) and fills it with breach_latency's fill (its challenge, clients, stages, sandbox
accounts, positions and stream history), the stages spread over two sandbox trading servers
(half each: with the database log a feed is a server, so two feeds for two processes). A
monitor process first reads the stream's history (the ingestors copy it into the log), so
every stage has a saved state.

Then, for each count of processes in `--processes`: a backlog of `--events` equity snapshots
(spread evenly over the accounts, inside the rules' limits: no verdict) is put in the log at
once, and that many monitor processes (`runner.run`, as `propdesk monitor` runs it, each with
an owner of its own) are started and consume it; the run ends when every feed's checkpoint has
reached the backlog's end. With more than one process each is handed one feed's lease before it
starts (see `--no-assign`).

Each process times its `FeedWatcher.step` calls (the reading from the log inside them timed
apart), its checkpoints (with the lag measured before each), its day-closing passes and the
ingestors' pulls; its window is from its first step that read events to its last, plus the
checkpoint that saved the backlog's end (its own time, not the idle wait before it). It prints,
per process: events consumed, events/s (aim: 50,000 on one core), CPU share of a core, and the
split of the window (read from the log, the rules: the rest of the steps, checkpoints, other);
then the total events/s over all processes and its growth from the first count to the others.

What-if, named as such in the output, never the default: `--checkpoint-every S` (the seconds
between two checkpoints of a busy feed).

`--alerts`: the challenge's alerts switched on (daily loss and max loss at 80%, period ending
in 5 days, no trade for 30 days; docs/notifications.md) before the monitor starts, so
that every snapshot is also looked at for the loss alerts: compare with a run without it.

The log's backend (`--log`, `BACKENDS`): the database's, or NATS JetStream (`--log nats`: a
stream of the run's own, `BENCH_THROUGHPUT_...`, deleted at the end, with `--partitions`
partitions; this process and every monitor process have `PROPDESK_EVENT_LOG`,
`PROPDESK_EVENT_STREAM` and `PROPDESK_EVENT_PARTITIONS` in their environment). With NATS the
backlog is the same snapshots published with `natslog.publish` (a server's events 5,000 at a
time, as an ingestor does), a feed is a partition, and with two processes each is handed half
the partitions' leases; the ingestors publish the stream's history there first.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from breach_latency import fill, load_average, recreate, say, setup_django, vacuum

AIM_PER_PROCESS = 50_000.0  # events/s on one core
SERVERS = 2
NATS_URL = "nats://127.0.0.1:4222"


# --- the log's backends -------------------------------------------------------------------------


@dataclass
class Backend:
    """What the benchmark needs of an account-event log: put a backlog in (returns the end
    position of each feed, by checkpoint key), whether the stream's history was taken in and
    read, and the environment of the monitor processes."""

    name: str
    append: Callable[[str, int], dict[str, int]]
    history_read: Callable[[str], bool]
    environment: dict[str, str]


def database_log(url: str) -> Backend:
    """The database log (platforms.eventlog): one feed per trading server."""
    return Backend(
        "database", lambda url_, count: append_to_database(url_, count), history_read, {}
    )


def nats_log(url: str) -> Backend:
    """NATS JetStream (platforms.natslog): one feed per partition, in a stream of the run's
    own (`use_nats`, before Django is set up: this process publishes too)."""
    names = ("PROPDESK_EVENT_LOG", "PROPDESK_EVENT_STREAM", "PROPDESK_EVENT_PARTITIONS")
    return Backend(
        "nats", append_to_nats, history_read_nats, {name: os.environ[name] for name in names}
    )


BACKENDS: dict[str, Callable[[str], Backend]] = {"database": database_log, "nats": nats_log}

# Equity snapshots, in the log's ids' order, the accounts taken in turn; their times follow the
# newest already in the log (or start 30 seconds ago), 30 seconds in all, and increase with the
# id, so no account's time goes backwards. Equity moves between 97,000 and 103,000: under the 8%
# target, above the 95,000 daily floor.
BACKLOG = """
WITH since AS (
    SELECT greatest(now() - interval '30 seconds',
                    (SELECT max((payload->>'t')::timestamptz) FROM platforms_loggedevent))
           AS t)
INSERT INTO platforms_loggedevent (server_id, login, payload, source)
SELECT a.server_id, a.login,
       jsonb_build_object(
           't', to_char((since.t + g * %(step)s * interval '1 second') AT TIME ZONE 'UTC',
                        'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
           'type', 'equity',
           'balance', '100000.00',
           'equity', to_char(97000 + 6000 * random(), 'FM999999.00')),
       'bench:' || %(run)s || ':' || g
  FROM since, generate_series(1, %(count)s) AS g
  JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS k, server_id, login FROM sandbox_account)
       AS a ON a.k = g %% %(accounts)s
 ORDER BY g
"""


def append_to_database(url: str, count: int) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        (accounts,) = conn.execute("SELECT count(*) FROM sandbox_account").fetchone() or (0,)
        conn.execute(
            BACKLOG,
            {"step": 30.0 / count, "run": time.time_ns(), "count": count, "accounts": accounts},
        )
        conn.execute("ANALYZE platforms_loggedevent")
        rows = conn.execute(
            "SELECT 'log:' || server_id, max(id) FROM platforms_loggedevent GROUP BY server_id"
        ).fetchall()
    return {key: end for key, end in rows}


def append_to_nats(url: str, count: int) -> dict[str, int]:
    """The same backlog as BACKLOG, published (`natslog.publish`, a server's events 5,000 at a
    time, each acknowledged); returns each partition's last sequence, by feed key."""
    from propdesk.platforms import natslog

    with psycopg.connect(url, autocommit=True) as conn:
        accounts = conn.execute(
            "SELECT server_id, login FROM sandbox_account ORDER BY id"
        ).fetchall()
    since = max(datetime.now(UTC) - timedelta(seconds=30), PUBLISHED["until"])
    step, run = timedelta(seconds=30.0 / count), time.time_ns()
    by_server: dict[int, list[tuple[str, dict[str, Any], str]]] = defaultdict(list)
    for g in range(1, count + 1):
        server_id, login = accounts[g % len(accounts)]
        payload = {
            "t": (since + g * step).isoformat(),
            "type": "equity",
            "balance": "100000.00",
            "equity": f"{97000 + 6000 * random.random():.2f}",
        }
        by_server[server_id].append((login, payload, f"bench:{run}:{g}"))
    PUBLISHED["until"] = since + count * step
    start = time.perf_counter()
    for server_id, events in by_server.items():
        for at in range(0, len(events), 5000):
            natslog.publish(server_id, events[at : at + 5000])
    say(
        f"  published {count:,} events to NATS in {time.perf_counter() - start:.1f} s "
        f"({count / (time.perf_counter() - start):,.0f} events/s)"
    )
    return partition_ends()


PUBLISHED = {"until": datetime.now(UTC) - timedelta(days=1)}  # the newest backlog time so far


def partition_ends() -> dict[str, int]:
    """Each partition's last sequence in the stream (partitions with no event left out)."""
    import nats.js.errors
    from django.conf import settings

    from propdesk.platforms import natslog

    conn = natslog.client()

    async def work(nc: Any, js: Any) -> dict[str, int]:
        ends = {}
        for p in range(int(settings.EVENT_PARTITIONS)):
            try:
                last = await js.get_last_msg(natslog.stream_name(), natslog.partition_subject(p))
            except nats.js.errors.NotFoundError:
                continue
            ends[f"nats:{p}"] = int(last.seq)
        return ends

    result: dict[str, int] = conn.run(work)
    return result


INGESTED = """
SELECT (SELECT max(e.id) FROM sandbox_event e JOIN sandbox_account a ON a.id = e.account_id
         WHERE a.server_id = s.id),
       (SELECT (position->>'stream')::bigint FROM platforms_ingestcursor WHERE server_id = s.id)
  FROM platforms_tradingserver s WHERE s.enabled
"""


def history_read_nats(url: str) -> bool:
    """Whether the ingestors published the sandbox's whole stream to NATS and the monitor's
    checkpoints reached every partition's end."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(INGESTED).fetchall()
    if not all(last is None or (taken or 0) >= last for last, taken in rows):
        return False
    return reached(url, partition_ends())()


# --- a monitor process --------------------------------------------------------------------------


def monitor_role(
    url: str, environment: dict[str, str], owner: str, every: float, stop: Any, pipe: Any
) -> None:
    """`propdesk monitor` (runner.run) as `owner`, its work timed (see the module's doc);
    `every`, a what-if when not 0: the seconds between two checkpoints of a busy feed."""
    os.environ.update(environment)
    setup_django(url)
    from propdesk.challenges.monitoring import idle, runner, watcher
    from propdesk.challenges.monitoring.watcher import FeedWatcher

    if every:
        watcher.CHECKPOINT_EVERY = every

    steps: list[tuple[float, float, float, int, str]] = []  # start, end, CPU, events, feed
    spent: list[tuple[str, float, float]] = []  # what, start, end
    loads: list[tuple[str, int, float]] = []
    step, load = FeedWatcher.step, FeedWatcher.load
    write, move, close = FeedWatcher._write, FeedWatcher._move, runner.Monitor.close
    closing: list[float] = []
    close_days, lag, pull = FeedWatcher.close_days, runner._lag, idle.Ingestors.pull

    def timing(name: str, work: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            return work()
        finally:
            spent.append((name, start, time.perf_counter()))

    def timed_step(self: FeedWatcher, *, limit: int, began: Any = None) -> int:
        if not getattr(self.feed, "timed", False):
            feed_read = self.feed.read

            def timed_read(*, after: int, limit: int) -> list[Any]:
                return timing("read", lambda: feed_read(after=after, limit=limit))

            self.feed.read = timed_read  # type: ignore[method-assign]
            self.feed.timed = True  # type: ignore[attr-defined]
        start, cpu = time.perf_counter(), time.process_time()
        count = step(self, limit=limit, began=began)
        if count:
            steps.append((start, time.perf_counter(), time.process_time() - cpu, count, self.key))
        return count

    def timed_load(self: FeedWatcher) -> None:
        start = time.perf_counter()
        load(self)
        loads.append((self.key, len(self.entries), time.perf_counter() - start))

    FeedWatcher.step = timed_step  # type: ignore[method-assign]
    FeedWatcher.load = timed_load  # type: ignore[method-assign]
    # The running monitor writes a checkpoint a piece a round (write_some: `_write`), then moves
    # it (`_move`); stopping, it checkpoints every feed at once (`close`: not counted).
    FeedWatcher._write = lambda self, entries: timing(  # type: ignore[method-assign]
        "checkpoint", lambda: write(self, entries)
    )
    FeedWatcher._move = lambda self, position, lag: timing(  # type: ignore[method-assign]
        "checkpoint", lambda: move(self, position, lag)
    )

    def timed_close(self: runner.Monitor) -> None:
        closing.append(time.perf_counter())
        close(self)

    runner.Monitor.close = timed_close  # type: ignore[method-assign]
    FeedWatcher.close_days = lambda self, moment, *, limit=None: timing(  # type: ignore[method-assign]
        "days", lambda: close_days(self, moment, limit=limit)
    )
    runner._lag = lambda watcher: timing("lag", lambda: lag(watcher))
    idle.Ingestors.pull = lambda self, server: timing(  # type: ignore[method-assign]
        "pull", lambda: pull(self, server)
    )
    cpu = time.process_time()
    runner.run(stop=stop, owner=owner)
    pipe.send(
        {
            "owner": owner,
            "steps": steps,
            "spent": spent,
            "loads": loads,
            "cpu": time.process_time() - cpu,
            "closing": closing[0] if closing else float("inf"),
        }
    )


# --- a run of k processes -----------------------------------------------------------------------


def positions(url: str) -> dict[str, tuple[int, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT key, position, owner FROM challenges_monitorcheckpoint")
        return {key: (position, owner) for key, position, owner in rows.fetchall()}


def reached(url: str, ends: dict[str, int]) -> Callable[[], bool]:
    """Whether every feed's checkpoint has reached its end in `ends`."""

    def done() -> bool:
        seen = positions(url)
        return all(seen.get(key, (0, ""))[0] >= end for key, end in ends.items())

    return done


HISTORY = """
SELECT (SELECT max(e.id) FROM sandbox_event e JOIN sandbox_account a ON a.id = e.account_id
         WHERE a.server_id = s.id),
       (SELECT (position->>'stream')::bigint FROM platforms_ingestcursor WHERE server_id = s.id),
       (SELECT max(id) FROM platforms_loggedevent WHERE server_id = s.id),
       (SELECT position FROM challenges_monitorcheckpoint WHERE key = 'log:' || s.id)
  FROM platforms_tradingserver s WHERE s.enabled
"""


def history_read(url: str) -> bool:
    """Whether the ingestors took the sandbox's whole stream into the log and the monitor's
    checkpoints reached its end there."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(HISTORY).fetchall()
    return all(
        last is None or ((taken or 0) >= last and (read or 0) >= (logged or 0))
        for last, taken, logged, read in rows
    )


def consume(
    args: argparse.Namespace,
    url: str,
    backend: Backend,
    processes: int,
    done: Callable[[], bool],
    *,
    feeds: list[str],
    assign: bool,
    label: str,
) -> list[dict[str, Any]]:
    """Start `processes` monitor processes and wait until `done`; their figures. `assign`: each
    is handed the lease of one of `feeds` first."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    owners = [f"bench-{label}-{k + 1}" for k in range(processes)]
    if assign and processes > 1:  # one feed each, before they start (their share renews it)
        with psycopg.connect(url, autocommit=True) as conn:
            for k, key in enumerate(sorted(feeds)):
                conn.execute(
                    "UPDATE challenges_monitorcheckpoint SET owner = %s,"
                    " lease_until = now() + interval '60 seconds' WHERE key = %s",
                    (owners[k % processes], key),
                )
    pipes, children = [], []
    for owner in owners:
        here, there = ctx.Pipe()
        child = ctx.Process(
            target=monitor_role,
            args=(url, backend.environment, owner, args.checkpoint_every, stop, there),
            name=owner,
        )
        child.start()
        pipes.append(here)
        children.append(child)
    began = time.time()
    while True:
        time.sleep(0.2)
        if done():
            break
        if time.time() - began > args.timeout:
            say(f"  TIMEOUT after {args.timeout:g} s: checkpoints {positions(url)}")
            break
        if not all(c.is_alive() for c in children):
            say("  a monitor process died (see above)")
            break
    stop.set()
    figures = []
    for here, child in zip(pipes, children, strict=True):
        if here.poll(120):
            figures.append(here.recv())
        child.join(30)
    return figures


def report(figures: list[dict[str, Any]], processes: int) -> float:
    """Print each process's figures; returns the total events/s."""
    starts, ends_, total = [], [], 0
    for f in figures:
        steps = f["steps"]
        if not steps:
            say(f"  {f['owner']}: read nothing (held no feed?)")
            continue
        start, end = steps[0][0], steps[-1][1]
        events = sum(s[3] for s in steps)
        # The window: from the first read to the last, and the checkpoint that saved the end
        # (its pieces' and its lag's time only: the process may wait idle up to a second before
        # it, in `wait`), not the one written when it stops.
        after = {"checkpoint": 0.0, "lag": 0.0}
        for name, b, d in f["spent"]:
            if name in after and steps[-1][1] <= b < f["closing"]:
                after[name] += d - b
        window = end - start + after["checkpoint"] + after["lag"]
        cpu = sum(s[2] for s in steps)
        feeds = sorted({s[4] for s in steps})
        in_steps = sum(s[1] - s[0] for s in steps)
        spent = dict.fromkeys(("read", "checkpoint", "lag", "days", "pull"), 0.0)
        for name, begun, done in f["spent"]:
            if start <= begun <= end:  # within the window (not the last checkpoint, say)
                spent[name] += done - begun
        spent["checkpoint"] += after["checkpoint"]
        spent["lag"] += after["lag"]
        rules = in_steps - spent["read"]
        other = window - in_steps - spent["checkpoint"] - spent["lag"] - spent["days"]
        starts.append(start)
        ends_.append(start + window)
        total += events
        loads = ", ".join(f"{k} {n:,} stages in {s:.1f} s" for k, n, s in f["loads"])
        say(
            f"  {f['owner']} (feeds {', '.join(feeds)}; loaded {loads}): {events:,} events in "
            f"{window:.1f} s = {events / window:,.0f} events/s "
            f"(aim {AIM_PER_PROCESS:,.0f}); {len(steps)} steps of "
            f"{statistics.median([s[3] for s in steps]):,.0f} events (median); CPU in the steps "
            f"{cpu / window:.0%} of a core, the whole process {f['cpu'] / window:.0%} (load and "
            f"start included)"
        )
        parts = [
            ("reading the log (feed.read: query, payloads decoded)", spent["read"]),
            ("the rules (the rest of step: grouping, evaluators, curve)", rules),
            ("checkpoints (states written)", spent["checkpoint"]),
            ("measuring the lag (before each checkpoint)", spent["lag"]),
            ("closing days", spent["days"]),
            ("other (ingestors' pulls, leases, rounds)", other),
        ]
        for name, seconds in parts:
            say(
                f"    {name:<60} {seconds:7.2f} s {seconds / window:5.0%}"
                f"  {seconds / max(1, events) * 1e6:6.1f} us an event"
            )
        say(f"    (of 'other': the ingestors' pulls {spent['pull']:.2f} s)")
    if not starts:
        return 0.0
    window = max(ends_) - min(starts)
    rate = total / window
    say(
        f"  all {processes} process(es): {total:,} events in {window:.1f} s = {rate:,.0f} events/s"
        f"; {load_average()}"
    )
    return rate


def switch_alerts_on() -> None:
    """The filled challenge's alerts, all four on (`--alerts`)."""
    from propdesk.accounts.models import User
    from propdesk.challenges.catalogue import alert_settings
    from propdesk.challenges.models import Challenge

    staff = User.objects.filter(kind=User.Kind.STAFF).order_by("id").first()
    assert staff is not None
    for challenge in Challenge.objects.all():
        alert_settings.set_alerts(
            challenge.pk,
            {
                "daily_loss_percent": "80",
                "max_loss_percent": "80",
                "period_end_days": "5",
                "inactivity_days": "30",
            },
            actor=staff,
        )
    say("alerts switched on: daily and max loss at 80%, period ending 5 days, no trade 30 days")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=10_000, help="running stages (accounts)")
    parser.add_argument("--events", type=int, default=200_000, help="backlog, equity snapshots")
    parser.add_argument("--processes", default="1,2", help="monitor processes, runs in turn")
    parser.add_argument("--log", choices=sorted(BACKENDS), default="database", help="the log")
    parser.add_argument("--positions", type=int, default=3, help="per account (1-4)")
    parser.add_argument("--holding", type=float, default=1.0, help="share holding positions")
    parser.add_argument(
        "--no-assign",
        action="store_true",
        help="do not hand each process a feed's lease first (checkpoints.share alone decides)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a run may take")
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=0.0,
        help="what-if: seconds between two checkpoints of a busy feed (watcher.CHECKPOINT_EVERY)",
    )
    parser.add_argument(
        "--alerts", action="store_true", help="the challenge's four alerts switched on"
    )
    parser.add_argument("--partitions", type=int, default=8, help="PROPDESK_EVENT_PARTITIONS")
    parser.add_argument("--nats", default=NATS_URL, help="the NATS server (--log nats)")
    parser.add_argument("--db", default="propdesk_bench_throughput", help="dropped, re-created")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep-db", action="store_true", help="do not drop it at the end")
    args = parser.parse_args()
    counts = [int(k) for k in args.processes.split(",")]
    if args.db in ("postgres", "test", "template0", "template1"):
        parser.error("--db names the benchmark's own database")
    args.samples, args.servers = 1, SERVERS  # breach_latency's fill: one ladder rung, 2 servers

    began = time.perf_counter()
    stream = ""
    if args.log == "nats":  # this process publishes, the monitor processes read: all on NATS
        stream = f"BENCH_THROUGHPUT_{uuid.uuid4().hex[:12].upper()}"
        os.environ["PROPDESK_EVENT_LOG"] = args.nats
        os.environ["PROPDESK_EVENT_STREAM"] = stream
        os.environ["PROPDESK_EVENT_PARTITIONS"] = str(args.partitions)
    url = recreate(args)
    setup_django(url)
    from propdesk.platforms import natslog

    if stream:
        natslog.ensure_stream()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    fill(args)
    if args.alerts:
        switch_alerts_on()
    connection.close()
    vacuum(url)
    say(
        f"filled {args.stages:,} running stages on {SERVERS} sandbox servers in "
        f"{time.perf_counter() - began:.0f} s (with migrate); log: {args.log}"
        + (f" (stream {stream}, {args.partitions} partitions)" if stream else "")
        + f"; {load_average()}"
    )
    if args.checkpoint_every:
        say(f"WHAT-IF, not the monitor as it ships: a checkpoint every {args.checkpoint_every:g} s")
    backend = BACKENDS[args.log](url)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT server_id, count(*) FROM sandbox_event e JOIN sandbox_account a"
                " ON a.id = e.account_id GROUP BY server_id"
            ).fetchall()
        start = time.perf_counter()
        consume(
            args,
            url,
            backend,
            1,
            lambda: backend.history_read(url),
            feeds=[],
            assign=False,
            label="h",
        )
        say(
            f"history: {sum(n for _, n in rows):,} stream events taken in and read by one "
            f"process in {time.perf_counter() - start:.1f} s (its start included)"
        )
        rates: dict[int, float] = {}
        for processes in counts:
            ends = backend.append(url, args.events)
            say("")
            say(
                f"{processes} monitor process(es), a backlog of {args.events:,} equity snapshots "
                f"over {len(ends)} feeds ({load_average()}):"
            )
            figures = consume(
                args,
                url,
                backend,
                processes,
                reached(url, ends),
                feeds=sorted(ends),
                assign=not args.no_assign,
                label=str(processes),
            )
            rates[processes] = report(figures, processes)
        if len(rates) > 1:
            first = counts[0]
            say("")
            for processes, rate in rates.items():
                if processes != first and rates[first]:
                    say(
                        f"{processes} processes: {rate:,.0f} events/s in all, "
                        f"x{rate / rates[first]:.2f} of {first}'s {rates[first]:,.0f}"
                    )
    finally:
        if stream and not args.keep_db:
            natslog.delete_stream(stream)
        if not args.keep_db:
            with psycopg.connect(
                host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
            ) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    say(f"whole run: {time.perf_counter() - began:.0f} s; {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
