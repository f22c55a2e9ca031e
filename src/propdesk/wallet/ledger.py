"""Posting to the ledger. Every movement is one balanced entry; balances move with it, locked.

Callers hold a transaction (`post` refuses to run outside one): the entry, its postings, the
balances, the audit record and any job commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Sum

from propdesk.accounts.models import Client, User
from propdesk.core.errors import Conflict
from propdesk.core.money import MINOR_UNITS, quantize

__all__ = ["Line", "Posting", "check", "post", "quantize", "reverse", "wallet"]
from propdesk.wallet.models import JournalEntry, LedgerAccount, Posting


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    default_message = "The wallet does not hold enough for this."


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used for a different request."


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


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


Keyed = TypeVar("Keyed", bound=models.Model)


def replay(
    idempotency_key: str | None, request_fingerprint: str, model: type[Keyed]
) -> Keyed | None:
    """What was already made under this key (an entry, a deposit...), if anything; a different
    request under the same key is refused."""
    if not idempotency_key:
        return None
    earlier = model._default_manager.filter(idempotency_key=idempotency_key).first()
    if earlier is not None and getattr(earlier, "fingerprint", None) != request_fingerprint:
        raise IdempotencyConflict()
    return earlier


def post(
    entry_type: str,
    lines: Sequence[Line],
    *,
    memo: str = "",
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
                f"The wallet holds {account.balance.normalize():f} {account.currency}; "
                f"this needs {(-move).normalize():f}."
            )
    entry = JournalEntry.objects.create(
        type=entry_type,
        memo=memo[:500],
        client=client,
        created_by=actor,
        idempotency_key=idempotency_key or None,
        fingerprint=request_fingerprint,
        reverses=reverses,
    )
    Posting.objects.bulk_create(
        Posting(
            entry=entry,
            account_id=line.account.pk,
            amount=line.amount,
            currency=line.account.currency,
        )
        for line in lines
    )
    for account_id, move in moves.items():
        LedgerAccount.objects.filter(pk=account_id).update(balance=F("balance") + move)
    return entry


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
    sums = {
        row["account"]: row["total"]
        for row in Posting.objects.values("account").annotate(total=Sum("amount")).order_by()
    }
    for account in LedgerAccount.objects.all().iterator():
        total = sums.get(account.pk, Decimal(0))
        if total != account.balance:
            problems.append(
                f"account {account.code}: balance {account.balance} but postings sum to {total}"
            )
        if account.kind == LedgerAccount.Kind.CLIENT_WALLET and account.balance < 0:
            problems.append(f"account {account.code}: wallet below zero ({account.balance})")
    unbalanced = (
        Posting.objects.values("entry", "currency")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .order_by("entry")
    )
    for row in unbalanced:
        problems.append(
            f"entry #{row['entry']}: {row['currency']} postings sum to {row['total']}, not 0"
        )
    mismatched = Posting.objects.exclude(currency=F("account__currency")).values_list(
        "id", flat=True
    )
    for posting_id in mismatched:
        problems.append(f"posting #{posting_id}: currency differs from its account's")
    lonely = JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2)
    for entry in lonely.values_list("id", flat=True):
        problems.append(f"entry #{entry}: fewer than two postings")
    return problems
