"""Back office of IB commission: Settings > Commission schemes, the IB's scheme on their
client page, and Prop Trading > IB commission settlements (settle a period)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts.models import Client
from propdesk.challenges.growth import commission, settlement
from propdesk.challenges.growth.models import (
    Commission,
    CommissionScheme,
    CommissionSettlement,
    IbTerms,
)
from propdesk.core.errors import DomainError
from propdesk.core.money import from_database_sum
from propdesk.core.web import actor, edit_form, staff_view


class SchemeForm(forms.Form):
    name = forms.CharField(max_length=60)
    rates = forms.CharField(
        max_length=200,
        label="Rates per level (percent)",
        help_text="Level 1 (the buyer's own IB) first, e.g. “10, 3”: at most "
        f"{commission.MAX_LEVELS} levels, adding up to at most 100.",
    )
    settlement = forms.ChoiceField(choices=CommissionScheme.Settlement.choices)
    is_default = forms.BooleanField(
        required=False, label="The default scheme (for IBs without their own)"
    )


@staff_view(commission.COMMISSION_MANAGE)
def schemes(request: HttpRequest) -> HttpResponse:
    rows = CommissionScheme.objects.annotate(ib_count=Count("ibs"))  # one query for the list
    return render(request, "challenges/commission/schemes.html", {"schemes": rows})


@require_http_methods(["GET", "POST"])
@staff_view(commission.COMMISSION_MANAGE)
def scheme_edit(request: HttpRequest, scheme_id: int | None = None) -> HttpResponse:
    scheme = get_object_or_404(CommissionScheme, pk=scheme_id) if scheme_id is not None else None
    initial = (
        {
            "name": scheme.name,
            "rates": ", ".join(scheme.rates),
            "settlement": scheme.settlement,
            "is_default": scheme.is_default,
        }
        if scheme
        else {"settlement": CommissionScheme.Settlement.INSTANT}
    )
    return edit_form(
        request,
        SchemeForm(request.POST or None, initial=initial),
        lambda data: commission.save_scheme(
            scheme.pk if scheme else None, actor=actor(request), **data
        ),
        saved=lambda saved: f"Commission scheme {saved.name} saved.",
        then="backoffice:commission_schemes",
        template="challenges/commission/scheme_edit.html",
        context={"scheme": scheme},
    )


def client_panel(request: HttpRequest, client: Client) -> dict[str, object]:
    """The client's page: an IB's scheme (theirs or the default) and what they earned."""
    if client.kind != Client.Kind.IB:
        return {"is_ib": False}
    terms = IbTerms.objects.select_related("scheme").filter(client=client).first()
    sums = (
        Commission.objects.filter(ib=client)
        .values("currency", "status")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    totals = {
        (r["currency"], r["status"]): from_database_sum(r["total"], r["currency"]) for r in sums
    }
    currencies = sorted({c for c, _ in totals})
    return {
        "is_ib": True,
        "client": client,
        "own": terms.scheme if terms else None,
        "default": commission.default_scheme(),
        "schemes": CommissionScheme.objects.all(),
        "can_edit": actor(request).has_permission(commission.COMMISSION_MANAGE),
        "earned": [
            {
                "currency": currency,
                "owed": commission.owed(client, currency),
                **{s: totals.get((currency, s), 0) for s in Commission.Status.values},
            }
            for currency in currencies
        ],
    }


@require_POST
@staff_view(commission.COMMISSION_MANAGE)
def set_ib_scheme(request: HttpRequest, client_id: int) -> HttpResponse:
    try:
        commission.set_scheme(client_id, request.POST.get("scheme", ""), actor=actor(request))
        messages.success(request, "The IB's commission scheme is saved.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("backoffice:client", args=[client_id]) + "#commission")


class SettleForm(forms.Form):
    period_start = forms.DateField(label="From (first day)")
    period_end = forms.DateField(label="To (last day)")


@require_http_methods(["GET", "POST"])
@staff_view(commission.COMMISSION_MANAGE)
def settlements(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()

    def made(result: list[CommissionSettlement]) -> str:
        if not result:
            return "Nothing to settle in that period (settled already, or nothing collected)."
        return f"{len(result)} settlement(s) submitted for approval."

    return edit_form(
        request,
        SettleForm(
            request.POST or None,
            initial={"period_start": today.replace(day=1), "period_end": today},
        ),
        lambda data: settlement.settle(data["period_start"], data["period_end"], actor(request)),
        saved=made,
        then="backoffice:commission_settlements",
        template="challenges/commission/settlements.html",
        context=lambda: {
            "settlements": CommissionSettlement.objects.select_related("ib__user")[:100],
            "waiting": Commission.objects.filter(status=Commission.Status.ACCRUED).count(),
        },
    )
