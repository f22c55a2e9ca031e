"""Client portal: the wallet, deposits and withdrawals; and the sandbox payment provider's hosted
checkout, where a client pays a deposit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from propdesk.core.errors import DomainError
from propdesk.core.forms import AmountField
from propdesk.core.templatetags.money import money
from propdesk.core.web import actor, client_view, edit_form
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import deposits, ledger, sandbox_payments, services, withdrawals
from propdesk.wallet.models import Deposit, PaymentMethod, Withdrawal


@client_view
def wallet(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    return render(
        request,
        "wallet/portal_wallet.html",
        {
            "balances": ledger.balances(client),
            "lines": services.wallet_lines(client),
            "deposits": deposits.client_deposits(client)[:20],
            "withdrawals": withdrawals.client_withdrawals(client)[:20],
            "waits_for_kyc": {
                action: kyc.refusal(client, action)
                for action in (kyc_actions.DEPOSIT, kyc_actions.WITHDRAW)
            },
        },
    )


class MethodSelect(forms.Select):
    """Each method's option names the currencies it takes (`data-currencies`), so that the
    page (wallet/money_form.js) offers only the methods that take the chosen currency."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        method = getattr(option["value"], "instance", None)
        if isinstance(method, PaymentMethod):
            option["attrs"]["data-currencies"] = " ".join(method.currencies)
        return option


class MoneyRequestForm(forms.Form):
    """The deposit and withdrawal form: only the currencies some enabled method takes."""

    currency = forms.ChoiceField(choices=[])
    method = forms.ModelChoiceField(
        queryset=deposits.enabled_methods(), empty_label="Choose…", widget=MethodSelect
    )
    amount = AmountField()
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        taken = deposits.accepted_currencies()
        field = self.fields["currency"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(c, c) for c in taken]
        field.error_messages["invalid_choice"] = (
            "No payment method takes this currency; choose one of: "
            + (", ".join(taken) or "none yet")
            + "."
        )
        if len(taken) == 1:
            field.initial = taken[0]


def _money_request_page(
    request: HttpRequest,
    *,
    action: str,
    ask: Callable[..., Deposit | Withdrawal],
    done: Callable[[Deposit | Withdrawal], HttpResponse],
    template: str,
    context: dict[str, object],
) -> HttpResponse:
    """The portal's deposit and withdrawal pages: one form, KYC first, each service's reply."""
    client = actor(request).client
    kyc.require_kyc(client, action)  # stopped here, with a way to KYC
    return edit_form(
        request,
        MoneyRequestForm(request.POST or None, initial={"idempotency_key": uuid.uuid4().hex}),
        lambda data: ask(
            client,
            method=data["method"].pk,
            amount=data["amount"],
            currency=data["currency"],
            idempotency_key=data["idempotency_key"],
        ),
        then=done,
        template=template,
        context=context,
        refused=(DomainError,),
        refused_status=422,
    )


@require_http_methods(["GET", "POST"])
@client_view
def deposit(request: HttpRequest) -> HttpResponse:
    def done(made: Deposit | Withdrawal) -> HttpResponse:
        if isinstance(made, Deposit) and made.status == Deposit.Status.AWAITING_PAYMENT:
            return redirect("sandbox_checkout", token=made.checkout_token)
        credited = made.status == Deposit.Status.APPROVED
        messages.success(
            request,
            f"Deposit of {money(made.amount, made.currency)} {made.currency} requested "
            f"(reference {made.reference})"
            + (" and credited." if credited else "; we will confirm it when it arrives."),
        )
        # Its page: what to pay, where, and the reference to quote.
        return redirect("portal:deposit_detail", deposit_id=made.pk)

    return _money_request_page(
        request,
        action=kyc_actions.DEPOSIT,
        ask=deposits.request_deposit,
        done=done,
        template="wallet/portal_deposit.html",
        context={"methods": deposits.enabled_methods()},
    )


@client_view
def deposit_detail(request: HttpRequest, deposit_id: int) -> HttpResponse:
    """One deposit of the client's: its reference, where it stands and, while a bank transfer
    is awaited, the firm's bank account and the reference to quote."""
    found = get_object_or_404(deposits.client_deposits(actor(request).client), pk=deposit_id)
    return render(
        request,
        "wallet/portal_deposit_detail.html",
        {"deposit": found, "awaiting_transfer": deposits.awaits_transfer(found)},
    )


@require_http_methods(["GET", "POST"])
@client_view
def withdraw(request: HttpRequest) -> HttpResponse:
    def done(made: Deposit | Withdrawal) -> HttpResponse:
        messages.success(
            request,
            f"Withdrawal of {money(made.amount, made.currency)} {made.currency} requested "
            f"(reference {made.reference}); the amount is held until we pay it out.",
        )
        return redirect("portal:wallet")

    return _money_request_page(
        request,
        action=kyc_actions.WITHDRAW,
        ask=withdrawals.request_withdrawal,
        done=done,
        template="wallet/portal_withdraw.html",
        context={"balances": ledger.balances(actor(request).client)},
    )


# --- the sandbox payment provider's hosted checkout ---------------------------------------------


@require_http_methods(["GET", "POST"])
def sandbox_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """The provider's hosted checkout (it stands apart from the portal: a link is enough)."""
    found = sandbox_payments.checkout(token)
    if request.method == "POST":
        if not found.waiting:  # paid, cancelled or lapsed: nothing is sent
            messages.error(
                request, f"This checkout is closed ({found.state}); nothing was charged."
            )
            return redirect(found.return_to)
        paid = request.POST.get("action") == "pay"
        sandbox_payments.finish_checkout(token, paid=paid)
        if paid:
            messages.success(
                request,
                f"Payment of {money(found.amount, found.currency)} {found.currency} sent. "
                f"{found.after_payment}",
            )
        else:
            messages.info(request, "Payment cancelled; nothing was charged.")
        return redirect(found.return_to)
    return render(request, "wallet/sandbox_checkout.html", {"checkout": found})
