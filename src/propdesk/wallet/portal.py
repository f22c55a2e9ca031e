"""Client portal: the wallet, deposits and withdrawals; and the sandbox payment provider's hosted
checkout, where a client pays a deposit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from propdesk.accounts import groups as client_groups
from propdesk.accounts.models import Client
from propdesk.core.errors import DomainError, ValidationFailed
from propdesk.core.forms import AmountField
from propdesk.core.templatetags.money import money
from propdesk.core.web import actor, client_view, edit_form
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import (
    crypto_addresses,
    deposits,
    destinations,
    ledger,
    payments,
    sandbox_payments,
    services,
    withdrawals,
)
from propdesk.wallet.models import Deposit, PaymentMethod, Withdrawal
from propdesk.wallet.providers import sandbox


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
    page (wallet/money_form.js) offers only the methods that take the chosen currency; and
    where it pays withdrawals (`data-payout-to`, `data-networks`, for wallet/withdraw_form.js)."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        method = getattr(option["value"], "instance", None)
        if isinstance(method, PaymentMethod):
            option["attrs"]["data-currencies"] = " ".join(method.currencies)
            option["attrs"]["data-payout-to"] = method.payout_to
            option["attrs"]["data-networks"] = " ".join(method.networks)
        return option


class MoneyRequestForm(forms.Form):
    """The deposit and withdrawal form: only the currencies some enabled method takes."""

    currency = forms.ChoiceField(choices=[], label=gettext_lazy("Currency"))
    method = forms.ModelChoiceField(
        queryset=deposits.enabled_methods(),
        empty_label=gettext_lazy("Choose…"),
        widget=MethodSelect,
        label=gettext_lazy("Method"),
    )
    amount = AmountField(label=gettext_lazy("Amount"))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, client: Client | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the methods offered to the client's group are listed (and accepted).
        method = self.fields["method"]
        assert isinstance(method, forms.ModelChoiceField)
        assert method.queryset is not None
        method.queryset = client_groups.visible_to(method.queryset, client)
        taken = deposits.accepted_currencies(client)
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


class WithdrawalForm(MoneyRequestForm):
    """The withdrawal form: a method that pays withdrawals, and where to pay, a bank account's
    fields or a crypto wallet's (the page shows the ones the chosen method needs; the use case
    checks them: wallet/destinations.py)."""

    method = forms.ModelChoiceField(
        queryset=withdrawals.payout_methods(),
        empty_label=gettext_lazy("Choose…"),
        widget=MethodSelect,
        label=gettext_lazy("Method"),
    )
    account_holder = forms.CharField(
        required=False,
        label=gettext_lazy("Account holder"),
        help_text=gettext_lazy("The name the account is held in."),
    )
    account = forms.CharField(required=False, label=gettext_lazy("IBAN or account number"))
    bic = forms.CharField(
        required=False,
        label=gettext_lazy("BIC / SWIFT"),
        help_text=gettext_lazy(
            "Not needed for a payout in euros to an IBAN in the SEPA area (the EU, the "
            "UK, Switzerland, ...)."
        ),
    )
    bank_name = forms.CharField(required=False, label=gettext_lazy("Bank name"))
    network = forms.CharField(
        required=False,
        label=gettext_lazy("Network"),
        widget=forms.Select(
            choices=[("", gettext_lazy("Choose…"))]
            + [(n.code, n.label) for n in crypto_addresses.NETWORKS.values()]
        ),
    )
    address = forms.CharField(required=False, label=gettext_lazy("Wallet address"))

    BANK = destinations.FIELDS[destinations.BANK]
    CRYPTO = destinations.FIELDS[destinations.CRYPTO]

    def destination(self) -> dict[str, str]:
        """The fields of the chosen method's kind of destination (a form with both filled in,
        without JavaScript, sends only the ones that count)."""
        wanted = destinations.FIELDS.get(self.cleaned_data["method"].payout_to, ())
        return {key: self.cleaned_data.get(key, "") for key in wanted}


def _money_request_page(
    request: HttpRequest,
    *,
    action: str,
    form: MoneyRequestForm,
    ask: Callable[..., Deposit | Withdrawal],
    done: Callable[[Deposit | Withdrawal], HttpResponse],
    template: str,
    context: dict[str, object],
) -> HttpResponse:
    """The portal's deposit and withdrawal pages: one form, KYC first, each service's reply;
    a fault of the destination (`destination.account`) lands on its own field."""
    client = actor(request).client
    kyc.require_kyc(client, action)  # stopped here, with a way to KYC

    def faults(error: ValidationFailed) -> None:
        for field, message in error.fields.items():
            name = field.removeprefix("destination.")
            form.add_error(name if name in form.fields else None, message)
        if not error.fields:
            form.add_error(None, error.message)

    def save(data: dict[str, Any]) -> Deposit | Withdrawal:
        extra = {"destination": form.destination()} if isinstance(form, WithdrawalForm) else {}
        return ask(
            client,
            method=data["method"].pk,
            amount=data["amount"],
            currency=data["currency"],
            idempotency_key=data["idempotency_key"],
            **extra,
        )

    return edit_form(
        request,
        form,
        save,
        then=done,
        template=template,
        context=context,
        refused=(DomainError,),
        refused_status=422,
        faults=faults,
    )


def _new_key() -> dict[str, object]:
    return {"idempotency_key": uuid.uuid4().hex}


@require_http_methods(["GET", "POST"])
@client_view
def deposit(request: HttpRequest) -> HttpResponse:
    def done(made: Deposit | Withdrawal) -> HttpResponse:
        if isinstance(made, Deposit) and made.status == Deposit.Status.AWAITING_PAYMENT:
            return redirect("portal:pay", token=made.checkout_token)
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
        form=MoneyRequestForm(
            request.POST or None, initial=_new_key(), client=actor(request).client
        ),
        ask=deposits.request_deposit,
        done=done,
        template="wallet/portal_deposit.html",
        context={"methods": deposits.enabled_methods(actor(request).client)},
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


def _withdrawal_initial(client: Client, last: dict[int, dict[str, str]]) -> dict[str, object]:
    """The form as the client last filled it: the method and currency of their latest
    withdrawal by a method that still pays out, and where it paid to."""
    latest = (
        withdrawals.client_withdrawals(client)
        .filter(method__in=withdrawals.payout_methods(client))
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is None:
        return _new_key()
    where = {k: v for k, v in last.get(latest.method_id, {}).items() if k != "type"}
    return {**_new_key(), "method": latest.method_id, "currency": latest.currency, **where}


@require_http_methods(["GET", "POST"])
@client_view
def withdraw(request: HttpRequest) -> HttpResponse:
    def done(made: Deposit | Withdrawal) -> HttpResponse:
        messages.success(
            request,
            f"Withdrawal of {money(made.amount, made.currency)} {made.currency} requested "
            f"(reference {made.reference}); the amount is held until we pay it out.",
        )
        return redirect("portal:withdrawal_detail", withdrawal_id=made.pk)

    client = actor(request).client
    last = withdrawals.last_destinations(client)
    form = WithdrawalForm(
        request.POST or None, initial=_withdrawal_initial(client, last), client=client
    )
    return _money_request_page(
        request,
        action=kyc_actions.WITHDRAW,
        form=form,
        ask=withdrawals.request_withdrawal,
        done=done,
        template="wallet/portal_withdraw.html",
        context={
            "balances": ledger.balances(client),
            "last_destinations": {str(pk): where for pk, where in last.items()},
            "bank_fields": [form[name] for name in WithdrawalForm.BANK],
            "crypto_fields": [form[name] for name in WithdrawalForm.CRYPTO],
            "money_fields": [form[name] for name in ("currency", "method", "amount")],
        },
    )


@client_view
def withdrawal_detail(request: HttpRequest, withdrawal_id: int) -> HttpResponse:
    """One withdrawal of the client's: where it stands and where it is paid, in full (it is
    their own account)."""
    found = get_object_or_404(
        withdrawals.client_withdrawals(actor(request).client), pk=withdrawal_id
    )
    return render(
        request,
        "wallet/portal_withdrawal_detail.html",
        {"withdrawal": found, "not_recorded": destinations.NOT_RECORDED},
    )


# --- paying through a provider: the pay step, and the sandbox provider's hosted checkout -------


@require_http_methods(["GET", "POST"])
@client_view
def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The pay step: the provider's checkout is opened (after our commit, outside any
    transaction) and the client sent there. Unreachable: said so, with a Try again.

    A checkout on another site (Stripe's, NOWPayments' page) is a link the client follows,
    not a redirect: the pay step is reached from a form (the purchase, the deposit, Try
    again), and the portal's Content-Security-Policy (`form-action 'self'`) stops a form's
    redirect to another site, so the browser would stay on the form with nothing said."""
    found = payments.find(token)
    if found.client_id != actor(request).client.pk:
        raise Http404  # another client's payment is not theirs to see
    try:
        payments.refuse_closed(found)
        started = payments.start(found)
    except payments.CheckoutUnavailable as failed:
        return render(
            request,
            "wallet/portal_pay_retry.html",
            {"payment": found, "reason": failed.message},
            status=503,
        )
    if _same_site(request, started.checkout_url):
        return redirect(started.checkout_url)
    return render(
        request, "wallet/portal_pay_go.html", {"payment": started, "url": started.checkout_url}
    )


