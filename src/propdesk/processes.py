"""What the `propdesk` command's long-running forms share: Django set up on demand, the
migrations still to apply, and processes run side by side (`serve`: the site and the worker;
`demo`: those, the sandbox's feed, the monitor and the fake Match-Trader server)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "propdesk.settings")
    import django

    django.setup()


def unapplied_migrations() -> int:
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def gunicorn_argv(host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "propdesk.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--access-logfile",
        "-",
        # Its lines in propdesk's format, each request's with its id (docs/logging.md).
        "--logger-class",
        "propdesk.ops.access_log.GunicornLogger",
    ]


def propdesk_argv(*args: str) -> list[str]:
    """This same command in a child process, e.g. ("worker",)."""
    return [sys.executable, "-m", "propdesk.cli", *args]


def worker_argv() -> list[str]:
    return propdesk_argv("worker")


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_together(commands: list[list[str]]) -> int:
    """Run the processes side by side; when one stops, or we are told to stop, stop the rest."""
    signal.signal(signal.SIGTERM, _stop)
    procs = [subprocess.Popen(cmd) for cmd in commands]  # noqa: S603
    try:
        while True:
            for proc in procs:
                code = proc.poll()
                if code is not None:
                    return code
            with contextlib.suppress(subprocess.TimeoutExpired):
                procs[0].wait(timeout=0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
