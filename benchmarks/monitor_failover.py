"""A kill -9 failover drill of the monitor on NATS (issue 16): two `propdesk monitor` processes
share the account-event log's partitions, one is killed with SIGKILL while breaches happen, and
the run checks that its partitions move to the other within 5 s and, against a replay of every
account's events, that no verdict was missed or doubled.

    .venv/bin/python benchmarks/monitor_failover.py [--stages 2000] [--samples 200] [--gap 0.1]

Drops and re-creates its own PostgreSQL database (`propdesk_bench_failover` on 127.0.0.1:5432 as
`postgres`), migrates it and fills it with breach_latency's `fill` (imported: one published
challenge, N clients each with a running first stage on a funded sandbox account holding open
positions; S of them on a ladder of XAUUSD buys, each of which one more falling XAUUSD tick
takes below its 95,000 daily floor). Every process it starts runs with the event log on NATS
(`PROPDESK_EVENT_LOG=nats://127.0.0.1:4222`, a stream of the run's own, deleted at the end), so
the sandbox's ingestor (pulled by whichever monitor holds its `ingest:` lease) publishes there.

1. Two monitors (`python -m propdesk.cli monitor`) start and read the stream's history.
2. The sandbox feed (a process of its own: `feed.Feed` stepped as `propdesk sandbox feed` does,
   at `--rate` ticks a second over EURUSD, GBPUSD, USDJPY and US500) moves the background
   accounts' equity; once the monitors have caught up, a ladder tick every `--gap` seconds
   (+-50%) breaches one more sample.
3. Once both hold partitions (their `MonitorCheckpoint` rows) and `--kill-after` breaches were
   seen, the monitor holding the sandbox's ingest lease (or, `--kill other`, the other one) is
   killed with SIGKILL. The checkpoints are polled every 20 ms: the takeover time of a partition
   is from the kill to the first poll that shows it held by the survivor with its position past
   where it stood at the kill (read on again). Aim: every one under 5 s.
4. The ladder ends, the feed stops, the survivor catches up (every partition's lag 0, the
   ingestor at the stream's head) and is stopped with SIGTERM. Then the check: every partition
   of the stream is read (`NatsFeed.read`), each stage's account's events are written as an
   EVENTS.jsonl and its rules (`progress.rules_for`: the participation's published version) as
   RULES.json, and `propdesk rules replay` is run on them in this process (`rules.replay.main`,
   the command's own code, stdout captured). A stage the replay fails must be failed in the
   database by the same rule at the same moment (else: missed); one the replay keeps running must
   not be failed (else: extra); no stage may hold its failure twice in its verdict's events or
   in its saved state's, nor have more than one set_access platform command (one verdict writes
   one).

Figures: the takeover time per partition (s), the breach latency (tick -> stage failed, seen by
another connection) before, during and after the takeover (ms), and the check's counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from breach_latency import (  # the paths above first
    BACKGROUND_SYMBOLS,
    Sample,
    feed_ladder,
    fill,
    load_average,
    recreate,
    say,
    setup_django,
    spread,
    vacuum,
)

AIM_TAKEOVER_S = 5.0
NATS_URL = "nats://127.0.0.1:4222"


# --- the feed: a process of its own ----------------------------------------------------------


def feed_role(
    url: str, rate: float, flush: float, ladder: list[tuple[str, str]], pipe: Any
) -> None:
    """`propdesk sandbox feed`'s loop (feed.run) with the ladder's ticks put in on request: each
    rung's tick time is noted and sent back at the end with the feed's figures."""
    setup_django(url)
    from propdesk.platforms.sandbox import feed
    from propdesk.platforms.sandbox.models import Instrument

    running = feed.Feed()
    running.flush()
    pipe.send("ready")
    instruments = list(Instrument.objects.filter(symbol__in=BACKGROUND_SYMBOLS))
    source = feed.paced(iter(feed.Synthetic(instruments, rate=rate, seed=3)), rate)
    ticked: dict[int, float] = {}
    began, written = time.time(), running.events_written
    running.start_writer()
    ticks = feed_ladder(running, source, pipe, ladder, flush, ticked.__setitem__)
    running.stop_writer()
    running.flush()
    pipe.send(
        {
            "ticks": ticks,
            "seconds": time.time() - began,
            "written": running.events_written - written,
            "ticked": ticked,
        }
    )


# --- the monitors: the real command ----------------------------------------------------------


def start_monitor(env: dict[str, str], log: Path, *, trace: bool) -> subprocess.Popen[bytes]:
    """`propdesk monitor`, or with `trace` the same loop (runner.run) noting its steps."""
    command = ["-m", "propdesk.cli", "monitor"]
    if trace:
        command = [str(Path(__file__).resolve()), "--as-traced-monitor"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *command], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def traced_monitor() -> None:
    """`--trace`'s monitor: runner.run (SIGTERM stops it), each lease renewal, feed loaded,
    ingestor pull, read and checkpoint noted with its wall time and duration on stdout."""
    import django

    django.setup()
    import threading

    from propdesk.challenges.monitoring import idle, runner, watcher

    def noted(owner: Any, name: str, what: Any) -> None:
        method = getattr(owner, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.time()
            result = method(self, *args, **kwargs)
            took = time.time() - start
            label = getattr(self, "key", "")
            shown = what(self, result)
            if shown is not None:
                print(f"{start:.3f} {took * 1000:7.1f} ms {name} {label} {shown}", flush=True)
            return result

        setattr(owner, name, wrapper)

    noted(runner.Monitor, "share", lambda m, _: f"holds {sorted(m.watchers)} ingest {m.ingest}")
    noted(watcher.FeedWatcher, "load", lambda w, _: f"at {w.position}, {len(w.entries)} stages")
    noted(watcher.FeedWatcher, "step", lambda w, n: f"read {n} to {w.position}" if n else None)
    noted(watcher.FeedWatcher, "checkpoint", lambda w, _: f"at {w.position}")
    noted(idle.Ingestors, "pull", lambda i, n: f"took {n}" if n else None)
    noted(runner.Monitor, "round", lambda m, n: f"read {n}")
    noted(runner.Monitor, "wait", lambda m, _: "")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner.run(stop=stop)


def pid_of(owner: str) -> int | None:
    """The process id in a lease holder's name (`host:pid:random`, checkpoints.me)."""
    parts = owner.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