def _same_site(request: HttpRequest, url: str) -> bool:
    """`url` is on this site: as the browser reached it, or as PROPDESK_SITE_URL names it
    (where the sandbox's own checkout lives)."""
    there = urlsplit(url)
    own = (urlsplit(request.build_absolute_uri("/")), urlsplit(settings.PROPDESK_SITE_URL))
    return any((there.scheme, there.netloc) == (o.scheme, o.netloc) for o in own)


@require_http_methods(["GET", "POST"])
def sandbox_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """The sandbox provider's hosted checkout (it stands apart from the portal: a link is
    enough). The tester pays the whole, a part or more."""
    found = sandbox_payments.checkout(token)
    if request.method == "POST":
        if not found.waiting:  # paid, cancelled or lapsed: nothing is taken
            messages.error(
                request, f"This checkout is closed ({found.state}); nothing was charged."
            )
            return redirect(found.return_to)
        if request.POST.get("action") != "pay":
            sandbox.cancel(token)
            messages.info(request, _("Payment cancelled; nothing was charged."))
            return redirect(found.return_to)
        amount = _sandbox_amount(request.POST.get("amount", ""), found)
        if amount is None:
            messages.error(request, _("Enter a positive amount."))
            return redirect("sandbox_checkout", token=found.token)
        try:
            sandbox.pay(token, amount)
        except DomainError as refused:
            messages.error(request, refused.message)
            return redirect(found.return_to)
        messages.success(
            request,
            f"Payment of {money(amount, found.currency)} {found.currency} sent. "
            + _("It is credited as soon as the payment is confirmed."),
        )
        return redirect(found.return_to)
    return render(request, "wallet/sandbox_checkout.html", {"checkout": found})


def _sandbox_amount(text: str, found: sandbox_payments.Checkout) -> Decimal | None:
    if not text.strip():
        return found.rest or None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > found.amount * 100:
        return None
    return value.quantize(Decimal("0.01"))
