"""Settings > Webhooks: the use cases behind the back office's pages (docs/webhooks.md).

Each is one transaction with an audit row, checked against `webhooks.manage`. A secret is
shown once, when it is made (the endpoint is added, or its secret rotated): it is kept
sealed by the vault and never shown again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.core import audit, vault
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text, parse_id
from propdesk.notifications import webhooks, webhooks_http
from propdesk.notifications.events import CATALOGUE
from propdesk.notifications.models import WebhookDelivery, WebhookEndpoint
from propdesk.notifications.permissions import WEBHOOKS_MANAGE

URL_MAX = 500
MAX_KEEP_OLD_HOURS = 24 * 7
FIELDS = ("url", "description", "event_types", "is_active")
_url_validator = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its new secret, shown to the staff member this once."""

    endpoint: WebhookEndpoint
    secret: str = field(repr=False)  # never in a log line or a traceback's locals


def clean_url(errors: FieldErrors, value: Any) -> str:
    url = clean_text(errors, "url", value, label="URL", max_length=URL_MAX)
    if "url" in errors:
        return ""
    scheme = urlsplit(url).scheme.lower() if "://" in url or ":" in url else ""
    if scheme not in ("http", "https"):
        errors.add("url", "The URL must start with https:// (or http://).")
        return ""
    try:
        _url_validator(url)
    except ValidationError:
        errors.add("url", "This is not a valid web address.")
        return ""
    if urlsplit(url).username or urlsplit(url).password:
        errors.add("url", "Put no user name or password in the URL: the signature proves us.")
        return ""
    if _forbidden_literal(urlsplit(url).hostname or ""):
        errors.add("url", "This address is link-local (cloud metadata): we do not send there.")
        return ""
    return url


def _forbidden_literal(host: str) -> bool:
    """An IP address written in the URL that is never sent to (webhooks_http.forbidden); a
    name is checked each time it is resolved, when sending."""
    try:
        return webhooks_http.forbidden(host)
    except ValueError:
        return False  # a name, not an address


def clean_event_types(errors: FieldErrors, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors.add("event_types", "Choose the events this endpoint receives.")
        return []
    unknown = [v for v in value if v not in CATALOGUE]
    if unknown:
        errors.add("event_types", f"Unknown event type: {unknown[0][:64]}.")
        return []
    chosen = [key for key in CATALOGUE if key in set(value)]  # the catalogue's order, once each
    if not chosen:
        errors.add("event_types", "Choose at least one event.")
    return chosen


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors = FieldErrors()
    cleaned = {
        "url": clean_url(errors, data.get("url")),
        "description": clean_text(
            errors,
            "description",
            data.get("description"),
            label="Description",
            max_length=200,
            required=False,
        ),
        "event_types": clean_event_types(errors, data.get("event_types")),
        "is_active": bool(data.get("is_active", True)),
    }
    errors.raise_if_any()
    return cleaned


def _taken(url: str, *, other_than: int | None = None) -> None:
    same = WebhookEndpoint.objects.filter(url=url)
    if other_than is not None:
        same = same.exclude(pk=other_than)
    if same.exists():
        raise ValidationFailed(
            "An endpoint with this URL exists already.",
            fields={"url": "An endpoint with this URL exists already."},
        )


def create_endpoint(data: dict[str, Any], *, actor: User) -> WithSecret:
    require_permission(actor, WEBHOOKS_MANAGE)
    cleaned = _clean(data)
    secret = webhooks.new_secret()
    with transaction.atomic():
        _taken(cleaned["url"])  # a form sent twice adds one endpoint
        endpoint = WebhookEndpoint.objects.create(
            **cleaned, secret=vault.seal(secret), created_by=actor
        )
        audit.record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_CREATE,
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            summary=f"Webhook endpoint {endpoint.url} added",
            after=audit.snapshot(endpoint, FIELDS),
        )
    return WithSecret(endpoint, secret)


def _locked(endpoint_id: Any) -> WebhookEndpoint:
    pk = parse_id(endpoint_id)
    found = WebhookEndpoint.objects.select_for_update().filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound("No such webhook endpoint.")
    return found


def update_endpoint(endpoint_id: Any, data: dict[str, Any], *, actor: User) -> WebhookEndpoint:
    require_permission(actor, WEBHOOKS_MANAGE)
    cleaned = _clean(data)
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        _taken(cleaned["url"], other_than=endpoint.pk)
        before = audit.snapshot(endpoint, FIELDS)
        for name, value in cleaned.items():
            setattr(endpoint, name, value)
        endpoint.save()
        audit.record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_UPDATE,
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            summary=f"Webhook endpoint {endpoint.url} changed",
            before=before,
            after=audit.snapshot(endpoint, FIELDS),
        )
        if endpoint.is_active:  # switched back on: what waited goes out
            webhooks.deliver.enqueue(endpoint.pk)
    return endpoint


