"""Back office: staff adjustments on the client's page, Settings > Payment methods and Reports >
Transactions."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts.models import Client, ClientGroup
from propdesk.approvals.permissions import APPROVALS_VIEW
from propdesk.core.errors import DomainError
from propdesk.core.forms import AmountField, typed_amount
from propdesk.core.money import MINOR_UNITS
from propdesk.core.permissions import SETTINGS_MANAGE
from propdesk.core.web import actor, edit_form, staff_view
from propdesk.wallet import crypto_addresses, deposits, ledger, services
from propdesk.wallet.models import PaymentMethod
from propdesk.wallet.permissions import WALLET_ADJUST
from propdesk.wallet.providers import registry


class AdjustmentForm(forms.Form):
    direction = forms.ChoiceField(choices=[("credit", "Credit"), ("debit", "Debit")])
    amount = AmountField()
    currency = forms.ChoiceField(choices=[(c, c) for c in MINOR_UNITS])
    comment = forms.CharField(
        max_length=500, label="Reason (internal: the audit log and the transactions report)"
    )
    client_note = forms.CharField(
        max_length=200,
        required=False,
        label="Note to the client (optional: shown in their wallet)",
    )
    # One key per rendered form: a double click or a resubmitted page posts once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def adjustment_form() -> AdjustmentForm:
    return AdjustmentForm(initial={"idempotency_key": uuid.uuid4().hex, "currency": "USD"})


def client_panel(request: HttpRequest, client: Client) -> dict[str, object]:
    """The client's page in the back office: their wallet, and the adjustment form."""
    return {
        "wallet": {
            "balances": ledger.balances(client),
            "lines": services.wallet_lines(client, limit=10, for_staff=True),
        },
        "adjustment_form": adjustment_form()
        if actor(request).has_permission(WALLET_ADJUST)
        else None,
    }


def client_summary(request: HttpRequest, client: Client) -> dict[str, object]:
    """The top of the client's page: their balance in each currency."""
    return {"balances": ledger.balances(client)}


# --- Settings > Payment methods ----------------------------------------------------------------


class PaymentMethodForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=PaymentMethod.Kind.choices)
    currencies = forms.MultipleChoiceField(
        choices=[(c, c) for c in MINOR_UNITS], widget=forms.CheckboxSelectMultiple
    )
    min_amount = AmountField(label="Minimum amount")
    max_amount = AmountField(label="Maximum amount")
    instructions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    provider = forms.ChoiceField(choices=[], required=False)
    # A bank transfer's account: shown to the client after a deposit, with the reference.
    bank_beneficiary = forms.CharField(
        required=False,
        max_length=100,
        label="Beneficiary",
        help_text="Bank transfer only: the account holder clients pay to. For accounts in "
        "several currencies, make one method per account.",
    )
    bank_account = forms.CharField(required=False, max_length=60, label="IBAN or account number")
    bank_bic = forms.CharField(required=False, max_length=20, label="BIC / SWIFT")
    bank_name = forms.CharField(required=False, max_length=100, label="Bank name")
    # Where its withdrawals are paid: the client gives that destination's fields as they ask.
    payout_to = forms.ChoiceField(
        choices=PaymentMethod.PayoutTo.choices,
        required=False,
        label="Pays withdrawals to",
        help_text="The client names a bank account or a crypto wallet as they withdraw; "
        '"Not for withdrawals": the method takes deposits only.',
    )
    networks = forms.MultipleChoiceField(
        choices=[(n.code, n.label) for n in crypto_addresses.NETWORKS.values()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Crypto networks it pays on (crypto wallet only)",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    client_groups = forms.ModelMultipleChoiceField(
        queryset=ClientGroup.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Offered to the client groups",
        help_text="None ticked: every client. Ticked: only the clients of those groups see "
        "and use it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider = self.fields["provider"]
        assert isinstance(provider, forms.ChoiceField)
        # Any installed provider (Settings > Payment providers).
        provider.choices = [("", PaymentMethod.Provider.NONE.label)] + [
            (kind, registry.label(kind)) for kind in registry.kinds()
        ]


@staff_view(APPROVALS_VIEW)
def payment_methods(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "wallet/payment_methods.html",
        {
            "methods": PaymentMethod.objects.prefetch_related("client_groups"),
            "can_edit": actor(request).has_permission(SETTINGS_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_view(SETTINGS_MANAGE)
def payment_method_edit(request: HttpRequest, method_id: int | None = None) -> HttpResponse:
    method = get_object_or_404(PaymentMethod, pk=method_id) if method_id is not None else None
    initial = (
        {
            "name": method.name,
            "kind": method.kind,
            "currencies": method.currencies,
            "min_amount": method.min_amount,
            "max_amount": method.max_amount,
            "instructions": method.instructions,
            "provider": method.provider,
            "bank_beneficiary": method.bank_beneficiary,
            "bank_account": method.bank_account_shown,
            "bank_bic": method.bank_bic,
            "bank_name": method.bank_name,
            "payout_to": method.payout_to,
            "networks": method.networks,
            "enabled": method.enabled,
            "client_groups": list(method.client_groups.all()),
        }
        if method
        else {"enabled": True}
    )
    return edit_form(
        request,
        PaymentMethodForm(request.POST or None, initial=initial),
        lambda data: deposits.save_payment_method(
            method.pk if method else None, actor=actor(request), **data
        ),
        saved=lambda saved: f"Payment method {saved.name} saved.",
        then="backoffice:payment_methods",
        template="wallet/payment_method_edit.html",
        context={"method": method},
    )


@require_POST
@staff_view(WALLET_ADJUST)
def adjust(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=client_id)
    form = AdjustmentForm(request.POST)
    data = form.data
    try:
        amount = typed_amount(data.get("amount"))  # "1,000.00" as the page shows amounts
    except ValidationError as exc:
        messages.error(request, f"Adjustment not made: {' '.join(exc.messages)}")
        return redirect("backoffice:client", client_id=client.pk)
    try:
        entry = services.adjust(
            client.pk,
            direction=data.get("direction"),
            amount=amount,
            currency=data.get("currency"),
            comment=data.get("comment"),
            client_note=data.get("client_note", ""),
            actor=actor(request),
            idempotency_key=data.get("idempotency_key") or None,
        )
    except DomainError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else exc.message
        messages.error(request, f"Adjustment not made: {detail}")
    else:
        messages.success(request, f"Adjustment {entry.reference} posted.")
    return redirect("backoffice:client", client_id=client.pk)
