from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django_tasks import TaskContext

from propdesk.jobs.retries import PermanentFailure, job


@job(takes_context=True)
def send_email(context: TaskContext, to: str, subject: str, body: str) -> None:
    """Send one email; a mail server that is down or slow is tried again later.

    Delivery is at least once: if the worker dies after the mail server took the message but
    before the job is marked done, the retry sends it again. Every attempt carries the same
    Message-ID (made from the job's id), by which mail systems recognise the copy."""
    message = EmailMessage(
        subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers={"Message-ID": f"<{context.task_result.id}@propdesk.jobs>"},
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as refused:
        # The server refused the address itself: another try gets the same answer.
        raise PermanentFailure(f"The mail server refused the address {to}: {refused}") from refused
