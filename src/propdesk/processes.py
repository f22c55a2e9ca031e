"""What the `propdesk` command's long-running forms share: Django set up on demand, the
migrations still to apply, static files, and processes run side by side (`serve`: the site, the
worker, the monitor and, when asked, the sandbox's feed; `demo`: those and the fake Match-Trader
server)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from propdesk.core.numbers import NotANumber, read_whole

# Seconds gunicorn gives the requests under way when told to stop.
GRACE_SECONDS = 25


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "propdesk.settings")
    import django

    django.setup()


def unapplied_migrations() -> int:
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def newer_database() -> str | None:
    """Why this code must not run on the database, when a newer propdesk migrated it: an error
    message naming the migrations of propdesk's apps that are applied there but that this code
    does not have. An upgrade that falls back to the older image (docs/operations.md,
    "Upgrades") would otherwise run on tables it does not know, and the older `migrate` only
    says that it has nothing to apply."""
    from django.apps import apps
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connections[DEFAULT_DB_ALIAS], ignore_no_migrations=True)
    ours = {app.label for app in apps.get_app_configs() if app.name.startswith("propdesk.")}
    # Every migration file on disk, squashed ones' originals included.
    known = set(loader.disk_migrations) | set(loader.replacements)
    unknown = sorted(
        f"{label}.{name}"
        for label, name in loader.applied_migrations or {}
        if label in ours and (label, name) not in known
    )
    if not unknown:
        return None
    shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    return (
        "error: the database was migrated by a newer propdesk (it has migrations this version "
        f"does not know: {shown}): run that version's image, or restore the backup taken "
        'before the upgrade (docs/operations.md, "Upgrades")'
    )


def web_workers(environ: Mapping[str, str], cores: int | None) -> int:
    """gunicorn's processes: PROPDESK_WEB_WORKERS when set (a container sees the host's cores,
    not its share of them), else one more than the cores, at least 2."""
    given = environ.get("PROPDESK_WEB_WORKERS", "").strip()
    if not given:
        return max(2, (cores or 1) + 1)
    try:
        return read_whole(given, low=1, high=64)
    except NotANumber:
        raise ValueError(
            f"error: PROPDESK_WEB_WORKERS must be a whole number from 1 to 64 (got {given!r})"
        ) from None


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
        # Requests under way get 25 s to finish on SIGTERM: within compose's stop_grace_period
        # (30 s), after which Docker kills.
        "--graceful-timeout",
        str(GRACE_SECONDS),
        "--access-logfile",
        "-",
        # gunicorn's control socket (for its gunicornc tool) would sit in $HOME, shared by every
        # server of the user (in the image, the data volume): propdesk does not use it.
        "--no-control-socket",
        # Its lines in propdesk's format, each request's with its id (docs/logging.md).
        "--logger-class",
        "propdesk.ops.access_log.GunicornLogger",
    ]


def propdesk_argv(*args: str) -> list[str]:
    """This same command in a child process, e.g. ("worker",)."""
    return [sys.executable, "-m", "propdesk.cli", *args]


def worker_argv() -> list[str]:
    return propdesk_argv("worker")


def monitor_argv() -> list[str]:
    return propdesk_argv("monitor")


def feed_argv(rate: float = 50.0) -> list[str]:
    return propdesk_argv("sandbox", "feed", "--rate", f"{rate:g}")


def serve_commands(
    host: str, port: int, workers: int, *, worker: bool, monitor: bool, feed: bool
) -> list[list[str]]:
    """`propdesk serve`'s processes: the site, then those asked for. One machine runs the whole
    firm from this one command; a larger install runs each as its own service (compose.yaml)
    and leaves them out here."""
    commands = [gunicorn_argv(host, port, workers)]
    if worker:
        commands.append(worker_argv())
    if monitor:
        commands.append(monitor_argv())
    if feed:
        commands.append(feed_argv())
    return commands


def collect_static() -> str | None:
    """Static files for the site, or why there are none (an error message).

    Collected at every start into var/ (an install from source: an upgrade brings its own
    files). With PROPDESK_STATIC_DIR they were collected beforehand, as the container image does
    when it is built, into a folder its user cannot write: those are used as they are, the same
    in every container of the image and never mixed with another version's."""
    from django.conf import settings
    from django.core.management import call_command

    if not settings.STATIC_COLLECTED_BEFOREHAND:
        call_command("collectstatic", interactive=False, verbosity=0)
        return None
    if (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        return None
    return (
        f"error: PROPDESK_STATIC_DIR ({settings.STATIC_ROOT}) holds no collected static files; "
        "collect them there first (`propdesk manage collectstatic`), or unset it"
    )


@contextlib.contextmanager
def metrics_folder() -> Iterator[str]:
    """The folder the site's gunicorn workers keep their request counts in
    (PROMETHEUS_MULTIPROC_DIR, ops.metrics): without one each scrape would see the counts of
    the one worker that answered it, and the counters would go up and down between scrapes.
    The operator's, when set; otherwise a fresh temporary one for this run (a folder left from
    an earlier run would carry its counts on), removed when it ends. Set in this process's
    environment, which the processes it starts inherit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="propdesk-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield folder
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_alone(command: list[str]) -> int:
    """The one process in place of this one (os.execv): it receives the signals itself, with
    no idle parent in between to cut its graceful stop short (compose's web service)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606 (our own interpreter and arguments)


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
        # Stopping: a second SIGTERM (a supervisor insisting) does not cut the stop short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        # The site's requests under way get gunicorn's graceful time, and a little more.
        deadline = time.monotonic() + GRACE_SECONDS + 3
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