def rotate_secret(endpoint_id: Any, *, keep_old_hours: Any = 24, actor: User) -> WithSecret:
    """A new secret signs from now on; the old one signs too (a second signature) for
    `keep_old_hours` (0: dropped at once), while the receiver is given the new one. A secret
    older than that (an earlier rotation's) is dropped now."""
    require_permission(actor, WEBHOOKS_MANAGE)
    try:
        hours = int(str(keep_old_hours).strip())
    except ValueError:
        hours = -1
    if not 0 <= hours <= MAX_KEEP_OLD_HOURS:
        raise ValidationFailed(
            fields={
                "keep_old_hours": f"Give a whole number of hours from 0 to {MAX_KEEP_OLD_HOURS}."
            }
        )
    secret = webhooks.new_secret()
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        endpoint.previous_secret = endpoint.secret if hours else ""
        endpoint.previous_secret_until = timezone.now() + timedelta(hours=hours) if hours else None
        endpoint.secret = vault.seal(secret)
        endpoint.save()
        audit.record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_ROTATE_SECRET,
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            summary=f"Signing secret of {endpoint.url} rotated; the old one signs for {hours} h",
        )
    return WithSecret(endpoint, secret)


def send_test(endpoint_id: Any, *, actor: User) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only, queued behind what it waits for."""
    require_permission(actor, WEBHOOKS_MANAGE)
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        if not endpoint.is_active:
            raise Conflict("The endpoint is switched off: switch it on to send it a test event.")
        message = webhooks.publish_test(endpoint, {"endpoint": endpoint.pk, "sent_by": actor.email})
        audit.record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_TEST,
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            summary=f"Test event {message.msg_id} sent to {endpoint.url}",
        )
    return WebhookDelivery.objects.get(message=message, endpoint=endpoint)


def redeliver(delivery_id: Any, *, actor: User) -> WebhookDelivery:
    """Send a failed (or delivered) delivery again, with the same `webhook-id` and body. It
    goes back to its place in the endpoint's queue (the order of ids): later deliveries that
    still wait go out after it."""
    require_permission(actor, WEBHOOKS_MANAGE)
    pk = parse_id(delivery_id)
    if pk is None:
        raise NotFound("No such webhook delivery.")
    with transaction.atomic():
        found = WebhookDelivery.objects.filter(pk=pk).values_list("endpoint_id", flat=True).first()
        if found is None:
            raise NotFound("No such webhook delivery.")
        _locked(found)  # the endpoint's worker is not sending meanwhile
        delivery = WebhookDelivery.objects.select_for_update().get(pk=pk)
        if delivery.status == WebhookDelivery.Status.PENDING:
            raise Conflict("This delivery is waiting to be sent already.")
        before = audit.snapshot(delivery, ("status", "attempts"))
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.attempts = 0  # a fresh round of tries; the log keeps the earlier ones
        delivery.next_attempt_at = timezone.now()
        delivery.save()
        audit.record(
            actor=actor,
            action=AuditAction.WEBHOOK_DELIVERY_REDELIVER,
            object_type="webhook_delivery",
            object_id=delivery.pk,
            summary=f"Delivery {delivery.pk} to endpoint {found} sent again",
            before=before,
            after=audit.snapshot(delivery, ("status", "attempts")),
        )
        webhooks.deliver.enqueue(found)
    return delivery


# --- reading -------------------------------------------------------------------------------------


def endpoints(*, actor: User) -> QuerySet[WebhookEndpoint]:
    require_permission(actor, WEBHOOKS_MANAGE)
    return WebhookEndpoint.objects.order_by("id")


def endpoint(endpoint_id: Any, *, actor: User) -> WebhookEndpoint:
    require_permission(actor, WEBHOOKS_MANAGE)
    pk = parse_id(endpoint_id)
    found = WebhookEndpoint.objects.filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound("No such webhook endpoint.")
    return found


def deliveries(found: WebhookEndpoint, *, status: str = "") -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    rows = found.deliveries.select_related("message").order_by("-id")
    if status in WebhookDelivery.Status.values:
        rows = rows.filter(status=status)
    return rows


def delivery(delivery_id: Any, *, actor: User) -> WebhookDelivery:
    require_permission(actor, WEBHOOKS_MANAGE)
    pk = parse_id(delivery_id)
    found = (
        WebhookDelivery.objects.select_related("message", "endpoint").filter(pk=pk).first()
        if pk
        else None
    )
    if found is None:
        raise NotFound("No such webhook delivery.")
    return found


def event_choices() -> Iterable[tuple[str, Any, Any]]:
    """(key, label, group) of every event an endpoint may subscribe to."""
    return [(spec.key, spec.label, spec.group) for spec in CATALOGUE.values()]
