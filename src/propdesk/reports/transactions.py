"""Reports > Transactions: every posting to a client wallet, filtered, totalled, paged by key
(not by offset, so page 1,000 costs what page 1 does) and exported as a stream.

Amounts are told from the firm's side, on the page, in the CSV and over the API alike: money the
firm receives (a deposit, a fee) is positive, "In"; money it gives (a withdrawal, a refund, a
credit by adjustment) is negative, "Out". The wallet's own movement is the other way round for
fees and adjustments; `firm_side` turns one into the other. Each row has a status: completed,
pending (a withdrawal held, not yet paid out), rejected (a withdrawal refused: its release gives
the money back) or reversed (undone by a later reversal)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import StreamingHttpResponse
from django.utils import timezone

from propdesk.accounts.models import Client, User
from propdesk.challenges.models import Participation
from propdesk.core import references
from propdesk.core.errors import ValidationFailed
from propdesk.core.money import MINOR_UNITS, from_database_sum, from_minor, quantize
from propdesk.core.validation import parse_id, read_day, search_text, spreadsheet_safe
from propdesk.wallet import references as entry_references
from propdesk.wallet.models import DayTotal, JournalEntry, Posting, Withdrawal

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
STATUSES = {
    "completed": "Completed",
    "pending": "Pending",
    "rejected": "Rejected",
    "reversed": "Reversed",
}
_T = JournalEntry.Type
# +1: the wallet's movement is the firm's (money in with a deposit, out with a withdrawal);
# -1: the other way round (a fee taken from the wallet is money the firm receives, a credit by
# adjustment is money it gives). A reversal turns the sign of the entry it reverses.
FIRM_SIDE: dict[str, int] = {
    _T.DEPOSIT: 1,
    _T.WITHDRAWAL: 1,
    _T.WITHDRAWAL_HOLD: 1,
    _T.WITHDRAWAL_RELEASE: 1,
    _T.ADJUSTMENT: -1,
    _T.PROP_TRADING_FEE: -1,
    _T.PROP_RETRY_FEE: -1,
    _T.PROP_RESET_FEE: -1,
    _T.PROFIT_SHARE: -1,
}
CONVENTION = (
    "Amounts are from the firm's side: money the firm receives (deposits, fees) is positive, "
    "In; money it pays out (withdrawals, refunds, credits, profit shares) is negative, Out."
)


def firm_sign(entry_type: str, reversed_type: str | None = None) -> int:
    """+1 or -1: what turns a wallet posting of `entry_type` into the firm's side."""
    if entry_type == _T.REVERSAL:
        return FIRM_SIDE.get(reversed_type or "", 1)
    return FIRM_SIDE.get(entry_type, 1)


def firm_side(posting: Posting) -> Decimal:
    """The posting's amount from the firm's side (the page and the API; the entry and what it
    reverses come with the page's query)."""
    reverses = posting.entry.reverses
    sign = firm_sign(posting.entry_type, reverses.type if reverses else None)
    return quantize(posting.amount * sign, posting.currency)


def status_of(posting: Posting) -> str:
    """The row's status key, from the entry and the withdrawal it held (if any)."""
    entry = posting.entry
    held = getattr(entry, "withdrawal_hold", None)
    settled = getattr(entry, "withdrawal_settlement", None)
    return _status(
        getattr(entry, "reversed_by", None) is not None,
        held and held.status,
        settled is not None and _refused_release(posting.entry_type, settled.status),
    )


def _refused_release(entry_type: str, settled: str | None) -> bool:
    """A rejected withdrawal's release: the hold going back to the wallet, rejected with it."""
    return entry_type == _T.WITHDRAWAL_RELEASE and settled == Withdrawal.Status.REJECTED


def _status(reversed_: bool, held: str | None, refused_release: bool = False) -> str:
    """Reversed; else what became of the withdrawal held (pending, rejected), the release of a
    rejected one being rejected too; else completed."""
    if reversed_:
        return "reversed"
    if refused_release:
        return "rejected"
    unfinished: dict[str, str] = {
        Withdrawal.Status.PENDING: "pending",
        Withdrawal.Status.REJECTED: "rejected",
    }
    return unfinished.get(held or "", "completed")


EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)  # a day's start and end stay in range