CHECKPOINTS = "SELECT key, owner, lease_until, position FROM challenges_monitorcheckpoint"
INGEST_LAG = """
SELECT coalesce((SELECT max(id) FROM sandbox_event), 0)
     - coalesce((SELECT max((position->>'stream')::bigint) FROM platforms_ingestcursor), 0)
"""


@dataclass
class Rows:
    """One poll of the checkpoints: key -> (owner pid, position); `ingest` the ingest lease's."""

    at: float
    feeds: dict[str, tuple[int | None, int]]
    ingest: int | None

    @classmethod
    def read(cls, conn: psycopg.Connection[Any]) -> Rows:
        now = time.time()
        feeds: dict[str, tuple[int | None, int]] = {}
        ingest = None
        for key, owner, until, position in conn.execute(CHECKPOINTS).fetchall():
            live = bool(owner) and until is not None and until.timestamp() > now
            pid = pid_of(owner) if live else None
            if key.startswith("nats:"):
                feeds[key] = (pid, position)
            elif key.startswith("ingest:"):
                ingest = pid
        return cls(now, feeds, ingest)

    def held_by(self, pid: int) -> list[str]:
        return sorted(k for k, (p, _) in self.feeds.items() if p == pid)


def partition_lags(partitions: int, rows: Rows) -> int:
    """Events in the stream after the checkpoints' positions, all partitions."""
    from propdesk.platforms.natsfeed import NatsFeed

    total = 0
    for p in range(partitions):
        with NatsFeed(p) as feed:
            total += feed.lag(after=rows.feeds.get(f"nats:{p}", (None, 0))[1]).events
    return total


