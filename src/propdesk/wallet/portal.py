"""Client portal: the wallet, deposits and withdrawals; and the sandbox payment provider's hosted
checkout, where a client pays a deposit."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from propdesk.core.errors import DomainError
from propdesk.core.money import MINOR_UNITS
from propdesk.core.templatetags.money import money
from propdesk.core.web import actor, client_view, edit_form
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import deposits, ledger, sandbox_payments, services, withdrawals
from propdesk.wallet.models import Deposit, Withdrawal


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
        },
    )


class MoneyRequestForm(forms.Form):
    method = forms.ModelChoiceField(queryset=deposits.enabled_methods(), empty_label="Choose…")
    amount = forms.CharField(max_length=30)
    currency = forms.ChoiceField(choices=[(c, c) for c in MINOR_UNITS])
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


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
            f"Deposit of {money(made.amount, made.currency)} {made.currency} requested"
            + (" and credited." if credited else "; we will confirm it."),
        )
        return redirect("portal:wallet")

    return _money_request_page(
        request,
        action=kyc_actions.DEPOSIT,
        ask=deposits.request_deposit,
        done=done,
        template="wallet/portal_deposit.html",
        context={"methods": deposits.enabled_methods()},
    )


@require_http_methods(["GET", "POST"])
@client_view
def withdraw(request: HttpRequest) -> HttpResponse:
    def done(made: Deposit | Withdrawal) -> HttpResponse:
        messages.success(
            request,
            f"Withdrawal of {money(made.amount, made.currency)} {made.currency} requested; the "
            "amount is held "
            "until we pay it out.",
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
