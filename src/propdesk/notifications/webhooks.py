"""Outbound webhooks: the firm's other systems told what happens, signed as the Standard
Webhooks specification says (docs/webhooks.md).

The specification (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md,
"Signature scheme" and "Webhook headers") asks for:

- the body sent as the JSON bytes that were signed (we keep them, so every attempt sends the
  same bytes);
- headers `webhook-id` (the message's id, the same on every attempt: the receiver's
  idempotency key), `webhook-timestamp` (integer unix seconds of the *attempt*) and
  `webhook-signature`, a space-delimited list of `v1,<base64 HMAC-SHA256>` signatures of
  `{msg_id}.{timestamp}.{payload}`;
- a symmetric secret of 24 to 64 random bytes shown as `whsec_` + base64;
- "zero downtime secret rotation": for a set period after a rotation the message is signed
  with both the new and the old secret, both signatures sent in the header;
- success is a 2xx answer; anything else (3xx included: redirects are not followed), a
  timeout or a refused connection is a failure, tried again with exponential back-off.

`publish` is called by `events.emit` in the business transaction: it writes the message and one
delivery per subscribed endpoint, and enqueues the endpoint's delivery job; nothing leaves
before the commit. `deliver` (the job) sends one endpoint's pending deliveries in the order of
their ids, each after the one before it succeeded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from propdesk.core import vault
from propdesk.jobs.retries import RetryPolicy, job
from propdesk.notifications import webhooks_http
from propdesk.notifications.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification allows 24 to 64
TEST_EVENT = "webhook.test"
RESPONSE_KEPT = webhooks_http.RESPONSE_KEPT
LEASE_MARGIN = 30  # seconds a lease outlasts the longest POST
UNSIGNED = "Not sent: no key of the vault opens the signing secret; rotate the secret"
Answer = webhooks_http.Answer
post = webhooks_http.post


def new_message_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64 of HMAC-SHA256 over `{msg_id}.{timestamp}.{body}` (the specification's
    symmetric scheme)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The endpoint's secret, and its previous one until the rotation's overlap ends."""
    found = [vault.open_sealed(endpoint.secret)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and now < (endpoint.previous_secret_until)
    ):
        found.append(vault.open_sealed(endpoint.previous_secret))
    return [s for s in found if s]


def headers(
    endpoint: WebhookEndpoint, msg_id: str, body: bytes, now: datetime | None = None
) -> dict[str, str]:
    now = now or timezone.now()
    timestamp = int(now.timestamp())
    signatures = [signature(s, msg_id, timestamp, body) for s in signing_secrets(endpoint, now)]
    return {
        "Content-Type": "application/json",
        "User-Agent": "propdesk-webhooks",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


# --- publishing: in the caller's transaction -----------------------------------------------------


def subscribed(event_type: str) -> list[WebhookEndpoint]:
    return [
        e for e in WebhookEndpoint.objects.filter(is_active=True) if event_type in e.event_types
    ]


def _write(event_type: str, data: dict[str, Any], endpoints: list[WebhookEndpoint]) -> Any:
    now = timezone.now()
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    body = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    message = WebhookMessage.objects.create(
        msg_id=new_message_id(), event_type=event_type, payload=json.loads(body), body=body
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, message=message, next_attempt_at=now)
        for endpoint in endpoints
    )
    for endpoint in endpoints:
        deliver.enqueue(endpoint.pk)  # a row of the job queue: committed with the rest, or not
    return message


def publish(event_type: str, data: dict[str, Any]) -> WebhookMessage | None:
    """Queue the event for every active endpoint subscribed to it (none: nothing is kept)."""
    endpoints = subscribed(event_type)
    if not endpoints:
        return None
    with transaction.atomic():
        message: WebhookMessage = _write(event_type, data, endpoints)
    return message


def publish_test(endpoint: WebhookEndpoint, data: dict[str, Any]) -> WebhookMessage:
    """A `webhook.test` event to this endpoint only (whatever it subscribed to)."""
    with transaction.atomic():
        message: WebhookMessage = _write(TEST_EVENT, data, [endpoint])
    return message


# --- delivering: the job, after the commit -------------------------------------------------------


def policy() -> RetryPolicy:
    """How long a delivery is tried: doubling waits from WEBHOOK_RETRY_SECONDS up to
    WEBHOOK_RETRY_MAX_SECONDS, WEBHOOK_MAX_ATTEMPTS tries (by default about a day)."""
    return RetryPolicy(
        max_attempts=max(1, int(settings.WEBHOOK_MAX_ATTEMPTS)),
        first_delay=float(settings.WEBHOOK_RETRY_SECONDS),
        max_delay=float(settings.WEBHOOK_RETRY_MAX_SECONDS),
    )


def lease_seconds() -> float:
    """How long a delivery job holds an endpoint: longer than a POST may take (its timeout
    covers the whole exchange); renewed before each POST."""
    return 2 * webhooks_http.timeout() + LEASE_MARGIN


def claim(endpoint_id: int) -> str | None:
    """Take the endpoint for this job (one conditional UPDATE, its own short transaction):
    a token, or None when it is switched off, gone, or another job holds an unexpired lease.
    Judged by the database's clock: workers' clocks may disagree."""
    token = secrets.token_hex(16)
    free = Q(lease_token="") | Q(leased_until__isnull=True) | Q(leased_until__lt=Now())
    taken = WebhookEndpoint.objects.filter(free, pk=endpoint_id, is_active=True).update(
        lease_token=token, leased_until=Now() + timedelta(seconds=lease_seconds())
    )
    return token if taken else None


