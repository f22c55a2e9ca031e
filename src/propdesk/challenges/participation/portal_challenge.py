"""One of the client's challenges in the portal, in tabs (`?tab=`): Overview (the figures,
credentials, rules, stage history, retry and reset), Chart (the equity curve staff see), Trades
(the account's deals, from its platform) and Payouts (challenges/payouts/tab.py). Each tab
reads only what it shows, so a slow trading platform holds up the Trades tab alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from propdesk.accounts import zones
from propdesk.accounts.models import Client
from propdesk.challenges.catalogue.wording import rule_lines
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import curve, progress
from propdesk.challenges.participation import paid_online, retries, standing, trade_history
from propdesk.challenges.participation import services as participation
from propdesk.challenges.participation.portal import history, row
from propdesk.challenges.payouts import tab as payout_tab
from propdesk.core.errors import DomainError, NotFound
from propdesk.core.money import quantize
from propdesk.core.web import actor, client_view
from propdesk.onboarding import kyc, kyc_actions
from propdesk.platforms import services as platform_services
from propdesk.wallet import ledger
from propdesk.wallet.models import Payment

TABS = {
    "overview": gettext_lazy("Overview"),
    "chart": gettext_lazy("Chart"),
    "trades": gettext_lazy("Trades"),
    "payouts": gettext_lazy("Payouts"),
}
TRADES_PAGE = 50
HISTORY_UNAVAILABLE = (
    "Your trade history is unavailable right now: the trading platform did not answer. "
    "Your account and its figures are not affected; try again in a minute."
)


def _tab(request: HttpRequest) -> str:
    tab = request.GET.get("tab") or "overview"
    if tab not in TABS:
        raise NotFound("No such tab on this page.")
    return tab


def _overview(
    item: Participation, client: Client, shown: dict[str, Any], zone: ZoneInfo
) -> dict[str, Any]:
    return {
        "rules": rule_lines(shown["stage"].rules) if shown["stage"] else [],
        # Under review, the passed stage's account is not offered for trading.
        "credentials": None if shown["review"] else participation.credentials(item, client),
        "history": history(item, zone),
        "trading_blocked": kyc.refusal(client, kyc_actions.TRADE),
        "wallet": quantize(ledger.balances(client).get(item.currency, Decimal(0)), item.currency),
    }


def _chart(item: Participation, shown: dict[str, Any]) -> dict[str, Any]:
    """The current stage's equity curve with its floors and target, as staff see it."""
    attempt = shown["attempt"]
    figures = progress.figures(attempt) if attempt is not None else None
    chart = curve.chart_data(attempt, figures, item.currency)
    label = (
        gettext("Equity and balance of stage %(number)s: %(name)s")
        % {"number": shown["stage_number"], "name": shown["stage"].name}
        if attempt is not None
        else ""
    )
    return {
        "chart": chart,
        "chart_words": curve.in_words(chart),
        "chart_label": label,
    }


def _trades(request: HttpRequest, attempt: StageAttempt | None) -> dict[str, Any]:
    """The deals of the current stage's account, from its platform (asked here, outside any
    transaction), a page at a time."""
    found = trade_history.read(attempt)
    page = Paginator(found.deals, TRADES_PAGE).get_page(request.GET.get("page"))
    digits = platform_services.price_digits() if page.object_list else {}
    return {
        "history_error": HISTORY_UNAVAILABLE if found.unavailable else "",
        "page": page,
        "deals": [(d, digits.get(d.symbol, 5)) for d in page.object_list],
    }


@never_cache  # the page shows a trading password
@client_view
def my_challenge(request: HttpRequest, participation_id: int) -> HttpResponse:
    client = actor(request).client
    item = participation.get_own(client, participation_id)
    tab = _tab(request)
    return page(request, item, tab, payout_tab.context(client, item) if tab == "payouts" else {})


@require_POST
@client_view
def my_challenge_pay_from_wallet(request: HttpRequest, participation_id: int) -> HttpResponse:
    """*Pay from my wallet* on a purchase waiting for its payment (a part may be in the wallet
    already): the fee is taken from the wallet; refused, the page says why, nothing changed."""
    client = actor(request).client
    item = participation.get_own(client, participation_id)
    try:
        paid_online.pay_from_wallet(client, item.pk)
    except DomainError as refused:
        item.refresh_from_db()
        return challenge_page(request, item, error=refused, status=refused.status)
    messages.success(request, gettext("The fee was paid from your wallet."))
    return redirect("portal:my_challenge", participation_id=item.pk)


def challenge_page(
    request: HttpRequest,
    item: Participation,
    *,
    error: DomainError | None = None,
    status: int = 200,
    given: forms.Form | None = None,
) -> HttpResponse:
    """The page's Overview again: `error` a refused retry or reset, `given` the retry's or the
    reset's form that came back with its errors."""
    return page(request, item, "overview", {"error": error, "given": given}, status=status)


def page(
    request: HttpRequest,
    item: Participation,
    tab: str,
    extra: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """The participation's page on `tab`, with what that tab shows (`extra`: the Payouts
    tab's, from challenges/payouts/tab.py, or a refused retry or reset)."""
    client = actor(request).client
    zone = zones.zone_of(client)
    shown = row(item, zone, standing.pending_next_stage(item), retries.retried([item]).get(item.pk))
    context: dict[str, Any] = {**shown, "tab": tab, "tabs": TABS, **extra}
    if item.status == Participation.Status.PENDING_PAYMENT and item.checkout_token:
        # A part already paid: it is in the wallet, and the purchase waits for the rest.
        context["paid_so_far"] = (
            Payment.objects.filter(token=item.checkout_token, received__gt=0)
            .values_list("received", flat=True)
            .first()
        )
        held = ledger.balances(client).get(item.currency, Decimal(0))
        context["wallet_covers"] = held >= item.fee
    if tab == "overview":
        context.update(_overview(item, client, shown, zone))
    elif tab == "chart":
        context.update(_chart(item, shown))
    elif tab == "trades":
        context.update(_trades(request, shown["attempt"]))
    return render(request, "challenges/portal_my_challenge.html", context, status=status)
