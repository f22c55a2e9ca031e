"""The back office's forms for trading servers and trading accounts (services do the checks)."""

from __future__ import annotations

import uuid

from django import forms

from propdesk.accounts.models import ClientGroup
from propdesk.core.forms import AmountField
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
    client_groups = forms.ModelMultipleChoiceField(
        queryset=ClientGroup.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Client groups",
        help_text="None ticked: every client. Ticked: its challenges are offered only to the "
        "clients of those groups.",
    )
    # A remote platform's connection (ignored, and cleared, for the built-in sandbox).
    base_url = forms.CharField(
        max_length=300,
        required=False,
        label="Base URL (remote platforms)",
        help_text="The platform's API address, e.g. https://broker.example.com (https or "
        "http; no user name or password in it)",
    )
    manager_login = forms.CharField(
        max_length=20,
        required=False,
        label="Manager login (MetaTrader 5)",
        help_text="The number of the MT5 manager account propdesk connects as; it needs the "
        "right to connect through the Web API",
    )
    api_key = forms.CharField(
        max_length=500,
        required=False,
        strip=False,
        label="API key, or the manager's password for MetaTrader 5 (remote platforms)",
        # Never drawn back into the page, not even after an error elsewhere on the form.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored sealed, and never shown again.",
    )
    offers = forms.CharField(
        max_length=5000,
        required=False,
        label="Offers (remote platforms)",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "demo = 3f1c2b9e-…"}),
        help_text="The platform's offer each group's accounts are opened on: one line a group, "
        "group = offer UUID. Every group needs one. Test connection lists the platform's offers. "
        "For MetaTrader 5: group = MT5 group name (e.g. challenge = demo\\challenge); a group "
        "left out is the MT5 group of its own name.",
    )


class TradingStatusForm(forms.Form):
    reason = forms.CharField(
        max_length=200, required=False, label="Reason (internal: the trader is not shown it)"
    )


class BalanceOperationForm(forms.Form):
    amount = AmountField(help_text="Positive to credit, negative to debit, e.g. -250.00")
    comment = forms.CharField(
        max_length=200, label="Comment on the deal (the trader sees it in their history)"
    )
    # One key per rendered form: a double click or a resubmitted page moves the money once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)


def balance_operation_form() -> BalanceOperationForm:
    return BalanceOperationForm(initial={"idempotency_key": uuid.uuid4().hex})


class SandboxInstrumentForm(forms.Form):
    description = forms.CharField(max_length=100, required=False)
    spread_points = forms.CharField(
        max_length=20,
        label="Spread (points)",
        help_text="A whole number from 0 to 100000, what orders pay outside the rollover",
    )
    rollover_spread_multiplier = forms.CharField(
        max_length=20,
        label="Spread at the rollover (\u00d7 the spread)",
        help_text="The price feed quotes the spread times this during the daily rollover, "
        "21:00\u201323:00 UTC: a whole number from 1 (no widening) to 10",
    )
    volatility_pct = forms.CharField(
        max_length=20,
        label="Volatility (% a year)",
        help_text="How much the feed's prices move: 15 is 15% a year, about \u00b10.16% in an "
        "hour, times 1.5 in 07:00\u201317:00 UTC, 0.8 at other times and 0.5 at the rollover; "
        "0.01 to 500",
    )
    min_volume = forms.CharField(max_length=20, label="Minimum volume (lots)")
    max_volume = forms.CharField(max_length=20, label="Maximum volume (lots)")
    volume_step = forms.CharField(
        max_length=20,
        label="Volume step (lots)",
        help_text="From 0.01; the minimum and the maximum are multiples of it",
    )
    trading_hours = forms.CharField(
        max_length=2000,
        required=False,
        label="Trading hours (UTC)",
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "mon-fri 00:00-24:00"}),
        help_text="One window a line, days then times, e.g. mon-fri 13:30-20:00 or "
        "sat 08:00-12:00; a window past midnight is two lines. Empty: around the clock.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled (open to orders)")
