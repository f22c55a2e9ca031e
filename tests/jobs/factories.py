"""Jobs for the worker's tests: real `@job`s, run by the real worker."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

from django.utils import timezone

from propdesk.jobs import leases
from propdesk.jobs.models import WorkerProcess
from propdesk.jobs.retries import PermanentFailure, job


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (a web tier or mail server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@job()
def add(a: int, b: int) -> int:
    return a + b


@job()
def refuse() -> None:
    raise PermanentFailure("the other side said no for good")


@job(max_attempts=2, first_delay=5, max_delay=5)
def always_fails() -> None:
    raise ConnectionError("down")


@job()
def stalls_and_is_reaped() -> str:
    """A worker that stalls so long that another worker takes its job back (simulated: the
    other worker's reaper runs now, a day later)."""
    leases.reap_abandoned(now=timezone.now() + timedelta(days=1))
    return "finished late"


@job()
def waits_for_a_heartbeat() -> bool:
    """Runs until its worker has said again that it is alive (True), or 60 s (False)."""
    first = WorkerProcess.objects.values_list("seen_at", flat=True).get()
    for _ in range(600):
        if WorkerProcess.objects.values_list("seen_at", flat=True).get() > first:
            return True
        time.sleep(0.1)
    return False


@job()
def loses_its_database_connection() -> str:
    """Does its work, but the worker's database connection is cut under it (a database
    restart, a failover): the worker must record the outcome once the database answers."""
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    return "done"


@job(max_attempts=1)
def fails_quoting_a_nul() -> None:
    raise ValueError("the other side answered b'bad\x00reply'")


@job()
def returns_a_nul() -> str:
    return "done\x00"
