"""Back office > Settings > Webhooks: endpoints, their secrets (shown once), test events, the
delivery log and manual redelivery (the use cases are in webhook_admin)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.core.errors import DomainError, ValidationFailed
from propdesk.core.web import actor, edit_form, staff_view
from propdesk.notifications import webhook_admin
from propdesk.notifications.models import WebhookDelivery
from propdesk.notifications.permissions import WEBHOOKS_MANAGE

PAGE_SIZE = 50


class EndpointForm(forms.Form):
    # Plain text: the use case says clearly what is wrong with an address (not http(s), ...).
    url = forms.CharField(label="URL", max_length=2000, help_text="https://… of your system")
    description = forms.CharField(required=False, max_length=2000)
    event_types = forms.MultipleChoiceField(
        label="Events it receives", widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event_types"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [
            (key, f"{label} ({key})") for key, label, _ in webhook_admin.event_choices()
        ]


def _secret_page(request: HttpRequest, made: webhook_admin.WithSecret, *, rotated: bool) -> Any:
    response = render(
        request,
        "notifications/webhook_secret.html",
        {"endpoint": made.endpoint, "secret": made.secret, "rotated": rotated},
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_view(WEBHOOKS_MANAGE)
def webhooks(request: HttpRequest) -> HttpResponse:
    rows = webhook_admin.endpoints(actor=actor(request))
    return render(request, "notifications/webhooks.html", {"endpoints": rows})


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view(WEBHOOKS_MANAGE)
def webhook_new(request: HttpRequest) -> HttpResponse:
    return edit_form(
        request,
        EndpointForm(request.POST or None, initial={"is_active": True}),
        lambda data: webhook_admin.create_endpoint(data, actor=actor(request)),
        then=lambda made: _secret_page(request, made, rotated=False),
        template="notifications/webhook_edit.html",
        context={"endpoint": None},
    )


@require_http_methods(["GET", "POST"])
@staff_view(WEBHOOKS_MANAGE)
def webhook_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_admin.endpoint(endpoint_id, actor=actor(request))
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "is_active": endpoint.is_active,
    }
    return edit_form(
        request,
        EndpointForm(request.POST or None, initial=initial),
        lambda data: webhook_admin.update_endpoint(endpoint.pk, data, actor=actor(request)),
        saved=lambda saved: f"Webhook endpoint {saved.url} saved.",
        then=lambda saved: redirect("backoffice:webhook", endpoint_id=saved.pk),
        template="notifications/webhook_edit.html",
        context={"endpoint": endpoint},
    )


@staff_view(WEBHOOKS_MANAGE)
def webhook(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_admin.endpoint(endpoint_id, actor=actor(request))
    status = request.GET.get("status", "")
    rows = webhook_admin.deliveries(endpoint, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/webhook.html",
        {
            "endpoint": endpoint,
            "page": page,
            "status": status if status in WebhookDelivery.Status.values else "",
            "statuses": WebhookDelivery.Status.choices,
        },
    )


@never_cache
@require_POST
@staff_view(WEBHOOKS_MANAGE)
def webhook_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    try:
        made = webhook_admin.rotate_secret(
            endpoint_id,
            keep_old_hours=request.POST.get("keep_old_hours", "24"),
            actor=actor(request),
        )
    except ValidationFailed as exc:
        messages.error(request, " ".join(exc.fields.values()) or exc.message)
        return redirect("backoffice:webhook", endpoint_id=endpoint_id)
    return _secret_page(request, made, rotated=True)


@require_POST
@staff_view(WEBHOOKS_MANAGE)
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    try:
        sent = webhook_admin.send_test(endpoint_id, actor=actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Test event {sent.message.msg_id} queued for this endpoint.")
    return redirect("backoffice:webhook", endpoint_id=endpoint_id)


@staff_view(WEBHOOKS_MANAGE)
def webhook_delivery(request: HttpRequest, delivery_id: int) -> HttpResponse:
    found = webhook_admin.delivery(delivery_id, actor=actor(request))
    return render(
        request,
        "notifications/webhook_delivery.html",
        {
            "delivery": found,
            "tries": found.tries.order_by("-id")[:100],
            "max_attempts": settings.WEBHOOK_MAX_ATTEMPTS,
        },
    )


@require_POST
@staff_view(WEBHOOKS_MANAGE)
def webhook_redeliver(request: HttpRequest, delivery_id: int) -> HttpResponse:
    try:
        webhook_admin.redeliver(delivery_id, actor=actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The delivery is queued to be sent again.")
    return redirect("backoffice:webhook_delivery", delivery_id=delivery_id)
