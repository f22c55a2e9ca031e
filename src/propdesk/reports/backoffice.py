"""Back-office pages of the reports: *Reports > CRM Reports > Transactions* (every posting to a
client wallet, filtered, paged by key, exported as CSV) and *Prop Trading > Prop Trading
Dashboard* (what the challenges brought in, paid out and where they stand). The figures are
transactions.py's and prop_dashboard.py's."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from propdesk.challenges.growth.commission import COMMISSION_VIEW
from propdesk.challenges.models import Challenge
from propdesk.challenges.permissions import CHALLENGES_VIEW
from propdesk.core.errors import ValidationFailed
from propdesk.core.money import MINOR_UNITS
from propdesk.core.validation import search_text
from propdesk.core.web import staff_view
from propdesk.reports import commission, prop_dashboard, transactions
from propdesk.reports.prop_money import FeeLine
from propdesk.wallet.models import JournalEntry
from propdesk.wallet.permissions import WALLET_VIEW


@staff_view(WALLET_VIEW)
def transactions_report(request: HttpRequest) -> HttpResponseBase:
    try:
        filters = transactions.parse_filters(request.GET)
    except ValidationFailed as exc:
        messages.error(request, "; ".join(f"{k}: {v}" for k, v in exc.fields.items()))
        filters = transactions.Filters()
    rows = transactions.transactions(filters)
    if request.GET.get("format") == "csv":
        return transactions.csv_response(rows)
    try:
        items, next_cursor = transactions.page(rows, after=request.GET.get("after"))
    except ValidationFailed:
        items, next_cursor = transactions.page(rows)
    return render(
        request,
        "reports/transactions.html",
        {
            "filters": filters,
            "items": transactions.shown(items),
            "convention": transactions.CONVENTION,
            "next_cursor": next_cursor,
            "totals": transactions.totals(filters, rows),
            "types": JournalEntry.Type.choices,
            "currencies": list(MINOR_UNITS),
            "statuses": transactions.STATUSES,
            "query": urlencode(filters.as_query()),
        },
    )


@staff_view(COMMISSION_VIEW)
def commission_report(request: HttpRequest) -> HttpResponseBase:
    """Reports > IB commission: by IB and currency over a period, or as CSV."""
    try:
        filters = commission.parse_filters(request.GET)
    except ValidationFailed as exc:
        messages.error(request, "; ".join(f"{k}: {v}" for k, v in exc.fields.items()))
        filters = commission.parse_filters({})
    found = commission.rows(filters)
    if request.GET.get("format") == "csv":
        return commission.csv_response(filters, found)
    return render(
        request,
        "reports/commission.html",
        {
            "filters": filters,
            "rows": found,
            "totals": commission.totals(found, filters),
            "currencies": list(MINOR_UNITS),
            "query": urlencode(filters.as_query()),
        },
    )


@staff_view(CHALLENGES_VIEW)
def prop_dashboard_page(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    try:
        filters = prop_dashboard.parse_filters(request.GET)
    except ValidationFailed as exc:  # as Reports > Transactions: said, and left out
        errors = exc.fields
        messages.error(request, "; ".join(f"{k}: {v}" for k, v in exc.fields.items()))
        filters = prop_dashboard.Filters()
    shown = prop_dashboard.figures(filters.date_from, filters.date_to, filters.challenge_id)
    chosen = None
    if filters.challenge_id is not None:
        chosen = Challenge.objects.filter(pk=filters.challenge_id).first()
    return render(
        request,
        "reports/prop_dashboard.html",
        {
            "shown": shown,
            "chosen": chosen,
            "challenges": Challenge.objects.exclude(status=Challenge.Status.DRAFT),
            "errors": errors,
            # What was typed stays in the fields, so that a mistake can be put right.
            "typed": {
                name: search_text(request.GET.get(name), max_length=20)
                for name in ("date_from", "date_to", "challenge")
            },
            "fee_rows": [
                (line, _fee_link(shown, line), _fee_link(shown, line, "completed"))
                for line in shown.fees
            ],
            "time_zone": timezone.get_default_timezone_name(),
        },
    )


def _fee_link(shown: prop_dashboard.Dashboard, line: FeeLine, status: str = "") -> str:
    """Reports > CRM Reports > Transactions, filtered to the fees of the line's type and
    currency in the period: all of them (their In is the fees collected), or the completed ones
    (the refunded left out: their In is the net)."""
    query = {"type": line.type, "currency": line.currency}
    if status:
        query["status"] = status
    if shown.date_from:
        query["date_from"] = shown.date_from.isoformat()
    if shown.date_to:
        query["date_to"] = shown.date_to.isoformat()
    return f"{reverse('backoffice:transactions_report')}?{urlencode(query)}"
