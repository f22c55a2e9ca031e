"""Login throttling, counted in the database so that every server process sees the same tally."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from propdesk.accounts.models import LoginAttempt
from propdesk.core.errors import Throttled


def check(email: str, ip: str | None) -> None:
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    last_success = LoginAttempt.objects.filter(
        email=email, succeeded=True, at__gte=window_start
    ).aggregate(last=Max("at"))["last"]
    since = max(window_start, last_success) if last_success else window_start
    failures = LoginAttempt.objects.filter(email=email, succeeded=False, at__gt=since).count()
    if failures >= settings.LOGIN_THROTTLE_MAX_FAILURES_PER_EMAIL:
        raise Throttled(
            "Too many failed logins for this email. Wait a few minutes and try again.",
            extra={"retry_after": settings.LOGIN_THROTTLE_WINDOW_SECONDS},
        )
    if ip is not None:
        ip_failures = LoginAttempt.objects.filter(ip=ip, succeeded=False, at__gt=window_start)
        if ip_failures.count() >= settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP:
            raise Throttled(
                "Too many failed logins from your address. Wait a few minutes and try again.",
                extra={"retry_after": settings.LOGIN_THROTTLE_WINDOW_SECONDS},
            )


def note(email: str, ip: str | None, *, succeeded: bool) -> None:
    LoginAttempt.objects.create(email=email[:254], ip=ip, succeeded=succeeded)
