"""Login throttling, counted in the database so that every server process sees the same tally.

Each attempt is written down as a failure *before* the password is checked, and only then
are the failures counted. Parallel guesses therefore see each other: at most the limit of
them get as far as a password check, however many arrive at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from propdesk.accounts.models import LoginAttempt
from propdesk.core.errors import Throttled


def begin(email: str, ip: str | None) -> LoginAttempt:
    """Record the attempt, then refuse it if too many failed lately (this one included)."""
    attempt = LoginAttempt.objects.create(email=email[:254], ip=ip, succeeded=False)
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    window_start = timezone.now() - timedelta(seconds=window)
    last_success = LoginAttempt.objects.filter(
        email=attempt.email, succeeded=True, at__gte=window_start
    ).aggregate(last=Max("at"))["last"]
    since = max(window_start, last_success) if last_success else window_start
    failures = LoginAttempt.objects.filter(email=attempt.email, succeeded=False, at__gt=since)
    if failures.count() > settings.LOGIN_THROTTLE_MAX_FAILURES_PER_EMAIL:
        raise Throttled(
            "Too many failed logins for this email. Wait a few minutes and try again.",
            extra={"retry_after": window},
        )
    if ip is not None:
        ip_failures = LoginAttempt.objects.filter(ip=ip, succeeded=False, at__gt=window_start)
        if ip_failures.count() > settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP:
            raise Throttled(
                "Too many failed logins from your address. Wait a few minutes and try again.",
                extra={"retry_after": window},
            )
    return attempt


def succeeded(attempt: LoginAttempt) -> None:
    LoginAttempt.objects.filter(pk=attempt.pk).update(succeeded=True)
