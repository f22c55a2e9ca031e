"""Wallet pages: the client's own in the portal; staff adjustments on the client's page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts import permissions
from propdesk.accounts.models import Client
from propdesk.core.errors import DomainError, ValidationFailed
from propdesk.core.money import MINOR_UNITS
from propdesk.core.web import actor, apply_errors, client_view, settings_form, staff_view
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import (
    deposits,
    ledger,
    reports,
    sandbox_payments,
    services,
    withdrawals,
)
from propdesk.wallet.models import Deposit, JournalEntry, PaymentMethod, Posting, Withdrawal


class AdjustmentForm(forms.Form):
    direction = forms.ChoiceField(choices=[("credit", "Credit"), ("debit", "Debit")])
    amount = forms.CharField(max_length=30)
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
    form = MoneyRequestForm(request.POST or None, initial={"idempotency_key": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = ask(
                client,
                method=data["method"].pk,
                amount=data["amount"],
                currency=data["currency"],
                idempotency_key=data["idempotency_key"],
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return done(made)
    return render(request, template, {"form": form, **context}, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@client_view
def deposit(request: HttpRequest) -> HttpResponse:
    def done(made: Deposit | Withdrawal) -> HttpResponse:
        if isinstance(made, Deposit) and made.status == Deposit.Status.AWAITING_PAYMENT:
            return redirect("sandbox_checkout", token=made.checkout_token)
        credited = made.status == Deposit.Status.APPROVED
        messages.success(
            request,
            f"Deposit of {made.amount} {made.currency} requested"
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
            f"Withdrawal of {made.amount} {made.currency} requested; the amount is held "
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


# --- Settings > Payment methods ----------------------------------------------------------------


class PaymentMethodForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=PaymentMethod.Kind.choices)
    currencies = forms.MultipleChoiceField(
        choices=[(c, c) for c in MINOR_UNITS], widget=forms.CheckboxSelectMultiple
    )
    min_amount = forms.CharField(max_length=30, label="Minimum amount")
    max_amount = forms.CharField(max_length=30, label="Maximum amount")
    instructions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    provider = forms.ChoiceField(choices=PaymentMethod.Provider.choices, required=False)
    enabled = forms.BooleanField(required=False, initial=True)


@staff_view(permissions.APPROVALS_VIEW)
def payment_methods(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "wallet/payment_methods.html",
        {
            "methods": PaymentMethod.objects.all(),
            "can_edit": actor(request).has_permission(permissions.SETTINGS_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_view(permissions.SETTINGS_MANAGE)
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
            "enabled": method.enabled,
        }
        if method
        else {"enabled": True}
    )
    return settings_form(
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
            client_note=data.get("client_note", ""),
            actor=actor(request),
            idempotency_key=data.get("idempotency_key") or None,
        )
    except DomainError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else exc.message
        messages.error(request, f"Adjustment not made: {detail}")
    else:
        messages.success(request, f"Adjustment posted (entry #{entry.pk}).")
    return redirect("backoffice:client", client_id=client.pk)


# --- Reports > Transactions ----------------------------------------------------------------------


def csv_response(rows: QuerySet[Posting]) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(reports.csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="transactions-{stamp}.csv"'
    return response


@staff_view(permissions.WALLET_VIEW)
def transactions_report(request: HttpRequest) -> HttpResponseBase:
    try:
        filters = reports.parse_filters(request.GET)
    except ValidationFailed as exc:
        messages.error(request, "; ".join(f"{k}: {v}" for k, v in exc.fields.items()))
        filters = reports.Filters()
    rows = reports.transactions(filters)
    if request.GET.get("format") == "csv":
        return csv_response(rows)
    try:
        items, next_cursor = reports.page(rows, after=request.GET.get("after"))
    except ValidationFailed:
        items, next_cursor = reports.page(rows)
    return render(
        request,
        "wallet/transactions_report.html",
        {
            "filters": filters,
            "items": items,
            "next_cursor": next_cursor,
            "totals": reports.totals(filters, rows),
            "types": JournalEntry.Type.choices,
            "currencies": list(MINOR_UNITS),
            "statuses": reports.STATUSES,
            "query": urlencode(filters.as_query()),
        },
    )


# --- the sandbox payment provider's pages, and its webhook ---------------------------------------


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
                f"Payment of {found.amount} {found.currency} sent. {found.after_payment}",
            )
        else:
            messages.info(request, "Payment cancelled; nothing was charged.")
        return redirect(found.return_to)
    return render(request, "wallet/sandbox_checkout.html", {"checkout": found})


@csrf_exempt  # authenticated by its HMAC signature, not by a browser session
@require_POST
def sandbox_webhook(request: HttpRequest) -> JsonResponse:
    try:
        outcome = sandbox_payments.handle_webhook(
            request.body, request.headers.get(sandbox_payments.HEADER)
        )
    except DomainError as exc:
        return JsonResponse(exc.as_json(), status=exc.status)
    return JsonResponse({"ok": True, "outcome": outcome})
