"""Wallet pages: the client's own in the portal; staff adjustments on the client's page."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from propdesk.accounts import permissions
from propdesk.accounts.models import Client
from propdesk.core.errors import DomainError
from propdesk.core.money import MINOR_UNITS
from propdesk.core.web import actor, client_view, staff_view
from propdesk.wallet import ledger, services


class AdjustmentForm(forms.Form):
    direction = forms.ChoiceField(choices=[("credit", "Credit"), ("debit", "Debit")])
    amount = forms.CharField(max_length=30)
    currency = forms.ChoiceField(choices=[(c, c) for c in MINOR_UNITS])
    comment = forms.CharField(max_length=500, label="Comment (why)")
    # One key per rendered form: a double click or a resubmitted page posts once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def adjustment_form() -> AdjustmentForm:
    return AdjustmentForm(initial={"idempotency_key": uuid.uuid4().hex, "currency": "USD"})


@client_view
def wallet(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    return render(
        request,
        "wallet/portal_wallet.html",
        {"balances": ledger.balances(client), "lines": services.wallet_lines(client)},
    )


@require_POST
@staff_view(permissions.WALLET_ADJUST)
def adjust(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=client_id)
    form = AdjustmentForm(request.POST)
    data = form.data
    try:
        entry = services.adjust(
            client.pk,
            direction=data.get("direction"),
            amount=data.get("amount"),
            currency=data.get("currency"),
            comment=data.get("comment"),
            actor=actor(request),
            idempotency_key=data.get("idempotency_key") or None,
        )
    except DomainError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else exc.message
        messages.error(request, f"Adjustment not made: {detail}")
    else:
        messages.success(request, f"Adjustment posted (entry #{entry.pk}).")
    return redirect("backoffice:client", client_id=client.pk)
