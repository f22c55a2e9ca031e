from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from annotated_types import Interval
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from ninja import Field, Header, Router, Schema, Status
from pydantic import ConfigDict, StrictInt, StrictStr

from propdesk.accounts.api_auth import current_client, current_staff, current_user
from propdesk.accounts.models import Client
from propdesk.core.errors import DomainError, NotFound
from propdesk.core.pagination import After, Page, by_key, refuse_offset
from propdesk.core.schema import WHOLE, DecimalText, Money, OneOf
from propdesk.wallet import (
    deposits,
    destinations,
    ledger,
    payments,
    services,
    withdrawals,
)
from propdesk.wallet.models import Deposit, JournalEntry, PaymentMethod, Withdrawal

router = Router(tags=["wallet"])
staff_router = Router(tags=["wallet (staff)"])


EntryType = Annotated[str, OneOf(JournalEntry.Type.values)]


class BalanceOut(Schema):
    currency: str
    balance: Money


class WalletOut(Schema):
    balances: list[BalanceOut]


class LineOut(Schema):
    entry: int
    reference: str = ""  # of what caused it: DEP-000002 for a deposit's credit
    type: EntryType
    type_label: str
    amount: Money
    currency: str
    memo: str
    at: datetime


class AdjustmentIn(Schema):
    direction: Literal["credit", "debit"]
    amount: DecimalText = Field(..., description="Positive; the direction says which way.")
    currency: str
    comment: str = Field(description="The reason: internal (audit log, transactions report)")
    client_note: str = Field("", description="What the client reads in their wallet (optional)")


class EntryOut(Schema):
    id: int
    type: EntryType
    client_id: int | None
    balances: list[BalanceOut]


def _client(request: HttpRequest) -> Client:
    return current_client(request, "Wallets are clients'; staff read them on the client's page.")


def _balances(client: Client) -> list[BalanceOut]:
    return [BalanceOut(currency=c, balance=b) for c, b in ledger.balances(client).items()]


@router.get("", response=WalletOut, summary="My wallet balances")
def wallet(request: HttpRequest) -> WalletOut:
    return WalletOut(balances=_balances(_client(request)))


class LinePage(Page[LineOut]):
    pass


@router.get("/transactions", response=LinePage, summary="My wallet movements, newest first")
def transactions(
    request: HttpRequest,
    after: After = None,
    limit: Annotated[int, Interval(ge=1, le=500), WHOLE] = 100,
) -> LinePage:
    client = _client(request)
    rows, next_cursor = by_key(
        services.postings(client),
        after=after,
        limit=limit,
        tag="wallet.transactions",
        scope=str(client.pk),
    )
    return LinePage(
        items=[LineOut(**line) for line in services.lines_of(client, rows)], next=next_cursor
    )


