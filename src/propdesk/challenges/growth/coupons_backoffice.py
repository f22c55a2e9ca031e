"""Back office: Growth > Coupons (the firm's promo codes, their usage, add / edit / disable)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts.models import ClientGroup
from propdesk.challenges.growth import coupons
from propdesk.challenges.growth.models import Coupon
from propdesk.challenges.models import Challenge
from propdesk.challenges.permissions import COUPONS_MANAGE
from propdesk.core.errors import DomainError
from propdesk.core.money import MINOR_UNITS
from propdesk.core.web import actor, edit_form, staff_view


class CouponForm(forms.Form):
    code = forms.CharField(max_length=40, help_text="Letters, digits, - and _; any case.")
    description = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=Coupon.Kind.choices)
    value = forms.CharField(
        max_length=30, help_text="A percentage (e.g. 20), or the amount off in the currency."
    )
    currency = forms.ChoiceField(
        choices=[("", "—"), *((c, c) for c in MINOR_UNITS)],
        required=False,
        help_text="A fixed amount's currency.",
    )
    valid_from = forms.CharField(
        max_length=10, required=False, help_text="YYYY-MM-DD; empty: at once."
    )
    valid_until = forms.CharField(
        max_length=10, required=False, help_text="YYYY-MM-DD, the last day; empty: no end."
    )
    max_uses = forms.CharField(
        max_length=12, required=False, label="Total uses", help_text="Empty: unlimited."
    )
    max_uses_per_client = forms.CharField(max_length=12, initial="1", label="Uses per client")
    challenges = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every challenge.",
    )
    client_groups = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every client.",
    )
    stackable = forms.BooleanField(
        required=False, help_text="May be combined with other stackable codes."
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["challenges"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(c.pk), c.name) for c in Challenge.objects.order_by("name")]
        groups = self.fields["client_groups"]
        assert isinstance(groups, forms.MultipleChoiceField)
        groups.choices = [(str(g.pk), g.name) for g in ClientGroup.objects.order_by("name")]


@staff_view(COUPONS_MANAGE)
def coupon_list(request: HttpRequest) -> HttpResponse:
    found = list(Coupon.objects.prefetch_related("challenges", "client_groups"))
    usage = coupons.usages(found)  # every code's figures at once, not a query per code
    return render(
        request,
        "challenges/growth/coupons.html",
        {
            "rows": [
                {
                    "c": c,
                    "usage": usage[c.pk],
                    "first_day": _day(c.valid_from),
                    "last_day": _day(c.valid_until, last=True),  # as staff typed it
                }
                for c in found
            ]
        },
    )


def _day(moment: Any, *, last: bool = False) -> str:
    if moment is None:
        return ""
    return (timezone.localtime(moment) - timedelta(days=1 if last else 0)).date().isoformat()


@require_http_methods(["GET", "POST"])
@staff_view(COUPONS_MANAGE)
def coupon_edit(request: HttpRequest, coupon_id: int | None = None) -> HttpResponse:
    coupon = get_object_or_404(Coupon, pk=coupon_id) if coupon_id is not None else None
    initial: dict[str, Any] = {"enabled": True, "max_uses_per_client": "1"}
    if coupon is not None:
        initial = {
            "code": coupon.code,
            "description": coupon.description,
            "kind": coupon.kind,
            "value": coupon.value,
            "currency": coupon.currency,
            "valid_from": _day(coupon.valid_from),
            "valid_until": _day(coupon.valid_until, last=True),
            "max_uses": coupon.max_uses or "",
            "max_uses_per_client": coupon.max_uses_per_client,
            "challenges": [str(c.pk) for c in coupon.challenges.all()],
            "client_groups": [str(g.pk) for g in coupon.client_groups.all()],
            "stackable": coupon.stackable,
            "enabled": coupon.enabled,
        }
    return edit_form(
        request,
        CouponForm(request.POST or None, initial=initial),
        lambda data: coupons.save_coupon(
            coupon.pk if coupon else None, actor=actor(request), **data
        ),
        saved=lambda saved: f"Coupon {saved.code} saved.",
        then="backoffice:coupons",
        template="challenges/growth/coupon_edit.html",
        context={"coupon": coupon, "usage": coupons.usage(coupon) if coupon else None},
    )


@require_POST
@staff_view(COUPONS_MANAGE)
def coupon_enable(request: HttpRequest, coupon_id: int) -> HttpResponse:
    enable = request.POST.get("enabled") == "1"
    try:
        done = coupons.set_enabled(coupon_id, enabled=enable, actor=actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Coupon {done.code} {'enabled' if enable else 'disabled'}.")
    return redirect("backoffice:coupons")
