from __future__ import annotations

from django.conf import settings
from django.db import models


class Notification(models.Model):
    """A message to one person, shown in the portal (and also sent by email)."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Warning"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # The catalogue's event that raised it (notifications/events.py), blank for older ones.
    event = models.CharField(max_length=64, blank=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # When the client dismissed its pop-up (or opened the notifications page, or marked it
    # read): a notification not yet seen pops up on every portal page until then.
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class NotificationTemplate(models.Model):
    """The firm's own wording of one event in one language; without one the default (in the
    code, translated by the catalogue) is used."""

    event = models.CharField(max_length=64)
    language = models.CharField(max_length=10)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=10_000)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "language"], name="one_template_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.language})"


class WebhookEndpoint(models.Model):
    """A URL of the firm's other systems that receives the events it subscribed to, signed as
    the Standard Webhooks specification says."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # The event types it receives (keys of notifications/events.py); never empty.
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    # "whsec_" + base64 of the key, kept sealed by the vault (core/vault.py).
    secret = models.TextField()
    # After a rotation the old secret also signs until `previous_secret_until`: a receiver
    # that still has the old one keeps accepting while it is given the new one.
    previous_secret = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The delivery job sending this endpoint's queue now holds it until `leased_until` (the
    # database's clock), under `lease_token`: no second worker sends it meanwhile, and a
    # worker that died leaves a lease that runs out (notifications/webhooks.py `claim`).
    lease_token = models.CharField(max_length=64, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    """One event as the webhooks send it: the same id (`webhook-id`) and body to every
    endpoint and on every attempt, so that a receiver can recognise a repeat."""

    msg_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    # The JSON bytes sent and signed, kept as they were written: the same on every attempt.
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class WebhookDelivery(models.Model):
    """One message to one endpoint. An endpoint's deliveries go out in the order of their ids,
    each after the one before it succeeded."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # gave up after the last attempt; staff may redeliver

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["endpoint", "status", "id"])]

    def __str__(self) -> str:
        return f"{self.message} to {self.endpoint}"


class WebhookAttempt(models.Model):
    """One try of a delivery: what the endpoint answered (kept short), for the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of {self.delivery_id}"
