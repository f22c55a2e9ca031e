"""The reports over the API (staff): `GET /api/v1/reports/transactions` and
`GET /api/v1/reports/prop-dashboard`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from annotated_types import Ge, Interval
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router, Schema

from propdesk.accounts.api_auth import current_staff
from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.models import Participation
from propdesk.challenges.permissions import CHALLENGES_VIEW
from propdesk.core.money import MINOR_UNITS
from propdesk.core.pagination import After, Page, decode_id, encode_id
from propdesk.core.permissions import require_permission
from propdesk.core.schema import WHOLE, Blank, Day, FilterText, Money, OneOf
from propdesk.reports import prop_dashboard, transactions
from propdesk.wallet.models import JournalEntry
from propdesk.wallet.permissions import WALLET_VIEW

reports_router = Router(tags=["reports"])


class TransactionOut(Schema):
    posting: int
    entry: int
    reference: str = ""  # of what caused the entry: DEP-000002, WDR-…, PTP-…, ADJ-…
    at: datetime
    type: Annotated[str, OneOf(JournalEntry.Type.values)]
    client_id: int
    client: str
    email: str
    amount: Money  # from the firm's side: in (a deposit, a fee) positive, out negative
    currency: str
    status: Annotated[str, OneOf(transactions.STATUSES)]
    memo: str
    discount: Money | None = None  # a challenge fee's: what coupons took off its price


class TotalOut(Schema):
    currency: str
    count: int
    credits: Money  # money in, from the firm's side
    debits: Money  # money out (negative)
    net: Money


class TransactionPage(Page[TransactionOut]):
    totals: list[TotalOut]


@reports_router.get(
    "/transactions",
    response=TransactionPage,
    summary="Every posting to a client wallet; `after` pages by key; `format=csv` streams it all",
    description="*Reports > CRM Reports > Transactions* in the back office. `type` is an entry "
    "type: `prop_trading_fee` is Prop Trading Fee. " + transactions.CONVENTION,
    openapi_extra={
        "responses": {
            200: {
                "content": {
                    "text/csv": {
                        "schema": {
                            "type": "string",
                            "description": "`format=csv`: every row, its header "
                            + ",".join(transactions.CSV_HEADER),
                        },
                    }
                }
            }
        }
    },
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
    after: After = None,
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
    cursor = {"tag": "reports.transactions", "scope": repr(filters)}
    items, next_key = transactions.page(rows, after=decode_id(after, **cursor), size=limit)
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
                discount=getattr(p, "discount", None),
            )
            for row in transactions.shown(items)
            for p in [row.posting]
        ],
        next=encode_id(next_key, **cursor),
        totals=[TotalOut(**t) for t in transactions.totals(filters, rows)],
    )


# --- Prop Trading > Prop Trading Dashboard -------------------------------------------------------


class FeeOut(Schema):
    currency: str
    type: Annotated[str, OneOf(JournalEntry.Type.values)]  # the fee entries' types
    label: str
    paid: int  # fee entries made in the period
    collected: Money
    refunds: int  # refunds (reversals of fees) made in the period
    refunded: Money
    net: Money


class StatusCountOut(Schema):
    status: Annotated[str, OneOf(Participation.Status.values)]
    label: str
    count: int


class StageRateOut(Schema):
    challenge_id: int
    challenge: str
    stage: int  # the index into the version's stages, from 0
    stage_name: str
    kind: StageKind
    label: str
    passed: int
    failed: int
    rate_pct: Money | None  # none for a live stage, or when none concluded


class FundedOut(Schema):
    currency: str
    accounts: int
    amount: Money


class LossOut(Schema):
    currency: str
    failures: int
    demo: Money
    live: Money
    total: Money


class PayoutStepOut(Schema):
    count: int
    profit: Money  # taken off the trading accounts
    trader_share: Money  # paid to the traders' wallets (Profit Share entries) once paid
    firm_share: Money


class PayoutOut(Schema):
    challenge_id: int | None  # null on a currency's total
    challenge: str
    currency: str
    requested: PayoutStepOut  # by the time requested, whatever became of them
    approved: PayoutStepOut  # by the time decided, paid since or not
    paid: PayoutStepOut  # by the time paid
    rejected: int  # by the time decided


class ProfitOut(Schema):
    challenge_id: int | None  # null on a currency's total
    challenge: str
    currency: str
    fees: Money  # collected: Prop Trading, Prop Retry and Prop Reset Fee entries
    refunded: Money  # refunds of fees made in the period
    shares_paid: Money  # profit shares paid (Profit Share entries)
    shares_reversed: Money  # profit shares taken back (their reversals)
    profit: Money  # fees - refunded - shares_paid + shares_reversed


class DiscountOut(Schema):
    currency: str
    purchases: int  # with a coupon: their fee paid in the period, or made free in it
    gross: Money  # their prices
    discount: Money  # what the coupons took off
    net: Money  # the fees paid


class PropDashboardOut(Schema):
    date_from: date | None
    date_to: date | None
    challenge_id: int | None
    fees: list[FeeOut]
    participants: int
    statuses: list[StatusCountOut]
    stages: list[StageRateOut]
    funded: list[FundedOut]
    losses: list[LossOut]
    payouts: list[PayoutOut]  # per challenge and currency
    payout_totals: list[PayoutOut]  # per currency
    profit: list[ProfitOut]  # the broker's, per challenge and currency
    profit_totals: list[ProfitOut]  # per currency
    discounts: list[DiscountOut]  # coupons', per currency


@reports_router.get(
    "/prop-dashboard",
    response=PropDashboardOut,
    summary="Prop Trading Dashboard: fees, participants, pass rates, funded amount, losses, "
    "payouts, the broker's profit and coupons' discounts for a period and a challenge",
    description="*Prop Trading > Prop Trading Dashboard* in the back office, for staff who may "
    "see the challenges. The days are in the firm's time zone, both ends included, either "
    "open; `challenge` is a challenge's id (none: all). Money is per currency, never added "
    "across currencies. Each figure counts by its own time: a fee by its entry, a refund by "
    "its reversal, a payout's request, decision and payment each by theirs, a profit share "
    "by its Profit Share entry. The broker's profit is the fees collected less the refunds "
    "less the profit shares paid (plus those taken back), per challenge and in total. "
    "`discounts`: the purchases with a coupon whose fee was paid in the period (or that "
    "coupons made free in it), their prices, discounts and fees paid.",
)
def prop_dashboard_report(
    request: HttpRequest,
    date_from: Annotated[Day | None, Blank] = None,
    date_to: Annotated[Day | None, Blank] = None,
    challenge: Annotated[Annotated[int, Ge(1), WHOLE] | None, Blank] = None,
) -> prop_dashboard.Dashboard:
    require_permission(current_staff(request), CHALLENGES_VIEW)
    given = {"date_from": date_from, "date_to": date_to, "challenge": challenge}
    filters = prop_dashboard.parse_filters({k: f"{v or ''}" for k, v in given.items()})
    return prop_dashboard.figures(filters.date_from, filters.date_to, filters.challenge_id)
