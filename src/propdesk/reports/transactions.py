"""Reports > Transactions: every posting to a client wallet, filtered, totalled, paged by key
(not by offset, so page 1,000 costs what page 1 does) and exported as a stream."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import StreamingHttpResponse
from django.utils import timezone

from propdesk.accounts.models import Client, User
from propdesk.core import references
from propdesk.core.errors import ValidationFailed
from propdesk.core.money import MINOR_UNITS, from_database_sum, from_minor, quantize
from propdesk.core.validation import parse_id, read_day, search_text, spreadsheet_safe
from propdesk.wallet import references as entry_references
from propdesk.wallet.models import DayTotal, JournalEntry, Posting

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
STATUSES = {"posted": "Posted", "reversed": "Reversed"}
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)  # a day's start and end stay in range


@dataclass(frozen=True)
class Filters:
    type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    client: str = ""
    currency: str = ""
    status: str = ""
    reference: str = ""  # DEP-000002: the entries of that deposit (docs/references.md)

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
    reference = search_text(params.get("reference"), max_length=40)
    if reference and references.parse(reference) is None:
        errors["reference"] = "Give a reference such as DEP-000002."
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        raw = search_text(params.get(name), max_length=10)
        dates[name] = read_day(raw) if raw else None
        if raw and dates[name] is None:
            errors[name] = "Give a date as YYYY-MM-DD."
        found = dates[name]
        if found is not None and not EARLIEST <= found <= LATEST:
            errors[name] = f"Give a date between {EARLIEST} and {LATEST}."
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
        reference=reference if "reference" not in errors else "",
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def within_days(field: str, date_from: date | None, date_to: date | None) -> Q:
    """`field` on the days from `date_from` to `date_to` inclusive (either open), in the firm's
    time zone."""
    found = Q()
    if date_from is not None:
        found &= Q(**{f"{field}__gte": _day_start(date_from)})
    if date_to is not None:
        found &= Q(**{f"{field}__lt": _day_start(date_to + timedelta(days=1))})
    return found


def transactions(filters: Filters) -> QuerySet[Posting]:
    """The filtered wallet postings (the posting carries its entry's time and type)."""
    rows = Posting.objects.filter(client__isnull=False)
    if filters.type:
        rows = rows.filter(entry_type=filters.type)
    if filters.currency:
        rows = rows.filter(currency=filters.currency)
    rows = rows.filter(within_days("created_at", filters.date_from, filters.date_to))
    if filters.client:
        rows = rows.filter(client__in=matching_clients(filters.client))
    if filters.reference:
        rows = rows.filter(entry_id__in=entry_references.entries_with(filters.reference) or [])
    if filters.status:
        reversed_ = Exists(JournalEntry.objects.filter(reverses=OuterRef("entry")))
        rows = rows.filter(reversed_) if filters.status == "reversed" else rows.exclude(reversed_)
    return rows


MAX_LISTED_CLIENTS = 5000


def matching_clients(text: str) -> list[int] | QuerySet[Client, int]:
    """The ids of the clients whose name or email contains `text`. Up to a few thousand
    come as a list, which the database checks by hash while it walks the report's index; a
    search that matches more stays a subquery (most postings then match anyway). The users
    are found first, by their own (trigram) indexes, then their clients by key."""
    users = User.objects.filter(
        Q(email__icontains=text) | Q(name__icontains=text), kind=User.Kind.CLIENT
    ).values_list("pk", flat=True)
    listed = list(users.order_by()[: MAX_LISTED_CLIENTS + 1])
    if len(listed) > MAX_LISTED_CLIENTS:
        return Client.objects.filter(user__in=users).values_list("pk", flat=True)
    return list(Client.objects.filter(user__in=listed).order_by().values_list("pk", flat=True))


def totals(filters: Filters, rows: QuerySet[Posting] | None = None) -> list[dict[str, Any]]:
    """Count, money in, money out and net per currency for the whole filtered set.

    Without a client filter they come from the day totals the ledger keeps (a few rows a day);
    a client's postings are few enough to sum directly (`rows`, when the caller has them)."""
    found: Iterable[dict[str, Any]]
    if filters.client or filters.reference:  # a reference names a few entries: summed directly
        found = (
            (transactions(filters) if rows is None else rows)
            .values("currency")
            .annotate(
                n=Count("id"),
                cr=Sum("amount", filter=Q(amount__gt=0)),
                dr=Sum("amount", filter=Q(amount__lt=0)),
            )
            .order_by("currency")
        )
    else:
        days = DayTotal.objects.all()
        if filters.type:
            days = days.filter(entry_type=filters.type)
        if filters.currency:
            days = days.filter(currency=filters.currency)
        if filters.date_from:
            days = days.filter(day__gte=filters.date_from)
        if filters.date_to:
            days = days.filter(day__lte=filters.date_to)
        parts = {
            "": (F("count"), F("credits_minor"), F("debits_minor")),
            "reversed": (
                F("reversed_count"),
                F("reversed_credits_minor"),
                F("reversed_debits_minor"),
            ),
            "posted": (
                F("count") - F("reversed_count"),
                F("credits_minor") - F("reversed_credits_minor"),
                F("debits_minor") - F("reversed_debits_minor"),
            ),
        }[filters.status]
        found = [
            {
                **row,
                "cr": from_minor(row["cr"], row["currency"]),
                "dr": from_minor(row["dr"], row["currency"]),
            }
            for row in days.values("currency")
            .annotate(n=Sum(parts[0]), cr=Sum(parts[1]), dr=Sum(parts[2]))
            .filter(n__gt=0)
            .order_by("currency")
        ]
    result = []
    for row in found:
        currency = row["currency"]
        credits = from_database_sum(row["cr"], currency)
        debits = from_database_sum(row["dr"], currency)
        result.append(
            {
                "currency": currency,
                "count": int(row["n"]),
                "credits": credits,
                "debits": debits,
                "net": credits + debits,
            }
        )
    return result


NEWEST_FIRST = ("-created_at", "-id")


def _before(rows: QuerySet[Posting], at: datetime, posting_id: int) -> QuerySet[Posting]:
    """The rows after (at, posting_id) in newest-first order; the first condition alone is
    what the index range uses."""
    return rows.filter(created_at__lte=at).filter(Q(created_at__lt=at) | Q(id__lt=posting_id))


def page(
    rows: QuerySet[Posting], *, after: Any = None, size: Any = PAGE_SIZE
) -> tuple[list[Posting], int | None]:
    """One page, newest first, and the cursor for the next (None at the end). The cursor is
    the last posting's id; the page after it starts just past that posting's place."""
    errors: dict[str, str] = {}
    cursor = None
    if after not in (None, ""):
        wanted = parse_id(after)
        if wanted is not None:
            cursor = (
                Posting.objects.filter(pk=wanted, client__isnull=False)
                .values_list("created_at", "id")
                .first()
            )
        if cursor is None:
            errors["after"] = "The cursor is the `next` value of the previous page."
    limit = parse_id(size)
    if limit is None or not 1 <= limit <= MAX_PAGE_SIZE:
        errors["limit"] = f"Between 1 and {MAX_PAGE_SIZE}."
        limit = PAGE_SIZE
    if errors:
        raise ValidationFailed(fields=errors)
    if cursor is not None:
        rows = _before(rows, *cursor)
    query = rows.select_related("entry", "client__user").order_by(*NEWEST_FIRST)
    chunk = list(query[: limit + 1])
    more = len(chunk) > limit
    chunk = chunk[:limit]
    named = entry_references.for_entries(p.entry_id for p in chunk)
    for posting in chunk:
        posting.reference = named.get(posting.entry_id, "")  # type: ignore[attr-defined]
    return chunk, (chunk[-1].pk if more and chunk else None)


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "posting",
    "entry",
    "reference",
    "at",
    "type",
    "client",
    "email",
    "amount",
    "currency",
    "memo",
]


