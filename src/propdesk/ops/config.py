"""The settings of the health checks and the metrics, from the environment (read once, by
settings.py, as `OPS`): a value that means nothing stops the start with the variable's name.
See docs/observability.md."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from propdesk.core.numbers import NotANumber, read_whole

# What /readyz may require besides the database and the migrations.
PARTS = ("monitor", "worker")


@dataclass(frozen=True)
class OpsSettings:
    # /readyz: the monitor seen (its leases renewed) within this many seconds, its lag (the
    # worst feed's seconds behind) at most this, a job worker seen within this.
    monitor_seconds: int = 30
    monitor_lag_seconds: int = 60
    worker_seconds: int = 150
    # The parts of the install /readyz requires: an install that runs no monitor (or no
    # worker) leaves it out, and /readyz still shows its figures without failing on them.
    require: frozenset[str] = frozenset(PARTS)
    # The bearer token /metrics asks for; empty: /metrics answers 404.
    metrics_token: str = ""


def _seconds(environ: Mapping[str, str], name: str, default: int, *, least: int = 1) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return read_whole(value, low=least, high=10**9)
    except NotANumber:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of seconds, at least {least} (got {value!r})."
        ) from None


def parts(value: str) -> frozenset[str]:
    """The parts of the install named in `value` ("monitor,worker", "worker", "none"); raises
    ValueError naming what it does not know."""
    value = value.strip().lower()
    if value == "none":
        return frozenset()
    named = {p.strip() for p in value.split(",") if p.strip()}
    unknown = sorted(named - set(PARTS))
    if unknown or not named:
        raise ValueError(
            f"must name some of {', '.join(PARTS)} separated by commas, or be none "
            f"(got {(', '.join(unknown) or repr(value))[:60]})"
        )
    return frozenset(named)


def _require(environ: Mapping[str, str]) -> frozenset[str]:
    name = "PROPDESK_READY_REQUIRE"
    value = environ.get(name, "").strip()
    if not value:
        return frozenset(PARTS)
    try:
        return parts(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} {exc}.") from None


def _token(environ: Mapping[str, str]) -> str:
    name = "PROPDESK_METRICS_TOKEN"
    token = environ.get(name, "").strip()
    if token and not re.fullmatch(r"[!-~]{24,200}", token):
        raise ImproperlyConfigured(
            f"{name} must be 24 to 200 printable characters without spaces, such as "
            "`openssl rand -hex 32` prints."
        )
    return token


def ops_settings(environ: Mapping[str, str], *, job_lease_seconds: int) -> OpsSettings:
    """The settings from `environ`. A worker beats every quarter of the job lease
    (jobs/leases.py), so by default it is missed after half the lease (two beats), and a
    shorter threshold than a beat would call a live worker dead."""
    beat = max(1, job_lease_seconds // 4)
    worker_name = "PROPDESK_READY_WORKER_SECONDS"
    worker = _seconds(environ, worker_name, max(2 * beat, job_lease_seconds // 2))
    if worker <= beat:
        raise ImproperlyConfigured(
            f"{worker_name} must be more than the job worker's heartbeat, every {beat} s "
            f"(a quarter of PROPDESK_JOB_LEASE_SECONDS; got {worker})."
        )
    return OpsSettings(
        monitor_seconds=_seconds(environ, "PROPDESK_READY_MONITOR_SECONDS", 30),
        monitor_lag_seconds=_seconds(environ, "PROPDESK_READY_MONITOR_LAG_SECONDS", 60),
        worker_seconds=worker,
        require=_require(environ),
        metrics_token=_token(environ),
    )
