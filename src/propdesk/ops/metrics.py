"""/metrics: Prometheus series of the web's requests and of the install's state
(docs/observability.md lists each).

The requests (`propdesk_http_requests_total`, `propdesk_http_request_duration_seconds`) are
counted by each process as it answers. Under gunicorn several processes answer: with
`PROMETHEUS_MULTIPROC_DIR` set (before the processes start) prometheus_client keeps each
process's figures in files there and a scrape adds them up, whichever process answers it;
without it a scrape sees the figures of the process that answered only.

The rest is read from the database at each scrape (`DatabaseCollector`, one query a family),
so it is the same whichever process answers and needs no process of its own: the job queue,
the platform commands waiting, the monitor's feeds (events read, lag, who reads them), the
stages set aside, and the stages failed and passed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.models import Count, Min, Q, Value
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import checkpoints
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.platforms.models import PlatformCommand

logger = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def check_multiprocess_dir(environ: Mapping[str, str]) -> None:
    """A web process starting in multiprocess mode needs the directory, writable: without it
    every request would fail as it is counted. Stops the start naming the variable."""
    folder = environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if folder and not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
        raise ImproperlyConfigured(
            f"PROMETHEUS_MULTIPROC_DIR must be a directory this process may write ({folder!r} "
            "is not); see docs/observability.md."
        )


# Not registered anywhere by themselves: the scrape's registry takes them in one process, the
# files in PROMETHEUS_MULTIPROC_DIR carry them in many.
REQUESTS = Counter(
    "propdesk_http_requests",
    "HTTP requests answered, by method, route (the URL's name) and status.",
    ["method", "route", "status"],
    registry=None,
)
LATENCY = Histogram(
    "propdesk_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """One request answered. A method outside the usual ones is counted as "other", so that
    nobody can make up series by sending made-up methods."""
    method = method if method in METHODS else "other"
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


class DatabaseCollector(Collector):
    """The install's state, read at each scrape. A database that does not answer gives
    `propdesk_database_up 0` and none of the rest (Prometheus sees the gap)."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "propdesk_database_up", "1 when the metrics' queries reached the database."
        )
        try:
            found = [*_jobs(), *_commands(), *_monitor(), *_stages()]
        except DatabaseError:
            logger.exception("metrics: reading the database")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from found


def _jobs() -> list[Metric]:
    """The job queue by state, one query: queued (ready, never failed), running, waiting to
    retry (ready after a failure) and gave up (failed for good: Settings > Background jobs)."""
    rows = (
        DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING, TaskResultStatus.FAILED]
        )
        .values("status")
        .annotate(n=Count("pk"), failed_before=Count("pk", filter=~Q(exception_class_path="")))
    )
    states = {"queued": 0, "running": 0, "waiting_retry": 0, "gave_up": 0}
    for row in rows:
        if row["status"] == TaskResultStatus.READY:
            states["waiting_retry"] += row["failed_before"]
            states["queued"] += row["n"] - row["failed_before"]
        elif row["status"] == TaskResultStatus.RUNNING:
            states["running"] += row["n"]
        else:
            states["gave_up"] += row["n"]
    jobs = GaugeMetricFamily(
        "propdesk_jobs",
        "Background jobs by state: queued, running, waiting_retry (failed, tried again "
        "later), gave_up (failed for good, waiting for staff).",
        labels=["state"],
    )
    for state, n in states.items():
        jobs.add_metric([state], n)
    return [jobs]


def _commands() -> list[Metric]:
    """The platform outbox's backlog, one query: pending (to carry out or to try again) and
    failed (refused by the platform, waiting for staff), and the oldest of each's age."""
    rows = (
        PlatformCommand.objects.filter(
            status__in=[PlatformCommand.Status.PENDING, PlatformCommand.Status.FAILED]
        )
        .values("status")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
    )
    found = {row["status"]: row for row in rows}
    now = timezone.now()
    count = GaugeMetricFamily(
        "propdesk_platform_commands",
        "Platform commands not done, by state: pending (to carry out, or to try again after "
        "a fault) and failed (refused by the platform, waiting for staff).",
        labels=["state"],
    )
    age = GaugeMetricFamily(
        "propdesk_platform_commands_oldest_seconds",
        "Age of the oldest platform command in each state (0 when there is none).",
        labels=["state"],
    )
    for state in (PlatformCommand.Status.PENDING, PlatformCommand.Status.FAILED):
        row = found.get(state)
        count.add_metric([state.value], 0 if row is None else row["n"])
        oldest = None if row is None else row["oldest"]
        age.add_metric([state.value], 0 if oldest is None else (now - oldest).total_seconds())
    return [count, age]


