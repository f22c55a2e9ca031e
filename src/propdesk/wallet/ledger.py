"""Posting to the ledger. Every movement is one balanced entry; balances move with it, locked.

Callers hold a transaction (`post` refuses to run outside one): the entry, its postings, the
balances, the audit record and any job commit together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from propdesk.accounts.models import Client, User
from propdesk.core.errors import Conflict
from propdesk.core.money import MINOR_UNITS, from_database_sum, quantize, to_minor
from propdesk.core.templatetags.money import money

__all__ = ["Line", "Posting", "check", "post", "quantize", "reverse", "wallet"]
from propdesk.wallet.models import DayTotal, JournalEntry, LedgerAccount, PaymentMethod, Posting


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    default_message = gettext_lazy("The wallet does not hold enough for this.")


@dataclass(frozen=True)
class Line:
    account: LedgerAccount
    amount: Decimal


def wallet(client: Client, currency: str) -> LedgerAccount:
    """The client's wallet in `currency`, opened on first use."""
    return _account(
        f"client:{client.pk}:wallet:{currency}",
        kind=LedgerAccount.Kind.CLIENT_WALLET,
        name=f"Wallet of {client.user.email}",
        currency=currency,
        client=client,
    )


def firm_account(purpose: str, currency: str, name: str) -> LedgerAccount:
    """One of the firm's accounts, e.g. ("adjustments", "USD")."""
    return _account(
        f"firm:{purpose}:{currency}",
        kind=LedgerAccount.Kind.FIRM,
        name=name,
        currency=currency,
        client=None,
    )


def cash_account(method: PaymentMethod, currency: str) -> LedgerAccount:
    """The firm's cash held at a payment method (where deposits arrive, payouts leave)."""
    return firm_account(f"cash:{method.pk}", currency, f"Cash at {method.name}")


def _account(
    code: str, *, kind: str, name: str, currency: str, client: Client | None
) -> LedgerAccount:
    if currency not in MINOR_UNITS:
        raise ValueError(f"unknown currency {currency!r}")
    found = LedgerAccount.objects.filter(code=code).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(
                code=code, kind=kind, name=name, currency=currency, client=client
            )
    except IntegrityError:  # opened at the same moment by another request
        return LedgerAccount.objects.get(code=code)


def post(
    entry_type: str,
    lines: Sequence[Line],
    *,
    memo: str = "",
    client_memo: str = "",
    client: Client | None = None,
    actor: User | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str = "",
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Write one balanced entry and move the balances; a wallet may never go below zero."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger postings are made inside the business transaction")
    if len(lines) < 2:
        raise ValueError("an entry has at least two postings")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.amount == 0:
            raise ValueError("a posting moves a non-zero amount")
        quantize(line.amount, line.account.currency)
        totals[line.account.currency] += line.amount
    if any(total != 0 for total in totals.values()):
        raise ValueError(f"unbalanced entry: {dict(totals)}")

    # Lock every account of the entry, always in the same order, so two entries touching the
    # same accounts queue up instead of deadlocking.
    ids = sorted({line.account.pk for line in lines})
    locked = {a.pk: a for a in LedgerAccount.objects.select_for_update().filter(pk__in=ids)}
    moves: dict[int, Decimal] = defaultdict(Decimal)
    for line in lines:
        moves[line.account.pk] += line.amount
    for account_id, move in moves.items():
        account = locked[account_id]
        if account.kind == LedgerAccount.Kind.CLIENT_WALLET and account.balance + move < 0:
            raise InsufficientFunds(
                f"The wallet holds {money(account.balance, account.currency)} "
                f"{account.currency}; this needs {money(-move, account.currency)} "
                f"{account.currency}."
            )
    entry = JournalEntry.objects.create(
        type=entry_type,
        memo=memo[:500],
        client_memo=client_memo[:200],
        client=client,
        created_by=actor,
        idempotency_key=idempotency_key or None,
        fingerprint=request_fingerprint,
        reverses=reverses,
    )
    postings = Posting.objects.bulk_create(
        Posting(
            entry=entry,
            account_id=line.account.pk,
            amount=line.amount,
            currency=line.account.currency,
            created_at=entry.created_at,
            entry_type=entry.type,
            client_id=_owner(locked[line.account.pk]),
        )
        for line in lines
    )
    for account_id, move in moves.items():
        LedgerAccount.objects.filter(pk=account_id).update(balance=F("balance") + move)
    _count_in_day_totals(entry, postings)
    return entry


def _owner(account: LedgerAccount) -> int | None:
    return account.client_id if account.kind == LedgerAccount.Kind.CLIENT_WALLET else None


