"""Telling a person something: a portal notification now, an email once the transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.notifications.models import Notification
from propdesk.notifications.tasks import send_email


def notify(
    user: User,
    *,
    title: str,
    body: str = "",
    level: str = Notification.Level.INFO,
    email: bool = True,
    event: str = "",
) -> Notification:
    """Store the notification and enqueue its email in the caller's transaction.

    The job row is written by the same transaction: if the business change rolls back, the
    email never existed; if it commits, a worker sends it.
    """
    with transaction.atomic():
        notification = Notification.objects.create(
            user=user, title=title, body=body, level=level, event=event
        )
        if email:
            text = f"{body}\n\n{settings.PROPDESK_FIRM_NAME}\n{settings.PROPDESK_SITE_URL}/portal/"
            send_email.enqueue(user.email, title, text)
    return notification


def send_account_email(to: str, subject: str, body: str) -> None:
    """An account email (a reset or verification link, a password notice): no portal
    notification, only the email job, written in the caller's transaction."""
    send_email.enqueue(to, subject, body)


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_all_read(user: User) -> int:
    now = timezone.now()
    with transaction.atomic():
        Notification.objects.filter(user=user, seen_at__isnull=True).update(seen_at=now)
        return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=now)


def unseen(user: User) -> QuerySet[Notification]:
    """What arrived since the client last looked (the portal's pop-up), newest first."""
    return Notification.objects.filter(user=user, seen_at__isnull=True)


def mark_seen(user: User, *, up_to: int | None = None) -> int:
    """The client saw their notifications (up to the id `up_to`, the newest the pop-up
    showed: one that came after it pops up next time). They stay unread."""
    found = unseen(user)
    if up_to is not None:
        found = found.filter(pk__lte=up_to)
    return found.update(seen_at=timezone.now())
