"""Wallet use cases. (Deposits, withdrawals and payment methods come with their own modules.)"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_noop

from propdesk.accounts.models import Client, User
from propdesk.core import audit, idempotency
from propdesk.core.audit import AuditAction
from propdesk.core.errors import NotFound
from propdesk.core.idempotency import owned_key
from propdesk.core.money import is_currency, parse_amount
from propdesk.core.permissions import require_permission
from propdesk.core.templatetags.money import money
from propdesk.core.validation import FieldErrors, clean_text
from propdesk.wallet import ledger, references
from propdesk.wallet.models import JournalEntry
from propdesk.wallet.permissions import WALLET_ADJUST

MAX_KEY = 200


def clean_idempotency_key(actor: User, key: Any) -> str | None:
    """Keys are the caller's own: two callers may pick the same key without colliding."""
    return owned_key(f"user:{actor.pk}", key)


def adjust(
    client_id: int,
    *,
    direction: Any,
    amount: Any,
    currency: Any,
    comment: Any,
    actor: User,
    idempotency_key: Any = None,
    client_note: Any = "",
) -> JournalEntry:
    """A Finance credit or debit of a client's wallet, with the reason, audited. The reason
    (`comment`) is internal; the client reads `client_note`, or that the firm adjusted it.

    A retry with the same Idempotency-Key returns the first entry and moves nothing.
    """
    require_permission(actor, WALLET_ADJUST)
    errors = FieldErrors()
    if direction not in ("credit", "debit"):
        errors.add("direction", "Choose credit or debit.")
    if not is_currency(currency):
        errors.add("currency", "Unknown currency.")
    value = parse_amount(errors, "amount", amount, currency) if is_currency(currency) else None
    text = clean_text(errors, "comment", comment, label="Comment", max_length=500)
    note = clean_text(
        errors, "client_note", client_note, label="The note", max_length=200, required=False
    )
    key = clean_idempotency_key(actor, idempotency_key)
    errors.raise_if_any()
    assert value is not None
    client = Client.objects.select_related("user").filter(pk=client_id).first()
    if client is None:
        raise NotFound("No such client.")
    request_fingerprint = idempotency.fingerprint(
        "adjustment", client.pk, direction, str(value), currency, note
    )
    with transaction.atomic():
        # A retry sent while the first is still running waits here, then finds its entry.
        Client.objects.select_for_update().filter(pk=client.pk).first()
        earlier = idempotency.replay(key, request_fingerprint, JournalEntry)
        if earlier is not None:
            return earlier
        signed = value if direction == "credit" else -value
        wallet = ledger.wallet(client, currency)
        firm = ledger.firm_account("adjustments", currency, "Staff adjustments")
        entry = ledger.post(
            JournalEntry.Type.ADJUSTMENT,
            [ledger.Line(wallet, signed), ledger.Line(firm, -signed)],
            memo=text,
            client_memo=note,
            client=client,
            actor=actor,
            idempotency_key=key,
            request_fingerprint=request_fingerprint,
        )
        audit.record(
            actor=actor,
            action=AuditAction.WALLET_ADJUST,
            object_type="client",
            object_id=client.pk,
            summary=f"{direction.title()} {money(value, currency)} {currency} to "
            f"{client.user.email}: {text}",
            after={"entry": entry.pk, "amount": str(signed), "currency": currency},
        )
    return entry


ADJUSTED_BY_THE_FIRM = gettext_noop("Adjustment by the firm")  # read in the reader's language


def client_memo(entry: JournalEntry) -> str:
    """What the client reads of an entry: the words propdesk wrote for it, never a staff
    member's internal reason (an adjustment shows its note to the client, if any)."""
    if entry.client_memo:
        return entry.client_memo
    if entry.type == JournalEntry.Type.ADJUSTMENT:
        return gettext(ADJUSTED_BY_THE_FIRM)
    return entry.memo


def wallet_lines(
    client: Client, *, limit: int = 100, for_staff: bool = False
) -> list[dict[str, Any]]:
    """The client's wallet movements, newest first: as the client reads them, or with the
    staff's own memos (`for_staff`)."""
    return lines_of(client, list(postings(client)[:limit]), for_staff=for_staff)


def postings(client: Client) -> QuerySet[ledger.Posting]:
    """The client's wallet postings, newest first (to page through)."""
    return (
        ledger.Posting.objects.filter(client=client)
        .select_related("entry")
        .order_by("-created_at", "-id")
    )


def lines_of(
    client: Client, rows: list[ledger.Posting], *, for_staff: bool = False
) -> list[dict[str, Any]]:
    """Wallet lines for these postings of the client's (see `wallet_lines`)."""
    named = references.for_entries(p.entry_id for p in rows)
    return [
        {
            "entry": p.entry_id,
            "reference": named.get(p.entry_id, ""),
            "type": p.entry_type,
            "type_label": p.get_entry_type_display(),
            "amount": ledger.quantize(p.amount, p.currency),
            "currency": p.currency,
            "memo": p.entry.memo if for_staff else client_memo(p.entry),
            "at": p.created_at,
        }
        for p in rows
    ]
