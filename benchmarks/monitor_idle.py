"""What an idle demo's background processes cost: the share of one core each of `propdesk
monitor`, `propdesk worker` and `propdesk sandbox feed --rate 10` uses while nobody does anything.

    .venv/bin/python benchmarks/monitor_idle.py [--seconds 60] [--warmup 15] [--only monitor]

The demo's own database first: a fresh SQLite file in a temporary folder, migrated and seeded as
`propdesk demo` seeds it (clients with running stages and open positions). Then, when
DATABASE_URL is set, again on that PostgreSQL server in a database of the benchmark's own
(`propdesk_bench_idle`, dropped and re-created; the URL's own database is never touched).

Each process is the real command (`python -m propdesk.cli ...`), started as the demo starts it.
After `--warmup` seconds (Django starting, the monitor reading the seeded history, the feed's
first snapshots), the CPU time each uses (user + system, /proc/<pid>/stat) is read over
`--seconds` of wall time and printed as a share of one core. The feed ticks as the demo's does,
so now and then a snapshot of a seeded account reaches the monitor: an idle demo, not an empty
one. `--only monitor` runs the monitor alone (a stream where nothing at all happens).

Aim (issue 13): the monitor under 2% of a core.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
AIM_PCT = 2.0
DB_FILE = "propdesk.sqlite3"  # in PROPDESK_VAR_DIR, as the settings name it
COMMANDS = {
    "monitor": ["monitor"],
    "worker": ["worker"],
    "feed": ["sandbox", "feed", "--rate", "10"],  # as `propdesk demo` runs it
}


def say(text: str) -> None:
    print(text, flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def environment(var_dir: Path, url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if url:
        env["DATABASE_URL"] = url
    env["PROPDESK_VAR_DIR"] = str(var_dir)
    env["PROPDESK_DEMO"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "propdesk.settings"
    env.setdefault("PROPDESK_LOG_LEVEL", "WARNING")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


SEED = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from propdesk.demo import seed_demo
seed_demo()
"""


def seed(env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", SEED], env=env, check=True)
    return time.perf_counter() - began


def newest_event(env: dict[str, str]) -> int:
    """The stream's newest event id (how many came meanwhile: the monitor's work)."""
    query = "SELECT coalesce(max(id), 0) FROM sandbox_event"
    url = env.get("DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute(query).fetchone()
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(Path(env["PROPDESK_VAR_DIR"]) / DB_FILE)) as db:
            row = db.execute(query).fetchone()
    return int(row[0]) if row else 0


def measure(env: dict[str, str], names: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Start the processes, let them warm up, and return each one's share of a core (%)."""
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "propdesk.cli", *COMMANDS[name]],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for name in names
    }
    try:
        time.sleep(args.warmup)
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} stopped during the warm-up (exit {proc.returncode})")
        before = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
        first = newest_event(env)
        began = time.monotonic()
        time.sleep(args.seconds)
        after = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
        wall = time.monotonic() - began
        say(f"  {newest_event(env) - first} account events came meanwhile")
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} stopped while measured (exit {proc.returncode})")
        return {name: 100 * (after[name] - before[name]) / wall for name in names}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def report(where: str, shares: dict[str, float], args: argparse.Namespace) -> bool:
    say(f"  CPU over {args.seconds:g} s after a {args.warmup:g} s warm-up ({where}):")
    for name, share in shares.items():
        aim = ""
        if name == "monitor":
            aim = "  (aim: under 2%: " + ("met)" if share < AIM_PCT else "MISSED)")
        say(f"  {' '.join(['propdesk', *COMMANDS[name]]):<36} {share:6.2f} % of a core{aim}")
    return shares.get("monitor", 0.0) < AIM_PCT


def own_database(url: str, name: str) -> str:
    """The URL of a database of the benchmark's own on the same server, (re)created empty."""
    drop_database(url, name)
    administer(url, "CREATE DATABASE {}", name)
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(url: str, name: str) -> None:
    administer(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def administer(url: str, statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL(statement).format(sql.Identifier(name)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring")
    parser.add_argument(
        "--only", choices=sorted(COMMANDS), action="append", help="run only these (repeatable)"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--db", default="propdesk_bench_idle", help="PostgreSQL: dropped, re-made")
    args = parser.parse_args()
    names = args.only or ["monitor", "worker", "feed"]
    url = os.environ.get("DATABASE_URL", "")
    say(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} (1 min)")
    met = True
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="propdesk-idle-") as var_dir:
            env = environment(Path(var_dir), None)
            say(f"SQLite: the demo seeded in {seed(env):.0f} s")
            met &= report("SQLite", measure(env, names, args), args)
    if url:
        if args.db in ("postgres", "template0", "template1") or urlsplit(url).path == f"/{args.db}":
            parser.error("--db names the benchmark's own database")
        own = own_database(url, args.db)
        try:
            with tempfile.TemporaryDirectory(prefix="propdesk-idle-") as var_dir:
                env = environment(Path(var_dir), own)
                say(f"PostgreSQL: the demo seeded in {seed(env):.0f} s")
                met &= report("PostgreSQL", measure(env, names, args), args)
        finally:
            drop_database(url, args.db)
    say(f"load average {os.getloadavg()[0]:.2f} (1 min)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
