"""Back office: Finance > Payments (each online payment, its provider's raw messages, refunds and
disputes, the refund form, and the sandbox's controls) and Settings > Payment providers."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.core.errors import DomainError
from propdesk.core.permissions import SETTINGS_MANAGE
from propdesk.core.web import actor, staff_view
from propdesk.wallet import payments, provider_settings, refunds
from propdesk.wallet.models import Payment, PaymentDispute, PaymentRefund
from propdesk.wallet.permissions import PAYMENTS_REFUND, PAYMENTS_VIEW
from propdesk.wallet.providers import registry
from propdesk.wallet.providers import sandbox as sandbox_provider
from propdesk.wallet.providers.protocol import ProviderError


def _filtered(request: HttpRequest) -> tuple[QuerySet[Payment], dict[str, str]]:
    found = Payment.objects.select_related("client__user", "method")
    chosen = {
        "provider": request.GET.get("provider", ""),
        "status": request.GET.get("status", ""),
    }
    if chosen["provider"] in registry.ADAPTERS:
        found = found.filter(provider=chosen["provider"])
    if chosen["status"] in Payment.Status.values:
        found = found.filter(status=chosen["status"])
    return found, chosen


@staff_view(PAYMENTS_VIEW)
def payment_list(request: HttpRequest) -> HttpResponse:
    found, chosen = _filtered(request)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "wallet/backoffice_payments.html",
        {
            "page": page,
            "chosen": chosen,
            "providers": registry.kinds(),
            "statuses": Payment.Status.choices,
        },
    )


@staff_view(PAYMENTS_VIEW)
def payment_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = get_object_or_404(
        Payment.objects.select_related("client__user", "method"), pk=payment_id
    )
    user = actor(request)
    can_refund = user.has_permission(PAYMENTS_REFUND)
    return render(
        request,
        "wallet/backoffice_payment.html",
        {
            "payment": payment,
            "purpose": payments.purpose_of(payment).describe(payment),
            "messages_kept": payment.messages.all(),
            "refunds": payment.refunds.select_related("requested_by"),
            "disputes": payment.disputes.all(),
            "left": refunds.left_to_refund(payment),
            "can_refund": can_refund and payment.received > 0,
            "sandbox": can_refund and payment.provider == "sandbox" and payment.checkout_url,
        },
    )


@require_POST
@staff_view(PAYMENTS_REFUND)
def payment_refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    """The refund form: a first post shows what will happen (the confirm step), the second
    (`confirm`) asks for it."""
    payment = get_object_or_404(Payment, pk=payment_id)
    amount, reason = request.POST.get("amount", ""), request.POST.get("reason", "")
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "wallet/backoffice_refund_confirm.html",
            {"payment": payment, "amount": amount, "reason": reason, "key": uuid.uuid4()},
        )
    try:
        made = refunds.request_refund(
            payment.pk,
            amount=amount,
            reason=reason,
            actor=actor(request),
            key=request.POST.get("key", ""),
        )
    except DomainError as refused:
        detail = "; ".join(str(v) for v in getattr(refused, "fields", {}).values())
        messages.error(request, f"{refused.message} {detail}".strip())
    else:
        messages.success(
            request, f"Refund of {made.amount} {made.currency} asked; the provider is asked now."
        )
    return redirect("backoffice:payment_detail", payment_id=payment.pk)


@require_POST
@staff_view(PAYMENTS_REFUND)
def payment_refund_cancel(request: HttpRequest, payment_id: int, refund_id: int) -> HttpResponse:
    """Staff give up a refund still pending (the provider never finished it): it fails and its
    hold goes back to the wallet."""
    refund = get_object_or_404(PaymentRefund, pk=refund_id, payment_id=payment_id)
    try:
        refunds.cancel(refund.pk, reason=request.POST.get("reason", ""), actor=actor(request))
    except DomainError as refused:
        detail = "; ".join(str(v) for v in getattr(refused, "fields", {}).values())
        messages.error(request, f"{refused.message} {detail}".strip())
    else:
        messages.success(request, f"Refund #{refund.pk} cancelled; its hold is back in the wallet.")
    return redirect("backoffice:payment_detail", payment_id=payment_id)


@require_POST
@staff_view(PAYMENTS_REFUND)
def sandbox_control(request: HttpRequest, payment_id: int) -> HttpResponse:
    """The sandbox's own controls (it plays the provider and the payer's bank): a refund made
    at its dashboard, a dispute opened, a dispute decided."""
    payment = get_object_or_404(Payment, pk=payment_id, provider="sandbox")
    what = request.POST.get("what", "")
    try:
        amount = Decimal(request.POST.get("amount", "") or "0")
    except InvalidOperation:
        amount = Decimal(0)
    try:
        if what == "dashboard_refund":
            sandbox_provider.dashboard_refund(payment.token, amount)
        elif what == "open_dispute":
            sandbox_provider.open_dispute(payment.token, amount if amount > 0 else None)
        elif what in ("win_dispute", "lose_dispute"):
            sandbox_provider.decide_dispute(
                request.POST.get("dispute", ""), won=what == "win_dispute", token=payment.token
            )
        else:
            messages.error(request, "Unknown sandbox control.")
            return redirect("backoffice:payment_detail", payment_id=payment.pk)
    except DomainError as refused:
        messages.error(request, refused.message)
    except ProviderError as failed:  # the sandbox playing a provider that cannot be reached
        messages.error(request, str(failed))
    else:
        messages.success(request, "Done at the sandbox; its webhook is on its way.")
    return redirect("backoffice:payment_detail", payment_id=payment.pk)


def client_panel(request: HttpRequest, client: Any) -> dict[str, object]:
    """The client's page: their latest online payments, and any dispute still open."""
    mine = Payment.objects.filter(client=client)
    return {
        "payments": mine[:10],
        "open_disputes": PaymentDispute.objects.filter(
            payment__client=client, status=PaymentDispute.Status.OPEN
        ).select_related("payment"),
    }


# --- Settings > Payment providers --------------------------------------------------------------


@staff_view(SETTINGS_MANAGE)
def providers(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "wallet/backoffice_providers.html",
        {"rows": provider_settings.rows(), "site": request.build_absolute_uri("/").rstrip("/")},
    )


@require_http_methods(["GET", "POST"])
@staff_view(SETTINGS_MANAGE)
def provider_edit(request: HttpRequest, kind: str) -> HttpResponse:
    found = provider_settings.row(kind)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.POST.get("action") == "test":
            ok, answer = provider_settings.test_connection(kind, actor=actor(request))
            (messages.success if ok else messages.error)(request, f"Test connection: {answer}")
            return redirect("backoffice:payment_provider", kind=kind)
        try:
            provider_settings.save(
                kind,
                enabled=request.POST.get("enabled") == "on",
                given={f.key: request.POST.get(f.key, "") for f in found.fields},
                actor=actor(request),
            )
        except DomainError as refused:
            errors = {k: str(v) for k, v in getattr(refused, "fields", {}).items()}
            messages.error(request, refused.message)
        else:
            messages.success(request, f"{found.label} saved.")
            return redirect("backoffice:payment_provider", kind=kind)
    now = provider_settings.row(kind)
    inputs = [
        {
            "field": f,
            "value": "" if f.secret else str(now.account.values.get(f.key, "")),
            "error": errors.get(f.key, ""),
            "set": f.key in now.secrets_set,
        }
        for f in now.fields
    ]
    return render(
        request,
        "wallet/backoffice_provider.html",
        {
            "row": now,
            "inputs": inputs,
            "webhook_url": request.build_absolute_uri(found.webhook_path),
        },
    )
