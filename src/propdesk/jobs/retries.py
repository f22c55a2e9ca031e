"""How a failed job is tried again: a policy per task (attempts, back-off), and which errors
are not worth another try.

A job is declared with `@job(...)` instead of django-tasks' `@task()`; the options it takes
beyond `task()`'s own override the firm's defaults (settings `JOBS_*`) for that task only.
Every job must be safe to run more than once: it is retried after a failure, and re-run when
its worker died mid-way (the worker cannot know how far it got).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.utils.module_loading import import_string
from django_tasks import task


class PermanentFailure(Exception):
    """Raised by a job when trying again cannot help (the other side refused the request
    itself): the job gives up at once and waits for staff."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    first_delay: float  # seconds before the second attempt
    max_delay: float  # the doubling stops here

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first).

        The wait doubles each time up to `max_delay`; a random half of it is dropped
        ("equal jitter") so that jobs which failed together (the site was down) do not all
        come back in the same second.
        """
        exponent = min(max(attempt - 1, 0), 32)  # 2**32 times the first delay is past any cap
        ceiling = min(self.max_delay, self.first_delay * 2**exponent)
        return ceiling / 2 + rand() * ceiling / 2


_overrides: dict[str, dict[str, float]] = {}


def default_policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max(1, int(settings.JOBS_MAX_ATTEMPTS)),
        first_delay=max(0.0, float(settings.JOBS_RETRY_SECONDS)),
        max_delay=max(0.0, float(settings.JOBS_RETRY_MAX_SECONDS)),
    )


def policy_for(task_path: str) -> RetryPolicy:
    """The task's own policy: the firm's defaults with what its `@job(...)` overrides."""
    if task_path not in _overrides:
        # Its module declares the overrides when imported; the reaper may come first.
        with contextlib.suppress(ImportError, ValueError):
            import_string(task_path)
    base = default_policy()
    own = _overrides.get(task_path, {})
    return RetryPolicy(
        max_attempts=int(own.get("max_attempts", base.max_attempts)),
        first_delay=float(own.get("first_delay", base.first_delay)),
        max_delay=float(own.get("max_delay", base.max_delay)),
    )


def is_permanent(error: BaseException) -> bool:
    # A job whose code is gone (renamed, removed) or malformed cannot succeed later either.
    return isinstance(error, PermanentFailure | ImportError | SuspiciousOperation)


def job(
    *,
    max_attempts: int | None = None,
    first_delay: float | None = None,
    max_delay: float | None = None,
    **task_options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """`@task(**task_options)` with its own retry policy (None keeps the firm's default)."""

    def decorate(func: Callable[..., Any]) -> Any:
        made = task(**task_options)(func)
        chosen = {"max_attempts": max_attempts, "first_delay": first_delay, "max_delay": max_delay}
        own = {k: float(v) for k, v in chosen.items() if v is not None}
        if own:
            _overrides[made.module_path] = own
        return made

    return decorate