def behind(conn: psycopg.Connection[Any], partitions: int) -> tuple[int, int]:
    row = conn.execute(INGEST_LAG).fetchone()
    return int(row[0] if row else 0), partition_lags(partitions, Rows.read(conn))


@dataclass
class Drill:
    kill_at: float = 0.0
    killed: int = 0
    survivor: int = 0
    dead_keys: list[str] = field(default_factory=list)
    at_kill: dict[str, int] = field(default_factory=dict)
    owned: dict[str, float] = field(default_factory=dict)  # key -> first poll held by survivor
    moved: dict[str, float] = field(default_factory=dict)  # key -> ... and read on
    ingest_moved: float | None = None
    killed_ingest: bool = False

    def note(self, rows: Rows) -> None:
        for key in self.dead_keys:
            pid, position = rows.feeds.get(key, (None, 0))
            if pid == self.survivor:
                self.owned.setdefault(key, rows.at)
                if position > self.at_kill[key]:
                    self.moved.setdefault(key, rows.at)
        if self.killed_ingest and rows.ingest == self.survivor and self.ingest_moved is None:
            self.ingest_moved = rows.at

    def done(self) -> bool:
        ingest = not self.killed_ingest or self.ingest_moved is not None
        return ingest and len(self.moved) == len(self.dead_keys)


def warm_up(conn: psycopg.Connection[Any], args: argparse.Namespace, what: str) -> None:
    began = time.time()
    while True:
        ingest, feeds = behind(conn, args.partitions)
        waited = time.time() - began
        if ingest <= args.caught_up and feeds <= args.caught_up and waited >= args.settle:
            break
        if waited > args.warmup:
            raise SystemExit(
                f"{what}: still {ingest:,} + {feeds:,} events behind after {waited:.0f} s"
            )
        time.sleep(1.0)
    say(f"{what}: caught up in {waited:.1f} s ({ingest:,} events not taken in, {feeds:,} not read)")


def receive(pipe: Any, process: Any, what: str, seconds: float = 600.0) -> Any:
    waited = time.time()
    while not pipe.poll(1.0):
        if not process.is_alive() or time.time() - waited > seconds:
            process.kill()
            raise SystemExit(f"{what}: the {process.name} process died or hung")
    return pipe.recv()


FAILED = "SELECT id FROM challenges_stageattempt WHERE id = ANY(%s) AND status = 'failed'"


