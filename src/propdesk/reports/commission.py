"""*Reports > IB commission*: each IB's commission by period and currency, on screen and as CSV.

A commission counts in the period it was made (when its fee was paid). Columns: the fees the
IB's referrals paid (each fee once per IB, at the level it reached them), the commission
credited at once, collected (waiting for a settlement or in one awaiting approval), settled
(paid by an approved settlement), reversed (the fee was refunded), and the net: all but the
reversed."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.http import HttpResponse
from django.utils import timezone

from propdesk.challenges.growth import settlement
from propdesk.challenges.growth.models import Commission
from propdesk.challenges.models import Participation
from propdesk.core.errors import ValidationFailed
from propdesk.core.money import MINOR_UNITS, from_database_sum
from propdesk.core.validation import FieldErrors, read_day, spreadsheet_safe
from propdesk.reports.transactions import EARLIEST, LATEST

COLUMNS = ("fees", "credited", "accrued", "settled", "reversed", "net")
CSV_HEADER = ["ib", "email", "currency", "referrals_fees", *COLUMNS[1:]]
_BUCKET = {
    Commission.Status.CREDITED: "credited",
    Commission.Status.ACCRUED: "accrued",
    Commission.Status.SETTLING: "accrued",
    Commission.Status.SETTLED: "settled",
    Commission.Status.REVERSED: "reversed",
}


@dataclass
class Filters:
    date_from: date
    date_to: date
    currency: str = ""

    def as_query(self) -> dict[str, str]:
        query = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        return query | ({"currency": self.currency} if self.currency else {})


@dataclass
class Row:
    ib_id: int
    name: str
    email: str
    currency: str
    sums: dict[str, Decimal] = field(default_factory=dict)


def parse_filters(params: Any) -> Filters:
    """The period (this month so far by default) and currency; a bad one is named."""
    today = timezone.localdate()
    errors = FieldErrors()
    days = []
    for name, default in (("date_from", today.replace(day=1)), ("date_to", today)):
        raw = params.get(name) or ""
        day = read_day(raw) if raw and len(raw) <= 10 else (None if raw else default)
        if day is None:
            errors.add(name, "Give a day as YYYY-MM-DD.")
        elif not EARLIEST <= day <= LATEST:  # the period's bounds in UTC must exist
            errors.add(name, f"Give a day between {EARLIEST} and {LATEST}.")
            day = None
        days.append(day or default)
    currency = params.get("currency") or ""
    if currency and currency not in MINOR_UNITS:
        errors.add("currency", "Choose one of the currencies.")
    errors.raise_if_any()
    if days[0] > days[1]:
        raise ValidationFailed(fields={"date_to": "The period ends before it starts."})
    return Filters(days[0], days[1], currency)


def _in_period(filters: Filters) -> Any:
    since, until = settlement.bounds(filters.date_from, filters.date_to)
    found = Commission.objects.filter(created_at__gte=since, created_at__lt=until)
    if filters.currency:
        found = found.filter(currency=filters.currency)
    return found


def rows(filters: Filters) -> list[Row]:
    found = _in_period(filters)
    sums = (
        found.values("ib_id", "ib__user__name", "ib__user__email", "currency", "status")
        .annotate(amount=Sum("amount"), fees=Sum("base"))
        .order_by()
    )
    by_key: dict[tuple[int, str], Row] = {}
    for r in sums:
        currency = r["currency"]
        row = by_key.setdefault(
            (r["ib_id"], currency),
            Row(
                r["ib_id"],
                r["ib__user__name"],
                r["ib__user__email"],
                currency,
                {c: Decimal(0) for c in COLUMNS},
            ),
        )
        amount = from_database_sum(r["amount"], currency)
        row.sums[_BUCKET[r["status"]]] += amount
        row.sums["fees"] += from_database_sum(r["fees"], currency)
        if r["status"] != Commission.Status.REVERSED:
            row.sums["net"] += amount
    return sorted(by_key.values(), key=lambda row: (row.name.lower(), row.email, row.currency))


def totals(found: list[Row], filters: Filters | None = None) -> list[Row]:
    """One line per currency: every IB's together. With the filters, its referrals' fees are
    each fee once (two levels of IBs paid on one fee show it on both their lines)."""
    by_currency: dict[str, Row] = {}
    for row in found:
        total = by_currency.setdefault(
            row.currency, Row(0, "All IBs", "", row.currency, {c: Decimal(0) for c in COLUMNS})
        )
        for column in COLUMNS:
            total.sums[column] += row.sums[column]
    if filters is not None:
        paid = Participation.objects.filter(pk__in=_in_period(filters).values("participation_id"))
        for r in paid.values("currency").annotate(fees=Sum("fee")).order_by():
            if r["currency"] in by_currency:
                by_currency[r["currency"]].sums["fees"] = from_database_sum(
                    r["fees"], r["currency"]
                )
    return [by_currency[c] for c in sorted(by_currency)]


def csv_response(filters: Filters, found: list[Row]) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in found:
        writer.writerow(
            [
                spreadsheet_safe(row.name),
                spreadsheet_safe(row.email),
                row.currency,
                *(row.sums[c] for c in COLUMNS),
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv")
    name = f"ib-commission-{filters.date_from}-{filters.date_to}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