@staff_router.post(
    "/{int:client_id}/adjustments",
    response={201: EntryOut},
    summary="Credit or debit a client's wallet (Idempotency-Key honoured)",
)
def adjust(
    request: HttpRequest,
    client_id: int,
    payload: AdjustmentIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[EntryOut]:
    actor = current_staff(request)
    entry = services.adjust(
        client_id,
        direction=payload.direction,
        amount=payload.amount,
        currency=payload.currency,
        comment=payload.comment,
        client_note=payload.client_note,
        actor=actor,
        idempotency_key=idempotency_key,
    )
    client = Client.objects.get(pk=client_id)
    return Status(
        201,
        EntryOut(
            id=entry.pk, type=entry.type, client_id=entry.client_id, balances=_balances(client)
        ),
    )


methods_router = Router(tags=["wallet"])


class MethodOut(Schema):
    id: int
    name: str
    kind: Annotated[str, OneOf(PaymentMethod.Kind.values)]
    currencies: list[str]
    min_amount: Money
    max_amount: Money
    instructions: str
    payout_to: Annotated[str, OneOf(PaymentMethod.PayoutTo.values)] = Field(
        "",
        description="Where its withdrawals are paid: a `bank` account or a `crypto` wallet "
        "(the withdrawal's `destination` gives its fields); empty: it takes no withdrawals.",
    )
    networks: list[str] = Field(
        default_factory=list, description="A crypto payout's networks, e.g. TRC20, ERC20, BTC."
    )


class DepositIn(Schema):
    amount: DecimalText = Field(...)
    currency: str
    method: StrictStr | StrictInt = Field(..., description="The payment method's id or name")


class DepositOut(Schema):
    id: int
    reference: str = ""  # DEP-000002: the one to quote on a bank transfer
    status: Annotated[str, OneOf(Deposit.Status.values)]
    amount: Money
    currency: str
    method: str
    credited_amount: Money | None
    checkout_url: str | None = None


@methods_router.get("", response=list[MethodOut], summary="Payment methods open to clients")
def payment_methods(request: HttpRequest) -> list[MethodOut]:
    user = current_user(request)
    client = getattr(user, "client", None)  # a client sees their group's; staff every one
    return [
        MethodOut(
            id=m.pk,
            name=m.name,
            kind=m.kind,
            currencies=m.currencies,
            min_amount=m.min_amount,
            max_amount=m.max_amount,
            instructions=m.instructions,
            payout_to=m.payout_to,
            networks=m.networks,
        )
        for m in deposits.enabled_methods(client)
    ]


def _ask(request: HttpRequest, ask: Callable[..., Any], payload: DepositIn, key: str | None) -> Any:
    return ask(
        _client(request),
        method=payload.method,
        amount=payload.amount,
        currency=payload.currency,
        idempotency_key=key,
    )


def _request_out(made: Deposit | Withdrawal) -> dict[str, Any]:
    return {
        "id": made.pk,
        "reference": made.reference,
        "status": made.status,
        "amount": made.amount,
        "currency": made.currency,
        "method": made.method.name,
    }


@router.post(
    "/deposits", response={201: DepositOut}, summary="Ask for a deposit (Idempotency-Key honoured)"
)
def deposit(
    request: HttpRequest,
    payload: DepositIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[DepositOut]:
    made: Deposit = _ask(request, deposits.request_deposit, payload, idempotency_key)
    checkout = (
        request.build_absolute_uri(payments.pay_url(made.checkout_token))
        if made.checkout_token
        else None
    )
    return Status(
        201,
        DepositOut(
            **_request_out(made), credited_amount=made.credited_amount, checkout_url=checkout
        ),
    )


class DestinationIn(Schema):
    """Where to pay: a bank account's fields or a crypto wallet's, as the method's `payout_to`
    says (`GET /payment-methods`); each is checked and a fault named `destination.<field>`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["bank", "crypto"] | None = Field(
        None, description="Optional: the kind the method pays to, said again."
    )
    account_holder: StrictStr | None = Field(None, description="Bank: the account's holder.")
    account: StrictStr | None = Field(
        None,
        description="Bank: an IBAN (its country's length and check digits are checked; spaces "
        "allowed) or an account number.",
    )
    bic: StrictStr | None = Field(
        None,
        description="Bank: the BIC (SWIFT code), 8 or 11 characters; may be left out for a "
        "payout in EUR to an IBAN of a SEPA country.",
    )
    bank_name: StrictStr | None = Field(None, description="Bank: the bank's name.")
    network: StrictStr | None = Field(
        None, description="Crypto: one of the method's `networks` (ERC20, TRC20, BTC)."
    )
    address: StrictStr | None = Field(
        None, description="Crypto: the wallet address, of the network's shape and checksum."
    )


class WithdrawalIn(DepositIn):
    destination: DestinationIn | None = Field(
        None, description="Where to pay; required by every method that pays withdrawals."
    )


class BankAccountOut(Schema):
    type: Literal["bank"]
    account_holder: str
    account: str = Field(description="The IBAN or account number, without spaces")
    bic: str = Field(description="Empty for a payout in EUR to a SEPA IBAN given without one")
    bank_name: str


class CryptoWalletOut(Schema):
    type: Literal["crypto"]
    network: str
    address: str


class WithdrawalOut(Schema):
    id: int
    reference: str = ""
    status: Annotated[str, OneOf(Withdrawal.Status.values)]
    amount: Money
    currency: str
    method: str
    # Once paid: the amount paid out (less than `amount` when the firm paid part of it; the
    # rest went back to the wallet).
    paid_amount: Money | None = None
    destination: Annotated[BankAccountOut | CryptoWalletOut, Field(discriminator="type")] | None = (
        Field(
            None,
            description="Where it is paid, as asked (never changed); null for a withdrawal asked "
            "before destinations were kept.",
        )
    )
    created_at: datetime | None = None


def _withdrawal_out(made: Withdrawal) -> WithdrawalOut:
    where = made.paid_to
    shown: BankAccountOut | CryptoWalletOut | None = None
    if isinstance(where, destinations.BankAccount):
        shown = BankAccountOut(
            type="bank",
            account_holder=where.account_holder,
            account=where.account,
            bic=where.bic,
            bank_name=where.bank_name,
        )
    elif isinstance(where, destinations.CryptoWallet):
        shown = CryptoWalletOut(type="crypto", network=where.network, address=where.address)
    return WithdrawalOut(
        **_request_out(made),
        paid_amount=made.paid_amount,
        destination=shown,
        created_at=made.created_at,
    )


@router.post(
    "/withdrawals",
    response={201: WithdrawalOut},
    summary="Ask for a withdrawal; the amount is held at once (Idempotency-Key honoured)",
)
def withdraw(
    request: HttpRequest,
    payload: WithdrawalIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[WithdrawalOut]:
    made = withdrawals.request_withdrawal(
        _client(request),
        method=payload.method,
        amount=payload.amount,
        currency=payload.currency,
        destination=(payload.destination.dict(exclude_none=True) if payload.destination else None),
        idempotency_key=idempotency_key,
    )
    return Status(201, _withdrawal_out(made))


class WithdrawalPage(Page[WithdrawalOut]):
    pass


@router.get("/withdrawals", response=WithdrawalPage, summary="My withdrawals, newest first")
def my_withdrawals(
    request: HttpRequest,
    after: After = None,
    limit: Annotated[int, Interval(ge=1, le=100), WHOLE] = 50,
) -> WithdrawalPage:
    refuse_offset(request)
    client = _client(request)
    mine = withdrawals.client_withdrawals(client)
    rows, next_cursor = by_key(
        mine, after=after, limit=limit, tag="wallet.withdrawals", scope=str(client.pk)
    )
    return WithdrawalPage(items=[_withdrawal_out(w) for w in rows], next=next_cursor)


@router.get(
    "/withdrawals/{int:withdrawal_id}",
    response=WithdrawalOut,
    summary="One of my withdrawals, with where it is paid",
)
def my_withdrawal(request: HttpRequest, withdrawal_id: int) -> WithdrawalOut:
    found = withdrawals.client_withdrawals(_client(request)).filter(pk=withdrawal_id).first()
    if found is None:
        raise NotFound("No such withdrawal.")
    return _withdrawal_out(found)


# --- the sandbox payment provider's webhook (a plain view: the provider signs it, no session) -----


@csrf_exempt  # authenticated by its HMAC signature, not by a browser session
@require_POST
def sandbox_webhook(request: HttpRequest) -> JsonResponse:
    """The sandbox provider's webhook, where it has always been sent."""
    return payment_webhook(request, "sandbox")


@csrf_exempt  # authenticated by the provider's signature, not by a browser session
@require_POST
def payment_webhook(request: HttpRequest, kind: str) -> JsonResponse:
    """A payment provider's webhook (wallet.payments.receive): 400 on a bad signature."""
    try:
        outcome = payments.receive(kind, request.body, request.headers)
    except DomainError as exc:
        return JsonResponse(exc.as_json(), status=exc.status)
    return JsonResponse({"ok": True, "outcome": outcome})
