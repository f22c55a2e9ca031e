"""Withdrawals: the amount is held at once (wallet → pending withdrawals); a person pays it
out or releases it. Only manual approval is allowed for this type."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import formats, translation
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core import idempotency
from propdesk.core.errors import Conflict, ValidationFailed
from propdesk.core.status import move_status
from propdesk.core.templatetags.money import money
from propdesk.core.validation import FieldErrors
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import destinations, ledger
from propdesk.wallet.deposits import clean_money_request, enabled_methods, find_method
from propdesk.wallet.models import JournalEntry, LedgerAccount, PaymentMethod, Withdrawal

WITHDRAWAL = "withdrawal"


def _pending_account(currency: str) -> LedgerAccount:
    return ledger.firm_account("pending_withdrawals", currency, "Withdrawals awaiting payout")


def payout_methods(client: Client | None = None) -> QuerySet[PaymentMethod]:
    """The enabled methods (offered to `client`) that pay out withdrawals (to a bank account
    or a crypto wallet)."""
    return enabled_methods(client).exclude(payout_to=PaymentMethod.PayoutTo.NONE)


def _clean_request(
    method: Any, amount: Any, currency: Any, destination: Any, client: Client | None = None
) -> tuple[PaymentMethod, Decimal, destinations.Destination]:
    """The method, the amount and where to pay, every fault named together (a method not
    offered to `client`'s group is not found)."""
    errors = FieldErrors()
    found = find_method(method, client)
    where = None
    if found is not None and not found.payout_to:
        paying = ", ".join(m.name for m in payout_methods(client)) or "none yet"
        errors.add("method", f"{found.name} does not pay out withdrawals; choose one of: {paying}.")
    elif found is not None:
        where = destinations.clean(errors, found, destination, currency=currency)
    try:
        chosen, value = clean_money_request(
            method, amount, currency, what="withdrawal", client=client
        )
    except ValidationFailed as exc:
        for field, message in errors.errors.items():
            exc.fields.setdefault(field, message)
        raise
    errors.raise_if_any(gettext("Please correct the withdrawal."))
    assert where is not None
    return chosen, value, where


def request_withdrawal(
    client: Client,
    *,
    method: Any,
    amount: Any,
    currency: Any,
    destination: Any = None,
    idempotency_key: str | None = None,
) -> Withdrawal:
    """Hold the amount and open the request to pay it to `destination` (the fields the
    method's `payout_to` asks for, see destinations.py; kept as given, never changed); more
    than the wallet holds is refused."""
    key = idempotency.owned_key(f"client:{client.pk}:withdrawal", idempotency_key)
    kyc.require_kyc(client, kyc_actions.WITHDRAW)
    chosen, value, where = _clean_request(method, amount, currency, destination, client)
    fingerprint = idempotency.fingerprint(
        "withdrawal", chosen.pk, str(value), currency, where.as_json()
    )
    with transaction.atomic():
        # A retry sent while the first is still running waits here, then finds its withdrawal.
        Client.objects.select_for_update().filter(pk=client.pk).first()
        earlier = idempotency.replay(key, fingerprint, Withdrawal)
        if earlier is not None:
            return earlier
        pending = Withdrawal.objects.filter(client=client, status=Withdrawal.Status.PENDING)
        if pending.count() >= settings.MAX_PENDING_WITHDRAWALS:
            # Each opens a request in Finance's queue: a few at a time per client.
            raise Conflict(
                f"You already have {pending.count()} withdrawals waiting; wait until they are "
                "paid out or rejected.",
                code="too_many_pending",
            )
        wallet = ledger.wallet(client, currency)
        hold = ledger.post(
            JournalEntry.Type.WITHDRAWAL_HOLD,
            [ledger.Line(wallet, -value), ledger.Line(_pending_account(currency), value)],
            memo=f"Held for a withdrawal by {chosen.name}",
            client=client,
        )
        withdrawal = Withdrawal.objects.create(
            client=client,
            method=chosen,
            amount=value,
            currency=currency,
            hold_entry=hold,
            destination=where.as_json(),
            idempotency_key=key,
            fingerprint=fingerprint,
        )
        approvals.submit(
            WITHDRAWAL,
            client=client,
            payload={"withdrawal_id": withdrawal.pk},
            amount=value,
            currency=currency,
            manual_only=True,
        )
    return withdrawal


def pay_out(request: ApprovalRequest, actor: User | None) -> None:
    """Pay out exactly the approved amount (the reviewer may have lowered it); whatever was
    held beyond it goes back to the wallet in an entry of its own."""
    withdrawal = (
        Withdrawal.objects.select_for_update()
        .select_related("method")
        .get(pk=request.payload["withdrawal_id"])
    )
    move_status(withdrawal, Withdrawal.Status.APPROVED, Withdrawal.TRANSITIONS, what="withdrawal")
    paid = withdrawal.amount if request.amount is None else request.amount
    if not 0 < paid <= withdrawal.amount:  # the engine refuses such amendments: never pay them
        raise Conflict(
            f"Withdrawal {withdrawal.reference} cannot pay out {_shown(paid, withdrawal)}."
        )
    pending = _pending_account(withdrawal.currency)
    cash = ledger.cash_account(withdrawal.method, withdrawal.currency)
    withdrawal.settle_entry = ledger.post(
        JournalEntry.Type.WITHDRAWAL,
        [ledger.Line(pending, -paid), ledger.Line(cash, paid)],
        memo=f"Withdrawal {withdrawal.reference} paid by {withdrawal.method.name} to "
        f"{_to(withdrawal)}",
        client=withdrawal.client,
        actor=actor,
    )
    withdrawal.paid_amount = paid
    rest = withdrawal.amount - paid
    if rest:
        withdrawal.release_entry = ledger.post(
            JournalEntry.Type.WITHDRAWAL_RELEASE,
            [
                ledger.Line(pending, -rest),
                ledger.Line(ledger.wallet(withdrawal.client, withdrawal.currency), rest),
            ],
            memo=f"Withdrawal {withdrawal.reference}: {money(rest, withdrawal.currency)} "
            f"{withdrawal.currency} of the {money(withdrawal.amount, withdrawal.currency)} held "
            "not paid out, back in the wallet",
            client=withdrawal.client,
            actor=actor,
        )
    withdrawal.save(update_fields=["status", "settle_entry", "paid_amount", "release_entry"])


def release(request: ApprovalRequest, actor: User | None) -> None:
    withdrawal = Withdrawal.objects.select_for_update().get(pk=request.payload["withdrawal_id"])
    move_status(withdrawal, Withdrawal.Status.REJECTED, Withdrawal.TRANSITIONS, what="withdrawal")
    wallet = ledger.wallet(withdrawal.client, withdrawal.currency)
    withdrawal.settle_entry = ledger.post(
        JournalEntry.Type.WITHDRAWAL_RELEASE,
        [
            ledger.Line(_pending_account(withdrawal.currency), -withdrawal.amount),
            ledger.Line(wallet, withdrawal.amount),
        ],
        memo=f"Withdrawal {withdrawal.reference} rejected: the amount is back in the wallet",
        client=withdrawal.client,
        actor=actor,
    )
    withdrawal.save(update_fields=["status", "settle_entry"])


def held(request: ApprovalRequest) -> Decimal:
    """The most a withdrawal request may pay out: what was held for it."""
    amount: Decimal = Withdrawal.objects.get(pk=request.payload["withdrawal_id"]).amount
    return amount


def details(request: ApprovalRequest) -> list[tuple[str, str]]:
    """What the reviewer pays: the amount, and the destination in full (the type's details are
    private: only those who may review withdrawals see them)."""
    withdrawal = Withdrawal.objects.select_related("method", "client__user").get(
        pk=request.payload["withdrawal_id"]
    )
    rows = [
        ("Method", withdrawal.method.name),
        ("Requested", f"{_shown(withdrawal.amount, withdrawal)} (held from the wallet)"),
    ]
    if withdrawal.paid_amount is not None:
        rows.append(("Paid out", _shown(withdrawal.paid_amount, withdrawal)))
    where = withdrawal.paid_to
    if where is None:
        rows.append(("Pay to", str(destinations.NOT_RECORDED)))
        if withdrawal.status == Withdrawal.Status.PENDING:
            rows.append(("Check", "Confirm with the client where to pay before paying out."))
        return rows
    rows += where.lines()
    name = withdrawal.client.user.name
    if isinstance(where, destinations.BankAccount) and not destinations.same_person(
        where.account_holder, name
    ):
        rows.append(
            (
                "Check",
                f"The account holder is not named as the client ({name}): make sure the "
                "account is theirs before paying out.",
            )
        )
    return rows


def _returned(rest: Decimal, currency: str) -> str:
    return gettext("The other %(amount)s %(currency)s is back in your wallet.") % {
        "amount": formats.number_format(rest, use_l10n=True, force_grouping=True),
        "currency": currency,
    }


def event_data(request: ApprovalRequest) -> dict[str, object]:
    """A decided withdrawal's event names what was paid out and where, masked (a notice may
    travel by email), and what of the hold went back to the wallet (a reviewer may pay out
    less than asked), in the client's language."""
    withdrawal = Withdrawal.objects.get(pk=request.payload["withdrawal_id"])
    paid = withdrawal.paid_amount if withdrawal.paid_amount is not None else withdrawal.amount
    rest = withdrawal.amount - paid
    return {
        "amount": paid,
        "currency": withdrawal.currency,
        "paid_to": (
            lazy(_masked, str)(withdrawal.paid_to)  # "Account" in the reader's language
            if withdrawal.paid_to is not None
            else gettext_lazy("the destination you gave")
        ),
        "returned": lazy(_returned, str)(rest, withdrawal.currency) if rest > 0 else "",
    }


def _masked(where: destinations.Destination) -> str:
    return where.masked


def _shown(amount: Decimal, withdrawal: Withdrawal) -> str:
    return f"{money(amount, withdrawal.currency)} {withdrawal.currency}"


def _to(withdrawal: Withdrawal) -> str:
    """Where it went, for the ledger's memo: in English, as memos are kept."""
    where = withdrawal.paid_to
    with translation.override("en"):
        return where.masked if where is not None else "a destination not recorded"


def client_withdrawals(client: Client) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(client=client).select_related("method")


def last_destinations(client: Client, *, looked_at: int = 50) -> dict[int, dict[str, str]]:
    """The destination the client last asked each method to pay to (among their latest
    withdrawals), for the form to offer again; only where the method still pays there (the
    same kind, and for crypto a network it still offers)."""
    found: dict[int, dict[str, str]] = {}
    latest = (
        Withdrawal.objects.filter(client=client)
        .exclude(destination={})
        .select_related("method")
        .order_by("-created_at", "-id")[:looked_at]
    )
    for withdrawal in latest:
        where, method = withdrawal.paid_to, withdrawal.method
        if where is None or method.pk in found or where.kind != method.payout_to:
            continue
        if isinstance(where, destinations.CryptoWallet) and where.network not in method.networks:
            continue
        found[method.pk] = where.as_json()
    return found