@dataclass(frozen=True)
class Filters:
    type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    client: str = ""
    currency: str = ""
    status: str = ""
    client_id: int | None = None  # one client exactly (their page's "full history" link)
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
        errors["status"] = f"Status is one of: {', '.join(STATUSES)}."
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
    client_id = None
    raw_id = search_text(params.get("client_id"), max_length=20)
    if raw_id:
        client_id = parse_id(raw_id)
        if client_id is None:
            errors["client_id"] = "A client's number."
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
        client_id=client_id,
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
    if filters.client_id is not None:
        rows = rows.filter(client_id=filters.client_id)
    if filters.reference:
        rows = rows.filter(entry_id__in=entry_references.entries_with(filters.reference) or [])
    if filters.status:
        rows = _with_status(rows, filters.status)
    return rows


def _held_for(*statuses: str) -> Q:
    """Postings of a withdrawal's hold whose withdrawal is in one of `statuses`; for a rejected
    one, its release (the money back in the wallet) too, so the hold and the release show
    together under *rejected* and neither counts as completed."""
    held = Withdrawal.objects.filter(hold_entry=OuterRef("entry"), status__in=statuses)
    found = Q(entry_type=_T.WITHDRAWAL_HOLD) & Q(Exists(held))
    if Withdrawal.Status.REJECTED in statuses:
        refused = Withdrawal.objects.filter(
            settle_entry=OuterRef("entry"), status=Withdrawal.Status.REJECTED
        )
        found |= Q(entry_type=_T.WITHDRAWAL_RELEASE) & Q(Exists(refused))
    return found


UNFINISHED = (Withdrawal.Status.PENDING, Withdrawal.Status.REJECTED)


def _with_status(rows: QuerySet[Posting], status: str) -> QuerySet[Posting]:
    reversed_ = Exists(JournalEntry.objects.filter(reverses=OuterRef("entry")))
    if status == "reversed":
        return rows.filter(reversed_)
    rows = rows.exclude(reversed_)
    if status == "completed":
        return rows.exclude(_held_for(*UNFINISHED))
    return rows.filter(_held_for(status))


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
    """Count, money in, money out and net per currency for the whole filtered set, from the
    firm's side (`credits` is In, `debits` is Out, negative).

    Without a client filter they come from the day totals the ledger keeps (a few rows a day),
    with the few postings the day totals cannot place read directly: the reversals (whose sign
    is the reversed entry's) and, for a status, the withdrawals still held or rejected. A
    client's postings are few enough to sum directly (`rows`, when the caller has them)."""
    sums: dict[str, list[Any]] = {}

    def add(currency: str, n: int, cr: Decimal, dr: Decimal, sign: int, times: int = 1) -> None:
        money_in, money_out = (cr, dr) if sign > 0 else (-dr, -cr)
        found = sums.setdefault(currency, [0, Decimal(0), Decimal(0)])
        found[0] += times * n
        found[1] += times * money_in
        found[2] += times * money_out

    if (
        filters.client
        or filters.client_id is not None
        or filters.reference  # a reference names a few entries: summed directly
        or filters.status in UNFINISHED
    ):
        for summed in _summed(transactions(filters) if rows is None else rows):
            add(*summed)
    else:
        for summed in _day_totals(filters):
            add(*summed)
        if filters.type in ("", _T.REVERSAL):
            for summed in _summed(transactions(replace(filters, type=_T.REVERSAL))):
                add(*summed)
        if filters.status == "completed" and filters.type in (
            "",
            _T.WITHDRAWAL_HOLD,
            _T.WITHDRAWAL_RELEASE,
        ):
            for held in UNFINISHED:
                for summed in _summed(transactions(replace(filters, status=held))):
                    add(*summed, times=-1)
    result = []
    for currency in sorted(sums):
        n, money_in, money_out = sums[currency]
        if n <= 0:
            continue
        money_in, money_out = quantize(money_in, currency), quantize(money_out, currency)
        result.append(
            {
                "currency": currency,
                "count": int(n),
                "credits": money_in,
                "debits": money_out,
                "net": money_in + money_out,
            }
        )
    return result


_Summed = tuple[str, int, Decimal, Decimal, int]


def _summed(rows: QuerySet[Posting]) -> Iterator[_Summed]:
    """The postings' count, credits and debits (the wallet's side) by currency and by the sign
    that turns them to the firm's side. Only the reversals (few) join their entries, to learn
    what they reverse; the rest is summed from the postings alone."""
    sums = {
        "n": Count("id"),
        "cr": Sum("amount", filter=Q(amount__gt=0)),
        "dr": Sum("amount", filter=Q(amount__lt=0)),
    }
    plain = rows.exclude(entry_type=_T.REVERSAL).values("currency", "entry_type")
    undone = rows.filter(entry_type=_T.REVERSAL).values("currency", "entry__reverses__type")
    for row in [*plain.annotate(**sums).order_by(), *undone.annotate(**sums).order_by()]:
        currency = row["currency"]
        yield (
            currency,
            int(row["n"]),
            from_database_sum(row["cr"], currency),
            from_database_sum(row["dr"], currency),
            firm_sign(row.get("entry_type", _T.REVERSAL), row.get("entry__reverses__type")),
        )


