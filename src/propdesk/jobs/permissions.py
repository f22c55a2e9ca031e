"""The background jobs' staff permissions (registered with the catalogue when the app loads)."""

from __future__ import annotations

from propdesk.core.permissions import register

JOBS_VIEW = register("jobs.view", "See background jobs that failed or wait to retry")
JOBS_MANAGE = register("jobs.manage", "Retry or dismiss failed background jobs")