def local_day(moment: datetime) -> date:
    """The day a moment belongs to in the firm's time zone (the report's days)."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


_DAY_TOTAL_COLUMNS = (
    "count",
    "credits_minor",
    "debits_minor",
    "reversed_count",
    "reversed_credits_minor",
    "reversed_debits_minor",
)
_DayKey = tuple[date, str, str]  # day, entry type, currency
_DaySums = list[int]  # in the order of _DAY_TOTAL_COLUMNS


def _new_sums() -> _DaySums:
    return [0] * len(_DAY_TOTAL_COLUMNS)


def _add(sums: _DaySums, count: int, minor: int, *, reversed_part: bool) -> None:
    offset = 3 if reversed_part else 0
    sums[offset] += count
    sums[offset + (1 if minor > 0 else 2)] += minor


def _count_in_day_totals(entry: JournalEntry, postings: Sequence[Posting]) -> None:
    """Add the entry's wallet postings to their day's totals, and, for a reversal, mark the
    reversed entry's part as reversed.

    The rows are taken in key order after the entry's accounts. Each (day, type, currency) row
    is one lock every post of its kind waits on until commit: fine at a firm's pace, and the
    lock order is the same for every single post; a transaction that posts several entries
    can deadlock with another doing the same in the opposite order (PostgreSQL then aborts
    one of them, which is retried), as it already could on the accounts."""
    sums: dict[_DayKey, _DaySums] = defaultdict(_new_sums)
    for posting in postings:
        if posting.client_id is not None:
            key = (local_day(entry.created_at), entry.type, posting.currency)
            _add(sums[key], 1, to_minor(posting.amount, posting.currency), reversed_part=False)
    if entry.reverses is not None:
        original = entry.reverses
        day = local_day(original.created_at)
        for posting in original.postings.filter(client__isnull=False):
            key = (day, original.type, posting.currency)
            _add(sums[key], 1, to_minor(posting.amount, posting.currency), reversed_part=True)
    if not sums:
        return
    table = DayTotal._meta.db_table
    columns = ", ".join(_DAY_TOTAL_COLUMNS)
    increments = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _DAY_TOTAL_COLUMNS)
    # Only this module's names go into the text; every value is a parameter.
    statement = (
        f"INSERT INTO {table} (day, entry_type, currency, {columns}) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (day, entry_type, currency) DO UPDATE SET {increments}"
    )
    with connection.cursor() as cursor:
        for (day, kind, currency), row in sorted(sums.items()):
            where = [connection.ops.adapt_datefield_value(day), kind, currency]
            cursor.execute(statement, [*where, *row])


def day_totals_from_postings() -> dict[_DayKey, _DaySums]:
    """What DayTotal must hold, summed from the postings themselves."""
    reversed_ = Exists(JournalEntry.objects.filter(reverses=OuterRef("entry")))
    rows = (
        Posting.objects.filter(client__isnull=False)
        .annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()),
            was_reversed=reversed_,
        )
        .values("day", "entry_type", "currency", "was_reversed")
        .annotate(
            n=Count("id"),
            credits=Sum("amount", filter=Q(amount__gt=0)),
            debits=Sum("amount", filter=Q(amount__lt=0)),
        )
        .order_by()
    )
    sums: dict[_DayKey, _DaySums] = defaultdict(_new_sums)
    for row in rows:
        found = sums[(row["day"], row["entry_type"], row["currency"])]
        currency = row["currency"]
        credits = to_minor(from_database_sum(row["credits"], currency), currency)
        debits = to_minor(from_database_sum(row["debits"], currency), currency)
        for reversed_part in (False, True) if row["was_reversed"] else (False,):
            offset = 3 if reversed_part else 0
            found[offset] += row["n"]
            found[offset + 1] += credits
            found[offset + 2] += debits
    return sums


def rebuild_day_totals() -> int:
    """Sum DayTotal afresh from the postings (after a change of time zone); returns the rows."""
    with transaction.atomic():
        if connection.vendor == "postgresql":  # posts wait; what they add lands on top
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {DayTotal._meta.db_table} IN EXCLUSIVE MODE")
        DayTotal.objects.all().delete()
        made = DayTotal.objects.bulk_create(
            DayTotal(
                day=day,
                entry_type=kind,
                currency=currency,
                **dict(zip(_DAY_TOTAL_COLUMNS, row, strict=True)),
            )
            for (day, kind, currency), row in day_totals_from_postings().items()
        )
    return len(made)


def _day_total_problems() -> list[str]:
    expected = {key: row for key, row in day_totals_from_postings().items() if any(row)}
    kept = {
        (t.day, t.entry_type, t.currency): [getattr(t, c) for c in _DAY_TOTAL_COLUMNS]
        for t in DayTotal.objects.all().iterator()
    }
    kept = {key: row for key, row in kept.items() if any(row)}
    problems = []
    for key in sorted(expected.keys() | kept.keys()):
        if expected.get(key) != kept.get(key):
            day, kind, currency = key
            problems.append(
                f"day totals {day} {kind} {currency}: kept {kept.get(key)} but the postings"
                f" give {expected.get(key)} (count, credits, debits and their reversed part,"
                " in minor units; after a change of PROPDESK_TIME_ZONE, run"
                " `propdesk ledger rebuild-totals`)"
            )
    return problems


def _exact_sums() -> tuple[dict[int, Decimal], dict[tuple[int, str], Decimal]]:
    """The postings' sums per account and per entry and currency, exact to the column's last
    decimal: a drift of a fraction of a cent is named, never rounded away. PostgreSQL adds
    decimals exactly; SQLite (the demo database) adds them as binary floats (49.90 + 14.97 -
    49.90 - 14.97 is not 0 there), so on SQLite the postings are added here, as Decimals."""
    if connection.vendor == "postgresql":
        accounts = {
            row["account"]: row["total"]
            for row in Posting.objects.values("account").annotate(total=Sum("amount")).order_by()
        }
        entries = {
            (row["entry"], row["currency"]): row["total"]
            for row in Posting.objects.values("entry", "currency")
            .annotate(total=Sum("amount"))
            .exclude(total=0)
            .order_by()
        }
        return accounts, entries
    by_account: dict[int, Decimal] = defaultdict(Decimal)
    by_entry: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    rows = Posting.objects.values_list("account_id", "entry_id", "currency", "amount")
    for account_id, entry_id, currency, amount in rows.order_by().iterator(chunk_size=5000):
        by_account[account_id] += amount
        by_entry[(entry_id, currency)] += amount
    return by_account, by_entry


def reverse(entry: JournalEntry, *, actor: User | None, memo: str = "") -> JournalEntry:
    """Undo an entry with its mirror image; the original stays as it was."""
    lines = [Line(p.account, -p.amount) for p in entry.postings.select_related("account")]
    return post(
        JournalEntry.Type.REVERSAL,
        lines,
        memo=memo or f"Reversal of entry #{entry.pk}",
        client=entry.client,
        actor=actor,
        reverses=entry,
    )


def balances(client: Client) -> dict[str, Decimal]:
    """The client's wallet balances by currency, one indexed read."""
    rows = LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.CLIENT_WALLET)
    return {a.currency: quantize(a.balance, a.currency) for a in rows.order_by("currency")}


