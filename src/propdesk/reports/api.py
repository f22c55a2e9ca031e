"""The reports over the API: `GET /api/v1/reports/transactions` (staff)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from annotated_types import Ge, Interval
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router, Schema

from propdesk.accounts.api_auth import current_staff
from propdesk.core.money import MINOR_UNITS
from propdesk.core.permissions import require_permission
from propdesk.core.schema import WHOLE, Blank, Day, FilterText, OneOf
from propdesk.reports import transactions
from propdesk.wallet.models import JournalEntry
from propdesk.wallet.permissions import WALLET_VIEW

reports_router = Router(tags=["reports"])


class TransactionOut(Schema):
    posting: int
    entry: int
    reference: str = ""  # of what caused the entry: DEP-000002, WDR-…, PTP-…, ADJ-…
    at: datetime
    type: str
    client_id: int
    client: str
    email: str
    amount: Decimal  # from the firm's side: in (a deposit, a fee) positive, out negative
    currency: str
    status: str  # completed, pending, rejected or reversed
    memo: str


class TotalOut(Schema):
    currency: str
    count: int
    credits: Decimal  # money in, from the firm's side
    debits: Decimal  # money out (negative)
    net: Decimal


class TransactionPage(Schema):
    items: list[TransactionOut]
    next: int | None
    totals: list[TotalOut]


@reports_router.get(
    "/transactions",
    response=TransactionPage,
    summary="Every posting to a client wallet; `after` pages by key; `format=csv` streams it all",
    description="*Reports > CRM Reports > Transactions* in the back office. `type` is an entry "
    "type: `prop_trading_fee` is Prop Trading Fee. " + transactions.CONVENTION,
)
def transactions_report(
    request: HttpRequest,
    type: Annotated[Annotated[str, OneOf(JournalEntry.Type.values)] | None, Blank] = None,
    date_from: Annotated[Day | None, Blank] = None,
    date_to: Annotated[Day | None, Blank] = None,
    client: FilterText = "",
    reference: FilterText = "",
    currency: Annotated[Annotated[str, OneOf(MINOR_UNITS)] | None, Blank] = None,
    status: Annotated[Annotated[str, OneOf(transactions.STATUSES)] | None, Blank] = None,
    after: Annotated[Annotated[int, Ge(1), WHOLE] | None, Blank] = None,
    limit: Annotated[
        int, Interval(ge=1, le=transactions.MAX_PAGE_SIZE), WHOLE
    ] = transactions.PAGE_SIZE,
    format: Annotated[Literal["json", "csv"] | None, Blank] = None,
) -> TransactionPage | HttpResponseBase:
    require_permission(current_staff(request), WALLET_VIEW)
    given = {
        "type": type,
        "currency": currency,
        "status": status,
        "client": client,
        "reference": reference,
    }
    days = {"date_from": date_from, "date_to": date_to}
    filters = transactions.parse_filters(
        {**{k: v or "" for k, v in given.items()}, **{k: f"{v or ''}" for k, v in days.items()}}
    )
    rows = transactions.transactions(filters)
    if format == "csv":
        return transactions.csv_response(rows)
    items, next_cursor = transactions.page(rows, after=after, size=limit)
    return TransactionPage(
        items=[
            TransactionOut(
                posting=p.pk,
                entry=p.entry_id,
                reference=getattr(p, "reference", ""),
                at=p.created_at,
                type=p.entry_type,
                client_id=p.client_id or 0,
                client=p.client.user.name if p.client else "",
                email=p.client.user.email if p.client else "",
                amount=row.amount,
                currency=p.currency,
                status=row.status,
                memo=p.entry.memo,
            )
            for row in transactions.shown(items)
            for p in [row.posting]
        ],
        next=next_cursor,
        totals=[TotalOut(**t) for t in transactions.totals(filters, rows)],
    )
