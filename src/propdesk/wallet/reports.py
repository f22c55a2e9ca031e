"""Reports > Transactions: every posting to a client wallet, filtered, totalled, paged by key
(not by offset, so page 1,000 costs what page 1 does) and exported as a stream."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from propdesk.core.errors import ValidationFailed
from propdesk.core.money import MINOR_UNITS, quantize
from propdesk.core.validation import search_text
from propdesk.wallet.models import JournalEntry, LedgerAccount, Posting

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
STATUSES = {"posted": "Posted", "reversed": "Reversed"}


@dataclass(frozen=True)
class Filters:
    type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    client: str = ""
    currency: str = ""
    status: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v not in ("", None)}


def parse_filters(params: Any) -> Filters:
    """Read the filters from a query string; anything wrong is named."""
    errors: dict[str, str] = {}
    kind = search_text(params.get("type"), max_length=30)
    if kind and kind not in JournalEntry.Type.values:
        errors["type"] = f"Type is one of: {', '.join(JournalEntry.Type.values)}."
    currency = search_text(params.get("currency"), max_length=3)
    if currency and currency not in MINOR_UNITS:
        errors["currency"] = "Unknown currency."
    status = search_text(params.get("status"), max_length=10)
    if status and status not in STATUSES:
        errors["status"] = "Status is posted or reversed."
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        raw = search_text(params.get(name), max_length=10)
        try:
            dates[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = "Give a date as YYYY-MM-DD."
            dates[name] = None
    if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
        errors["date_to"] = "The end is before the start."
    if errors:
        raise ValidationFailed("Some filters are not valid.", fields=errors)
    return Filters(
        type=kind,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        client=search_text(params.get("client")),
        currency=currency,
        status=status,
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def transactions(filters: Filters) -> QuerySet[Posting]:
    rows = Posting.objects.filter(account__kind=LedgerAccount.Kind.CLIENT_WALLET)
    if filters.type:
        rows = rows.filter(entry__type=filters.type)
    if filters.currency:
        rows = rows.filter(currency=filters.currency)
    if filters.date_from:
        rows = rows.filter(entry__created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        rows = rows.filter(entry__created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if filters.client:
        rows = rows.filter(
            Q(account__client__user__email__icontains=filters.client)
            | Q(account__client__user__name__icontains=filters.client)
        )
    if filters.status:
        reversed_ = Exists(JournalEntry.objects.filter(reverses=OuterRef("entry")))
        rows = rows.filter(reversed_) if filters.status == "reversed" else rows.exclude(reversed_)
    return rows


def totals(rows: QuerySet[Posting]) -> list[dict[str, Any]]:
    """Count, money in, money out and net per currency for the whole filtered set."""
    found = (
        rows.values("currency")
        .annotate(
            count=Count("id"),
            credits=Sum("amount", filter=Q(amount__gt=0)),
            debits=Sum("amount", filter=Q(amount__lt=0)),
            net=Sum("amount"),
        )
        .order_by("currency")
    )
    return [
        {
            "currency": row["currency"],
            "count": row["count"],
            "credits": quantize(row["credits"] or Decimal(0), row["currency"]),
            "debits": quantize(row["debits"] or Decimal(0), row["currency"]),
            "net": quantize(row["net"] or Decimal(0), row["currency"]),
        }
        for row in found
    ]


def page(
    rows: QuerySet[Posting], *, after: Any = None, size: Any = PAGE_SIZE
) -> tuple[list[Posting], int | None]:
    """One page, newest first, and the cursor for the next (None at the end)."""
    errors: dict[str, str] = {}
    cursor = None
    if after not in (None, ""):
        if not (isinstance(after, str | int) and str(after).isascii() and str(after).isdigit()):
            errors["after"] = "The cursor is the `next` value of the previous page."
        else:
            cursor = int(after)
    try:
        limit = int(size)
    except (TypeError, ValueError):
        limit = -1
    if not 1 <= limit <= MAX_PAGE_SIZE:
        errors["limit"] = f"Between 1 and {MAX_PAGE_SIZE}."
    if errors:
        raise ValidationFailed(fields=errors)
    if cursor is not None:
        rows = rows.filter(id__lt=cursor)
    chunk = list(rows.select_related("entry", "account__client__user").order_by("-id")[: limit + 1])
    more = len(chunk) > limit
    chunk = chunk[:limit]
    return chunk, (chunk[-1].pk if more and chunk else None)


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = ["posting", "entry", "at", "type", "client", "email", "amount", "currency", "memo"]


def csv_lines(rows: QuerySet[Posting]) -> Iterator[str]:
    """The filtered set as CSV lines, read from the database in chunks, never all at once."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    fields = (
        "id",
        "entry_id",
        "entry__created_at",
        "entry__type",
        "account__client__user__name",
        "account__client__user__email",
        "amount",
        "currency",
        "entry__memo",
    )
    for row in rows.order_by("-id").values_list(*fields).iterator(chunk_size=2000):
        posting, entry, at, kind, name, email, amount, currency, memo = row
        yield writer.writerow(
            [
                posting,
                entry,
                at.isoformat(),
                kind,
                _safe(name),
                _safe(email),
                quantize(amount, currency),
                currency,
                _safe(memo),
            ]
        )


def _safe(text: str | None) -> str:
    """Neutralise spreadsheet formulas in free text (=, +, -, @ at the start of a cell)."""
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
