from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Header, Router, Schema, Status

from propdesk.accounts.api_auth import current_staff, current_user
from propdesk.accounts.models import Client
from propdesk.core.errors import Forbidden
from propdesk.wallet import ledger, services

router = Router(tags=["wallet"])
staff_router = Router(tags=["wallet (staff)"])


class BalanceOut(Schema):
    currency: str
    balance: Decimal


class WalletOut(Schema):
    balances: list[BalanceOut]


class LineOut(Schema):
    entry: int
    type: str
    type_label: str
    amount: Decimal
    currency: str
    memo: str
    at: datetime


class AdjustmentIn(Schema):
    direction: str
    amount: str | int
    currency: str
    comment: str


class EntryOut(Schema):
    id: int
    type: str
    client_id: int | None
    balances: list[BalanceOut]


def _client(request: HttpRequest) -> Client:
    user = current_user(request)
    if not user.is_client:
        raise Forbidden("Wallets are clients'; staff read them on the client's page.")
    return user.client


def _balances(client: Client) -> list[BalanceOut]:
    return [BalanceOut(currency=c, balance=b) for c, b in ledger.balances(client).items()]


@router.get("", response=WalletOut, summary="My wallet balances")
def wallet(request: HttpRequest) -> WalletOut:
    return WalletOut(balances=_balances(_client(request)))


@router.get("/transactions", response=list[LineOut], summary="My wallet movements, newest first")
def transactions(request: HttpRequest) -> list[LineOut]:
    return [LineOut(**line) for line in services.wallet_lines(_client(request))]


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