def drill(
    args: argparse.Namespace, url: str, env: dict[str, str], ladder: list[Sample], logs: Path
) -> tuple[Drill, dict[int, float], dict[int, float], dict[str, Any]]:
    """Start the monitors and the feed, run the ladder, kill one monitor mid-way; returns the
    drill's timeline, the breaches' tick and seen times (by rung) and the feed's figures."""
    monitors = [start_monitor(env, logs / f"monitor{i}.log", trace=args.trace) for i in (1, 2)]
    pids = [m.pid for m in monitors]
    say(f"monitors: pids {pids[0]} and {pids[1]} (logs in {logs})")
    ctx = multiprocessing.get_context("spawn")
    feed_end, feed_here = ctx.Pipe()
    rungs = [(str(s.bid), str(s.ask)) for s in ladder]
    ticker = ctx.Process(
        target=feed_role, args=(url, args.rate, args.flush, rungs, feed_end), name="feed"
    )
    run = Drill()
    seen: dict[int, float] = {}
    rng = random.Random(23)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            warm_up(conn, args, "monitors: the stream's history")
            ticker.start()
            receive(feed_here, ticker, "the feed's start")
            warm_up(conn, args, "monitors, with the feed running")
            rows = Rows.read(conn)
            say(
                f"  partitions held: {len(rows.held_by(pids[0]))} by {pids[0]}, "
                f"{len(rows.held_by(pids[1]))} by {pids[1]}; ingest lease: {rows.ingest}"
            )
            pending = {s.attempt: k for k, s in enumerate(ladder)}
            rung, next_send, next_rows = 0, time.time(), 0.0
            deadline = float("inf")
            while True:
                now = time.time()
                if rung < len(ladder) and now >= next_send:
                    feed_here.send(rung)
                    rung += 1
                    next_send = now + args.gap * rng.uniform(0.5, 1.5)
                    if rung == len(ladder):
                        deadline = now + args.timeout
                if pending:
                    asked = time.time()
                    for (attempt,) in conn.execute(FAILED, (list(pending),)).fetchall():
                        seen[pending.pop(attempt)] = asked
                if now >= next_rows:
                    rows = Rows.read(conn)
                    next_rows = now + args.poll_leases
                    if not run.kill_at and len(seen) >= args.kill_after:
                        kill(run, rows, pids, monitors, args.kill)
                    elif run.kill_at:
                        run.note(rows)
                ended = rung == len(ladder) and (not pending or now > deadline)
                if ended and (not run.kill_at or run.done() or now > deadline):
                    break
                time.sleep(args.poll)
            feed_here.send(None)
            fed = receive(feed_here, ticker, "the feed's figures")
            ticker.join()
            if not run.kill_at:
                raise SystemExit("the kill never came: too few breaches seen (see --kill-after)")
            warm_up(conn, args, "survivor, the feed stopped")
            rows = Rows.read(conn)
            say(f"  survivor holds {len(rows.held_by(run.survivor))} partitions")
        survivor = monitors[pids.index(run.survivor)]
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=60)
    finally:
        for m in monitors:
            if m.poll() is None:
                m.kill()
                m.wait()
        if ticker.is_alive():
            ticker.kill()
    return run, fed["ticked"], seen, fed


def kill(
    run: Drill, rows: Rows, pids: list[int], monitors: list[subprocess.Popen[bytes]], which: str
) -> None:
    """Kill -9 the chosen monitor once both hold partitions (else wait for the next poll)."""
    if not all(rows.held_by(p) for p in pids):
        return
    victim = rows.ingest if which == "ingest" and rows.ingest in pids else None
    if victim is None or which == "other":
        victim = next(p for p in pids if p != rows.ingest)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    run.kill_at = time.time()
    run.killed, run.survivor = victim, next(p for p in pids if p != victim)
    run.dead_keys = rows.held_by(victim)
    run.at_kill = {k: rows.feeds[k][1] for k in run.dead_keys}
    run.killed_ingest = rows.ingest == victim
    monitors[pids.index(victim)].wait()
    say(
        f"kill -9 {victim} ({'the ingest lease holder' if run.killed_ingest else 'not ingesting'})"
        f" holding {', '.join(run.dead_keys)}; {len(rows.held_by(run.survivor))} held by "
        f"{run.survivor}"
    )


# --- the check: every stage against a replay of its account's events ------------------------


def all_events(partitions: int) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """Every event of the stream, by account, in stream order."""
    from propdesk.platforms.natsfeed import NatsFeed

    by_account: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for p in range(partitions):
        with NatsFeed(p) as feed:
            count, after = feed.lag(after=0).events, 0
            read = 0
            while read < count:
                events = feed.read(after=after, limit=5000)
                if not events:
                    break
                for event in events:
                    by_account[(event.server_id, event.login)].append(event.payload)
                read += len(events)
                after = events[-1].position
    return by_account


