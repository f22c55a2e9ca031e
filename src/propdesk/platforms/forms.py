"""The back office's forms for trading servers and trading accounts (services do the checks)."""

from __future__ import annotations

import uuid

from django import forms

from propdesk.platforms.models import TradingServer


class TradingServerForm(forms.Form):
    name = forms.CharField(max_length=60)
    kind = forms.ChoiceField(choices=TradingServer.Kind.choices)
    demo_groups = forms.CharField(
        max_length=2000,
        required=False,
        label="Demo groups",
        help_text="For demo (challenge) stages; comma-separated, e.g. demo, demo-2",
    )
    live_groups = forms.CharField(
        max_length=2000,
        required=False,
        label="Live groups",
        help_text="For live (funded) stages; comma-separated",
    )
    enabled = forms.BooleanField(required=False, initial=True)


class TradingStatusForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False, label="Reason")


class BalanceOperationForm(forms.Form):
    amount = forms.CharField(
        max_length=30, help_text="Positive to credit, negative to debit, e.g. -250.00"
    )
    comment = forms.CharField(max_length=200, label="Comment (why)")
    # One key per rendered form: a double click or a resubmitted page moves the money once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)


def balance_operation_form() -> BalanceOperationForm:
    return BalanceOperationForm(initial={"idempotency_key": uuid.uuid4().hex})