def _renew(endpoint_id: int, token: str) -> bool:
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token, is_active=True).update(
            leased_until=Now() + timedelta(seconds=lease_seconds())
        )
    )


def release(endpoint_id: int, token: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token).update(
        lease_token="", leased_until=None
    )


def _head(endpoint_id: int) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
        )
        .select_related("message", "endpoint")
        .order_by("id")
        .first()
    )


def _due(endpoint_id: int) -> bool:
    head = _head(endpoint_id)
    return head is not None and (
        head.next_attempt_at is None or head.next_attempt_at <= timezone.now()
    )


def _attempt(delivery: WebhookDelivery, answer: Answer) -> None:
    WebhookAttempt.objects.create(
        delivery=delivery,
        status_code=answer.status_code,
        response_body=answer.body,
        error=answer.error or ("" if answer.ok else f"HTTP {answer.status_code}"),
        duration_ms=answer.duration_ms,
    )


def _record(delivery: WebhookDelivery, answer: Answer, now: datetime) -> datetime | None:
    """Write the attempt; returns when to try again (None: nothing to wait for)."""
    _attempt(delivery, answer)
    delivery.attempts += 1
    delivery.last_status_code = answer.status_code
    delivery.last_error = "" if answer.ok else (answer.error or f"HTTP {answer.status_code}")
    again: datetime | None = None
    if answer.ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= policy().max_attempts:
        # Given up: the endpoint's queue moves on; staff may redeliver it from the log.
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        again = now + timedelta(seconds=policy().delay(delivery.attempts))
        delivery.next_attempt_at = again
    delivery.save()
    return again


def send_next(endpoint_id: int, token: str) -> str:
    """Send the endpoint's first pending delivery if it is due, while holding its lease.
    Returns "sent" (go on with the next), "wait" (its next try is later), "idle" (nothing
    to send) or "lost" (the lease is no longer ours: switched off, deleted, or it ran out).

    No transaction is open across the network: renew the lease and read the head (a short
    transaction), POST, then record the answer in another short transaction, and only while
    the lease is still ours and the delivery unchanged (staff may have redelivered it)."""
    with transaction.atomic():
        if not _renew(endpoint_id, token):
            return "lost"
        delivery = _head(endpoint_id)
    if delivery is None:
        return "idle"
    if delivery.next_attempt_at and delivery.next_attempt_at > timezone.now():
        return "wait"  # the failed attempt enqueued the job that tries it again
    message, endpoint = delivery.message, delivery.endpoint
    body = (message.body or json.dumps(message.payload, separators=(",", ":"))).encode()
    sent_headers = headers(endpoint, message.msg_id, body)
    if sent_headers["webhook-signature"]:
        answer = post(endpoint.url, body, sent_headers)
    else:  # never sent unsigned: the vault has no key that opens the secret
        answer = Answer(None, "", UNSIGNED, 0)
    with transaction.atomic():
        ours = (
            WebhookEndpoint.objects.select_for_update()  # a moment: no lease changes hands now
            .filter(pk=endpoint_id, lease_token=token)
            .values_list("pk", flat=True)
            .first()
        )
        current = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING)
            .filter(attempts=delivery.attempts)
            .first()
        )
        if ours is None or current is None:
            # What was sent stays in the log; the delivery's state is its new owner's.
            if WebhookDelivery.objects.filter(pk=delivery.pk).exists():
                _attempt(delivery, answer)
            return "lost"
        again = _record(current, answer, timezone.now())
        if again is not None:
            deliver.using(run_after=again).enqueue(endpoint_id)
            return "wait"
    return "sent"


def _wake_after_lease(endpoint_id: int) -> None:
    """Another job holds the endpoint: it looks again after giving it back; should it have
    died, this job's follow-up runs once its lease has run out."""
    until = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True)
        .exclude(lease_token="")
        .values_list("leased_until", flat=True)
        .first()
    )
    if until is not None:
        deliver.using(run_after=until + timedelta(seconds=1)).enqueue(endpoint_id)


@job()
def deliver(endpoint_id: int) -> int:
    """Send an endpoint's pending deliveries in order; returns how many were sent.

    One is enqueued per published event and per redelivery: the one that takes the
    endpoint's lease sends them all, the others find it taken and leave. A failed delivery
    waits for its back-off, and every later one waits behind it: events arrive in order.
    Delivery is at least once: a receiver that answered 2xx but whose answer was lost gets
    the message again, with the same `webhook-id`.
    """
    sent = 0
    while True:
        token = claim(endpoint_id)
        if token is None:
            _wake_after_lease(endpoint_id)
            return sent
        step = "lost"
        try:
            while (step := send_next(endpoint_id, token)) == "sent":
                sent += 1
        finally:
            release(endpoint_id, token)
        # A delivery published while we held the lease: its own job found the endpoint
        # taken and left, so we look again once the lease is given back.
        if step == "lost" or not _due(endpoint_id):
            return sent


def sweep() -> int:
    """Every minute (housekeeping): a delivery job for each active endpoint whose first
    pending delivery is due and that no live lease holds. A safety net: normally a job is
    already queued (the publish, the back-off, the end of a lease), but a job can be lost
    (given up after a database outage). Returns how many were enqueued."""
    now = timezone.now()
    due = (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            endpoint__is_active=True,
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(
            Q(endpoint__lease_token="")
            | Q(endpoint__leased_until__isnull=True)
            | Q(endpoint__leased_until__lt=now)
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    found = sorted(set(due))
    for endpoint_id in found:
        deliver.enqueue(endpoint_id)
    return len(found)