def _day_totals(filters: Filters) -> Iterator[_Summed]:
    """The day totals of every type but the reversal, for `filters` without a client."""
    if filters.type == _T.REVERSAL:
        return
    days = DayTotal.objects.exclude(entry_type=_T.REVERSAL)
    if filters.type:
        days = days.filter(entry_type=filters.type)
    if filters.currency:
        days = days.filter(currency=filters.currency)
    if filters.date_from:
        days = days.filter(day__gte=filters.date_from)
    if filters.date_to:
        days = days.filter(day__lte=filters.date_to)
    reversed_part = (F("reversed_count"), F("reversed_credits_minor"), F("reversed_debits_minor"))
    parts = {
        "": (F("count"), F("credits_minor"), F("debits_minor")),
        "reversed": reversed_part,
        "completed": (
            F("count") - reversed_part[0],
            F("credits_minor") - reversed_part[1],
            F("debits_minor") - reversed_part[2],
        ),
    }[filters.status]
    found = (
        days.values("currency", "entry_type")
        .annotate(n=Sum(parts[0]), cr=Sum(parts[1]), dr=Sum(parts[2]))
        .filter(n__gt=0)
        .order_by()
    )
    for row in found:
        currency = row["currency"]
        yield (
            currency,
            int(row["n"]),
            from_minor(row["cr"] or 0, currency),
            from_minor(row["dr"] or 0, currency),
            firm_sign(row["entry_type"]),
        )


NEWEST_FIRST = ("-created_at", "-id")
# What a row shows beside the posting: its entry, what that reverses or was reversed by, the
# withdrawal it held (one-to-one each, so one query still reads the page).
SHOWN_WITH = (
    "entry__reverses",
    "entry__reversed_by",
    "entry__withdrawal_hold",
    "entry__withdrawal_settlement",
    "client__user",
)


@dataclass(frozen=True)
class Row:
    """A posting as the page shows it: the firm's side of its amount, and its status."""

    posting: Posting
    amount: Decimal
    status: str

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]


def shown(items: list[Posting]) -> list[Row]:
    return [Row(p, firm_side(p), status_of(p)) for p in items]


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
    query = rows.select_related(*SHOWN_WITH).order_by(*NEWEST_FIRST)
    chunk = list(query[: limit + 1])
    more = len(chunk) > limit
    chunk = chunk[:limit]
    named = entry_references.for_entries(p.entry_id for p in chunk)
    off = fee_discounts(
        p.entry_id for p in chunk if p.entry_type == JournalEntry.Type.PROP_TRADING_FEE
    )
    for posting in chunk:
        posting.reference = named.get(posting.entry_id, "")  # type: ignore[attr-defined]
        discount, price = off.get(posting.entry_id, (None, None))
        posting.discount, posting.price = discount, price  # type: ignore[attr-defined]
    return chunk, (chunk[-1].pk if more and chunk else None)


def fee_discounts(entry_ids: Iterator[int] | list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """What coupons took off the challenge fees paid by these entries (growth.coupons), and the
    price before it: the fee entry records the net; its participation keeps the discount."""
    wanted = list(entry_ids)
    if not wanted:
        return {}
    found = Participation.objects.filter(fee_entry_id__in=wanted, discount__gt=0)
    return {
        entry: (discount, fee + discount)
        for entry, discount, fee in found.values_list("fee_entry_id", "discount", "fee")
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "posting",
    "entry",
    "reference",
    "at",
    "type",
    "status",
    "client",
    "email",
    "amount",
    "currency",
    "discount",
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
        "entry__reverses__type",
        "entry__reversed_by__id",
        "entry__withdrawal_hold__status",
        "entry__withdrawal_settlement__status",
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
        fee_type = JournalEntry.Type.PROP_TRADING_FEE
        off = fee_discounts([row[1] for row in batch if row[3] == fee_type])
        for row in batch:
            posting, entry, at, kind, name, email, amount, currency, memo = row[:9]
            reverses, reversed_by, held, settled = row[9:]
            status = _status(reversed_by is not None, held, _refused_release(kind, settled))
            yield writer.writerow(
                [
                    posting,
                    entry,
                    named.get(entry, ""),
                    at.isoformat(),
                    kind,
                    status,
                    spreadsheet_safe(name),
                    spreadsheet_safe(email),
                    quantize(amount * firm_sign(kind, reverses), currency),
                    currency,
                    off[entry][0] if entry in off else "",
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
