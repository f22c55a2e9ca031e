"""The identity vendor's pages: the portal's "Verify with SumSub", the vendor's webhook, and
Settings > KYC vendor in the back office."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.core.errors import Conflict, DomainError
from propdesk.core.permissions import SETTINGS_MANAGE
from propdesk.core.web import actor, client_view, edit_form, staff_view
from propdesk.onboarding import vendor_kyc
from propdesk.onboarding.models import KycVendorMessage, KycVendorSettings
from propdesk.onboarding.vendors.protocol import BadWebhook

# --- the portal ------------------------------------------------------------------------------


@require_POST
@client_view
def start(request: HttpRequest) -> HttpResponse:
    """Send the client to the vendor's page (the vendor is called outside any transaction).

    The page links to the vendor rather than redirecting: the portal's Content-Security-Policy
    (`form-action 'self'`) stops a form's redirect to another site."""
    client = actor(request).client
    back = request.build_absolute_uri(reverse("portal:kyc"))
    try:
        url = vendor_kyc.start(client, return_url=back, lang=translation.get_language() or "en")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:kyc")
    return render(request, "onboarding/kyc_vendor_go.html", {"vendor_url": url})


# --- the webhook (a plain view: the vendor signs it, no session) --------------------------------


@csrf_exempt  # authenticated by its digest, not by a browser session
@require_POST
def webhook(request: HttpRequest) -> JsonResponse:
    try:
        outcome = vendor_kyc.receive_webhook(request.body, request.headers)
    except BadWebhook as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=400)
    return JsonResponse({"ok": True, "outcome": outcome})


# --- Settings > KYC vendor ---------------------------------------------------------------------


def _secret(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the one stored (never shown again).",
    )


class VendorForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Offer verification with SumSub")
    base_url = forms.CharField(max_length=200, label="API address")
    level_name = forms.CharField(max_length=100, label="Verification level name")
    app_token = _secret("App token")
    secret_key = _secret("Secret key")
    webhook_secret = _secret("Webhook secret key")
    on_green = forms.ChoiceField(
        choices=KycVendorSettings.OnGreen.choices,
        widget=forms.RadioSelect,
        label="When SumSub answers GREEN",
    )


@require_http_methods(["GET", "POST"])
@staff_view(SETTINGS_MANAGE)
def vendor_settings(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    row = vendor_kyc.settings_row()
    if request.method == "POST" and request.POST.get("action") == "test":
        try:
            messages.success(request, vendor_kyc.test_connection(actor=me))
        except Conflict as exc:
            messages.error(request, f"Test connection failed: {exc.message}")
        return redirect("backoffice:kyc_vendor")
    form = VendorForm(
        request.POST or None,
        initial={
            "enabled": row.enabled,
            "base_url": row.base_url,
            "level_name": row.level_name,
            "on_green": row.on_green,
        },
    )
    return edit_form(
        request,
        form,
        lambda data: vendor_kyc.save_settings(
            actor=me,
            enabled=data["enabled"],
            base_url=data["base_url"],
            level_name=data["level_name"],
            on_green=data["on_green"],
            secrets={k: data[k] for k in vendor_kyc.SECRETS},
        ),
        saved="SumSub settings saved.",
        then="backoffice:kyc_vendor",
        template="onboarding/kyc_vendor.html",
        context=lambda: {
            "row": row,
            "stored": {k: bool(getattr(row, f"sealed_{k}")) for k in vendor_kyc.SECRETS},
            "webhook_url": request.build_absolute_uri(reverse("kyc_vendor_webhook")),
            "recent": KycVendorMessage.objects.order_by("-id")[:20],
        },
    )