def _monitor() -> list[Metric]:
    """The monitor's feeds, those of the enabled servers (as /readyz counts them: a disabled or
    removed server's old checkpoint is no feed to read), and its processes: two queries, the
    servers and the checkpoints (a few rows: one a feed, one a monitor process, one a server
    whose events a process takes in with NATS)."""
    keys = set(checkpoints.enabled_feed_keys())
    rows = list(
        MonitorCheckpoint.objects.filter(
            Q(key__in=keys) | Q(key__startswith=checkpoints.PRESENCE)
        ).only(
            "key",
            "owner",
            "lease_until",
            "events_read",
            "events_behind",
            "seconds_behind",
            "read_at",
        )
    )
    now = timezone.now()
    events = CounterMetricFamily(
        "propdesk_monitor_events_read",
        "Account events the monitor read, by feed; counted as its checkpoint moves (about "
        "every second): rate() is the events per second.",
        labels=["feed"],
    )
    seconds = GaugeMetricFamily(
        "propdesk_monitor_lag_seconds",
        "How far behind its feed's end the monitor is, in seconds, as its reader last measured it.",
        labels=["feed"],
    )
    behind = GaugeMetricFamily(
        "propdesk_monitor_lag_events",
        "How many events behind its feed's end the monitor is, as its reader last measured it.",
        labels=["feed"],
    )
    held = GaugeMetricFamily(
        "propdesk_monitor_feed_read",
        "1 when a monitor process holds the feed's lease (reads it), 0 when none does.",
        labels=["feed"],
    )
    read_at = GaugeMetricFamily(
        "propdesk_monitor_feed_read_timestamp_seconds",
        "When the monitor last read the feed without an error (Unix time; 0: never). "
        "time() minus it is how long the feed has gone unread.",
        labels=["feed"],
    )
    processes = GaugeMetricFamily(
        "propdesk_monitor_processes", "Monitor processes alive (their presence's lease runs)."
    )
    live = 0
    for row in rows:
        running = bool(row.owner) and row.lease_until is not None and row.lease_until > now
        if row.key.startswith(checkpoints.PRESENCE):
            live += running
            continue
        keys.discard(row.key)
        events.add_metric([row.key], row.events_read)
        seconds.add_metric([row.key], row.seconds_behind)
        behind.add_metric([row.key], row.events_behind)
        held.add_metric([row.key], 1 if running else 0)
        read_at.add_metric([row.key], 0 if row.read_at is None else row.read_at.timestamp())
    for key in sorted(keys):  # an enabled server's feed no monitor ever took
        events.add_metric([key], 0)
        held.add_metric([key], 0)
        read_at.add_metric([key], 0)
    processes.add_metric([], live)
    return [events, seconds, behind, held, read_at, processes]


def _stages() -> list[Metric]:
    """The stages set aside (the monitor could not apply their events or open the next one:
    Prop Trading > Monitor), the stages failed by their rules and passed, and the failures
    staff took back (each reinstatement's audit record), in one statement: a reinstated stage
    is no longer failed, but its breach was found, and a counter never goes down (Prometheus
    would take the drop for a restart and count the whole total again)."""
    stages = (
        StageAttempt.objects.filter(
            status__in=[
                StageAttempt.Status.IN_PROGRESS,
                StageAttempt.Status.PASSED,
                StageAttempt.Status.FAILED,
            ]
        )
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), aside=Count("pk", filter=~Q(monitor_error="")))
    )
    reinstatements = (
        AuditRecord.objects.filter(action=AuditAction.STAGE_REINSTATE)
        .order_by()
        .values("action")
        .annotate(n=Count("pk"), aside=Value(0))
    )
    # One statement (one snapshot of the database): counted apart, a reinstatement committed
    # between the two counts would take a failure off without adding its record yet.
    found = {row["status"]: row for row in stages.union(reinstatements, all=True)}

    def of(status: str, key: str = "n") -> int:
        row = found.get(status)
        return 0 if row is None else int(row[key])

    aside = GaugeMetricFamily(
        "propdesk_monitor_stages_set_aside",
        "Stages the monitor set aside for staff (running ones whose events it could not "
        "apply, passed ones whose next stage it could not open).",
    )
    aside.add_metric(
        [], of(StageAttempt.Status.IN_PROGRESS, "aside") + of(StageAttempt.Status.PASSED, "aside")
    )
    reinstated = of(AuditAction.STAGE_REINSTATE)
    breaches = CounterMetricFamily(
        "propdesk_stage_breaches",
        "Stages failed by their rules (a breach, or a day's close), those staff reinstated "
        "since included; from the database.",
    )
    breaches.add_metric([], of(StageAttempt.Status.FAILED) + reinstated)
    passes = CounterMetricFamily(
        "propdesk_stage_passes", "Stages passed (by the monitor or by staff), from the database."
    )
    passes.add_metric([], of(StageAttempt.Status.PASSED))
    return [aside, breaches, passes]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if MULTIPROCESS:
        MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    registry.register(DatabaseCollector())
    return registry


_REGISTRY: CollectorRegistry | None = None


def exposition(accept: str) -> tuple[bytes, str]:
    """The scrape's body and its content type (Prometheus' text format, or OpenMetrics when
    the scraper asks for it)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _registry()
    encoder, content_type = choose_encoder(accept)
    return encoder(_REGISTRY), content_type