def replay(rules_path: Path, events_path: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    """`propdesk rules replay RULES.json EVENTS.jsonl` (its own code, in this process)."""
    from propdesk.rules import replay as command

    events_path.write_text("".join(json.dumps(e) + "\n" for e in events))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = command.main([str(rules_path), str(events_path)])
    if code != 0:
        raise RuntimeError(f"rules replay exited {code}: {out.getvalue().strip()}")
    return dict(json.loads(out.getvalue().splitlines()[0]))


def failures(verdict: dict[str, Any] | None) -> int:
    return sum(1 for e in (verdict or {}).get("events", []) if e.get("kind") == "failed")


def check(args: argparse.Namespace, ladder: list[Sample], work: Path) -> dict[str, int]:
    from django.db.models import Count

    from propdesk.challenges.models import StageAttempt
    from propdesk.challenges.monitoring.progress import rules_for
    from propdesk.platforms.models import PlatformCommand
    from propdesk.platforms.sandbox.models import Event
    from propdesk.rules.evaluator import Evaluator

    began = time.perf_counter()
    by_account = all_events(args.partitions)
    in_nats = sum(len(v) for v in by_account.values())
    in_stream = Event.objects.count()
    say(
        f"check: {in_nats:,} events read back from NATS ({in_stream:,} in the sandbox's stream) "
        f"in {time.perf_counter() - began:.1f} s"
    )
    commands = dict(
        PlatformCommand.objects.filter(kind=PlatformCommand.Kind.SET_ACCESS)
        .values_list("subject")
        .annotate(n=Count("id"))
        .values_list("subject", "n")
    )
    undone = PlatformCommand.objects.exclude(status=PlatformCommand.Status.DONE).count()
    samples = {s.attempt for s in ladder}
    counts: dict[str, int] = defaultdict(int)
    rules_files: dict[str, Path] = {}
    events_path = work / "events.jsonl"
    attempts = StageAttempt.objects.select_related("participation__version").order_by("id")
    for attempt in attempts:
        counts["stages checked"] += 1
        rules = rules_for(attempt)
        text = json.dumps(rules.to_dict())
        if text not in rules_files:
            rules_files[text] = work / f"rules{len(rules_files)}.json"
            rules_files[text].write_text(text)
        events = by_account.get((attempt.server_id, attempt.login), [])
        wanted = replay(rules_files[text], events_path, events)
        failed_db = attempt.status == StageAttempt.Status.FAILED
        if wanted["status"] == "failed":
            counts["replay: failed"] += 1
            if not failed_db:
                counts["MISSED (replay failed, database not)"] += 1
            elif (attempt.verdict or {}).get("rule") != wanted["rule"]:
                counts["MISSED (failed by another rule)"] += 1
            elif (attempt.verdict or {}).get("at") != wanted["at"]:
                counts["verdicts matched, at another moment"] += 1
            else:
                counts["verdicts matched"] += 1
        elif failed_db:
            counts["EXTRA (database failed, replay not)"] += 1
        elif attempt.status != StageAttempt.Status.IN_PROGRESS:
            counts[f"OTHER (database {attempt.status}, replay {wanted['status']})"] += 1
        else:
            counts["running in both"] += 1
        state_failures = 0
        if attempt.evaluator_state is not None:
            state = Evaluator.from_state(rules, attempt.evaluator_state)
            state_failures = failures(state.verdict())
        if failures(attempt.verdict) > 1 or state_failures > 1:
            counts["DOUBLED (failure twice in the verdict's events)"] += 1
        if commands.get(attempt.subject, 0) > 1:
            counts["DOUBLED (set_access commands beyond one verdict's)"] += 1
        if attempt.monitor_error:
            counts["set aside (monitor_error)"] += 1
        if failed_db and attempt.pk not in samples:
            counts["failed, not on the ladder"] += 1
        if not failed_db and attempt.pk in samples:
            counts["on the ladder, not failed"] += 1
    counts["platform commands not done (no worker in this run)"] = undone
    say(f"  {counts['stages checked']:,} stages replayed in {time.perf_counter() - began:.1f} s")
    return counts


# --- the report --------------------------------------------------------------------------------


def report(
    run: Drill, ticked: dict[int, float], seen: dict[int, float], ladder: list[Sample], args: Any
) -> bool:
    from propdesk.platforms import natslog

    say("")
    say(f"takeover after kill -9 (checkpoints polled every {args.poll_leases * 1000:g} ms):")
    worst = 0.0
    for key in run.dead_keys:
        owned = run.owned.get(key)
        moved = run.moved.get(key)
        lease = f"{owned - run.kill_at:5.2f} s" if owned else "never"
        read_on = f"{moved - run.kill_at:5.2f} s" if moved else "never"
        worst = max(worst, (moved - run.kill_at) if moved else float("inf"))
        say(f"  {key:<8} lease to the survivor {lease}, its checkpoint moving again {read_on}")
    if run.killed_ingest:
        took = f"{run.ingest_moved - run.kill_at:.2f} s" if run.ingest_moved else "never"
        say(f"  ingest lease to the survivor {took}")
    resumed = [
        seen[k] - run.kill_at
        for k, s in enumerate(ladder)
        if k in seen
        and seen[k] > run.kill_at
        and f"nats:{natslog.partition_of(s.login)}" in run.dead_keys
    ]
    if resumed:
        say(f"  first verdict on its partitions after the kill: {min(resumed):.2f} s")
    ok = worst < AIM_TAKEOVER_S
    say(
        f"  takeover (all partitions read on): {worst:.2f} s; aim < {AIM_TAKEOVER_S:g} s: "
        f"{'ok' if ok else 'MISSED'}"
    )
    done = max(run.moved.values(), default=run.kill_at)
    groups: dict[str, list[float]] = defaultdict(list)
    for k, at in ticked.items():
        if k not in seen:
            continue
        latency = seen[k] - at
        if at < run.kill_at:
            groups["before the kill"].append(latency)
        elif at <= done:
            on_dead = f"nats:{natslog.partition_of(ladder[k].login)}" in run.dead_keys
            part = "its partitions" if on_dead else "the survivor's own partitions"
            groups[f"during the takeover, {part}"].append(latency)
        else:
            groups["after the takeover"].append(latency)
    say("")
    say(
        f"breach latency, tick -> stage failed (seen by another connection, polled every "
        f"{args.poll * 1000:g} ms):"
    )
    for label, values in groups.items():
        say(f"  {label:<46} {spread(values)}  n={len(values)}")
    unseen = len(ladder) - len(seen)
    say(f"  never seen within {args.timeout:g} s of the last tick: {unseen}")
    return ok and not unseen


def around(lines: list[str], moment: float) -> list[str]:
    """A trace's lines from 2 s before `moment` to 8 s after it."""
    kept = []
    for line in lines:
        stamp = line.split(" ", 1)[0]
        with contextlib.suppress(ValueError):
            if moment - 2 <= float(stamp) <= moment + 8:
                kept.append(f"{float(stamp) - moment:+7.3f} s {line.split(' ', 1)[1]}")
    return kept


def main() -> int:
    if sys.argv[1:] == ["--as-traced-monitor"]:
        traced_monitor()
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2000, help="running stages (accounts)")
    parser.add_argument("--samples", type=int, default=200, help="breaches on the ladder")
    parser.add_argument("--positions", type=int, default=3, help="per background account (1-4)")
    parser.add_argument(
        "--holding", type=float, default=1.0, help="share of the other accounts holding positions"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="background ticks a second")
    parser.add_argument("--flush", type=float, default=0.02, help="the feed's writes, seconds")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between breaches")
    parser.add_argument("--kill-after", type=int, default=60, help="breaches seen before the kill")
    parser.add_argument(
        "--kill", choices=("ingest", "other"), default="ingest", help="which monitor to kill"
    )
    parser.add_argument("--partitions", type=int, default=8, help="PROPDESK_EVENT_PARTITIONS")
    parser.add_argument("--poll", type=float, default=0.005, help="seconds between stage polls")
    parser.add_argument("--poll-leases", type=float, default=0.02, help="checkpoint polls, s")
    parser.add_argument("--warmup", type=float, default=120.0, help="most seconds to catch up")
    parser.add_argument("--settle", type=float, default=5.0, help="least seconds of warm-up")
    parser.add_argument("--caught-up", type=int, default=500, help="events behind: caught up")
    parser.add_argument("--timeout", type=float, default=30.0, help="after the last breach")
    parser.add_argument("--db", default="propdesk_bench_failover", help="dropped and re-created")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database and the stream")
    parser.add_argument("--logs", default="", help="a folder to keep the monitors' logs in")
    parser.add_argument(
        "--trace", action="store_true", help="the monitors note their steps (their logs, printed)"
    )
    args = parser.parse_args()
    if not 1 <= args.samples <= args.stages // 2:
        parser.error("--samples is between 1 and half of --stages")
    if args.db in ("postgres", "test", "template0", "template1"):
        parser.error("--db names the benchmark's own database")

    began = time.perf_counter()
    stream = f"BENCH_FAILOVER_{uuid.uuid4().hex[:12].upper()}"
    os.environ["PROPDESK_EVENT_LOG"] = NATS_URL
    os.environ["PROPDESK_EVENT_STREAM"] = stream
    os.environ["PROPDESK_EVENT_PARTITIONS"] = str(args.partitions)
    url = recreate(args)
    setup_django(url)  # sets DATABASE_URL and the rest in os.environ: every child inherits it
    from django.core.management import call_command
    from django.db import connection

    from propdesk.platforms import natslog

    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    natslog.ensure_stream()
    ok = False
    try:
        call_command("migrate", verbosity=0, interactive=False)
        ladder = fill(args)
        connection.close()
        vacuum(url)
        say(
            f"filled {args.stages:,} running stages ({len(ladder)} on the breach ladder) in "
            f"{time.perf_counter() - began:.0f} s; NATS stream {stream}, {args.partitions} "
            f"partitions; {load_average()}"
        )
        with tempfile.TemporaryDirectory(prefix="failover-") as tmp:
            work = Path(tmp)
            logs = Path(args.logs) if args.logs else work
            logs.mkdir(parents=True, exist_ok=True)
            run, ticked, seen, fed = drill(args, url, env, ladder, logs)
            say(
                f"feed: {fed['ticks'] / fed['seconds']:.1f} ticks/s (asked {args.rate:g}), "
                f"{fed['written'] / fed['seconds']:,.0f} snapshots/s written over "
                f"{fed['seconds']:.0f} s; {load_average()}"
            )
            on_time = report(run, ticked, seen, ladder, args)
            counts = check(args, ladder, work)
            say("")
            say("check against `propdesk rules replay` of every account's events (in-process):")
            for label, n in counts.items():
                say(f"  {label:<56} {n:7,}")
            bad = sum(n for k, n in counts.items() if k.split(" ")[0] in ("MISSED", "EXTRA"))
            bad += sum(n for k, n in counts.items() if k.startswith(("DOUBLED", "OTHER")))
            say(f"  missed, doubled or extra: {bad}")
            ok = on_time and not bad
            if not ok or args.trace:
                for log in sorted(logs.glob("monitor*.log")):
                    lines = log.read_text(errors="replace").splitlines()
                    tail = around(lines, run.kill_at) if args.trace else lines[-30:]
                    say(f"--- {log.name} (last lines) ---\n" + "\n".join(tail))
    finally:
        connection.close()
        if not args.keep:
            natslog.delete_stream(stream)
            with psycopg.connect(
                host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
            ) as admin:
                name = sql.Identifier(args.db)
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    say(f"whole run: {time.perf_counter() - began:.0f} s; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