def check() -> list[str]:
    """Every way the books could be wrong, named; an empty list when they are right."""
    problems: list[str] = []
    by_account, by_entry = _exact_sums()
    for account in LedgerAccount.objects.all().iterator():
        total = by_account.get(account.pk, Decimal(0))
        if total != account.balance:
            problems.append(
                f"account {account.code}: balance {account.balance} but postings sum to {total}"
            )
        if account.kind == LedgerAccount.Kind.CLIENT_WALLET and account.balance < 0:
            problems.append(f"account {account.code}: wallet below zero ({account.balance})")
    for (entry_id, currency), total in sorted(by_entry.items()):
        if total != 0:
            problems.append(f"entry #{entry_id}: {currency} postings sum to {total}, not 0")
    mismatched = Posting.objects.exclude(currency=F("account__currency")).values_list(
        "id", flat=True
    )
    for posting_id in mismatched:
        problems.append(f"posting #{posting_id}: currency differs from its account's")
    lonely = JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2)
    for entry in lonely.values_list("id", flat=True):
        problems.append(f"entry #{entry}: fewer than two postings")
    copied = (
        Posting.objects.exclude(created_at=F("entry__created_at"))
        | Posting.objects.exclude(entry_type=F("entry__type"))
        | Posting.objects.filter(account__kind=LedgerAccount.Kind.CLIENT_WALLET).exclude(
            client=F("account__client")
        )
        | Posting.objects.filter(account__kind=LedgerAccount.Kind.FIRM, client__isnull=False)
    )
    for posting_id in copied.values_list("id", flat=True).order_by("id"):
        problems.append(
            f"posting #{posting_id}: its time, type or client differs from its entry's or account's"
        )
    problems.extend(_day_total_problems())
    return problems
