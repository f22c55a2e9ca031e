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
import http.client
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from propdesk.core import vault
from propdesk.jobs.retries import RetryPolicy, job
from propdesk.notifications.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification allows 24 to 64
TEST_EVENT = "webhook.test"
RESPONSE_KEPT = 1000  # characters of an answer kept in the delivery log
RESPONSE_READ = 64 * 1024  # bytes read of an answer at most


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


def headers(endpoint: WebhookEndpoint, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
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


def timeout() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the answer (a failure), never followed


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, sent_headers: dict[str, str]) -> Answer:
    """POST once: a short timeout, no redirects, at most RESPONSE_READ bytes of the answer."""
    started = time.monotonic()
    request = urllib.request.Request(url, data=body, method="POST", headers=sent_headers)  # noqa: S310  (http(s) only: checked when saved)
    status: int | None = None
    text, error = "", ""
    try:
        with _opener.open(request, timeout=timeout()) as response:
            status = int(response.status)
            text = response.read(RESPONSE_READ).decode(errors="replace")
    except urllib.error.HTTPError as answered:
        status = int(answered.code)
        try:
            text = answered.read(RESPONSE_READ).decode(errors="replace")
        except OSError:
            text = ""
        finally:
            answered.close()
    except (OSError, ValueError, http.client.HTTPException) as failed:  # refused, timed out, reset
        reason = getattr(failed, "reason", failed)
        error = f"{type(reason).__name__}: {reason}"[:500]
    duration = int((time.monotonic() - started) * 1000)
    return Answer(status, text[:RESPONSE_KEPT], error, duration)


def _head(endpoint_id: int) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
        )
        .select_related("message")
        .order_by("id")
        .first()
    )


def _record(delivery: WebhookDelivery, answer: Answer, now: datetime) -> datetime | None:
    """Write the attempt; returns when to try again (None: nothing to wait for)."""
    WebhookAttempt.objects.create(
        delivery=delivery,
        status_code=answer.status_code,
        response_body=answer.body,
        error=answer.error or ("" if answer.ok else f"HTTP {answer.status_code}"),
        duration_ms=answer.duration_ms,
    )
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


def deliver_once(endpoint_id: int) -> str:
    """Send the endpoint's first pending delivery if it is due. Returns "sent" (go on with
    the next), "wait" (its next try is later) or "idle" (nothing to send, or another worker
    is sending this endpoint's deliveries now).

    The endpoint's row stays locked while its delivery is sent (SKIP LOCKED: a second
    worker leaves it at once), so no two workers ever send one endpoint's deliveries at the
    same time, nor the same delivery twice."""
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(skip_locked=True)
            .filter(pk=endpoint_id, is_active=True)
            .first()
        )
        if endpoint is None:
            return "idle"
        delivery = _head(endpoint_id)
        if delivery is None:
            return "idle"
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return "wait"  # the failed attempt enqueued the job that tries it again
        message = delivery.message
        body = (message.body or json.dumps(message.payload, separators=(",", ":"))).encode()
        answer = post(endpoint.url, body, headers(endpoint, message.msg_id, body, now))
        again = _record(delivery, answer, timezone.now())
        if again is not None:
            deliver.using(run_after=again).enqueue(endpoint_id)
            return "wait"
        return "sent"


@job()
def deliver(endpoint_id: int) -> int:
    """Send an endpoint's pending deliveries in order; returns how many were sent.

    One is enqueued per published event and per redelivery: the first to run sends them all,
    the others find nothing left. A failed delivery waits for its back-off, and every later
    one waits behind it: events arrive in order. Delivery is at least once: a receiver that
    answered 2xx but whose answer was lost gets the message again, with the same `webhook-id`.
    """
    sent = 0
    while deliver_once(endpoint_id) == "sent":
        sent += 1
    return sent