def csv_lines(rows: QuerySet[Posting], *, chunk: int = 2000) -> Iterator[str]:
    """The filtered set as CSV lines, newest first, read by key in chunks of `chunk` rows: each
    chunk is one short indexed query, so the first line leaves at once and memory stays flat."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    fields = (
        "id",
        "entry_id",
        "created_at",
        "entry_type",
        "client__user__name",
        "client__user__email",
        "amount",
        "currency",
        "entry__memo",
    )
    ordered = rows.order_by(*NEWEST_FIRST)
    with _snapshot():
        yield from _csv_rows(writer, ordered, fields, chunk)


@contextmanager
def _snapshot() -> Iterator[None]:
    """On PostgreSQL, every chunk reads the same snapshot (REPEATABLE READ, read only), so a
    post that commits during the export is either wholly in the file or wholly out. SQLite's
    transactions here take the write lock, so there the chunks read the books as they stand
    (as they do inside a caller's transaction, where the snapshot is the caller's to choose)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _csv_rows(
    writer: Any, ordered: QuerySet[Posting], fields: tuple[str, ...], chunk: int
) -> Iterator[str]:
    batch = list(ordered.values_list(*fields)[:chunk])
    while batch:
        named = entry_references.for_entries(row[1] for row in batch)
        for posting, entry, at, kind, name, email, amount, currency, memo in batch:
            yield writer.writerow(
                [
                    posting,
                    entry,
                    named.get(entry, ""),
                    at.isoformat(),
                    kind,
                    spreadsheet_safe(name),
                    spreadsheet_safe(email),
                    quantize(amount, currency),
                    currency,
                    spreadsheet_safe(memo),
                ]
            )
        if len(batch) < chunk:
            return
        last = batch[-1]
        batch = list(_before(ordered, last[2], last[0]).values_list(*fields)[:chunk])


def csv_response(rows: QuerySet[Posting]) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="transactions-{stamp}.csv"'
    return response
