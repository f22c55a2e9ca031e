"""The sandbox's trading API: an account's own login and password, sent once for a bearer token
(`POST /token`) or with every call over HTTP Basic."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from annotated_types import Interval
from django.http import HttpRequest
from ninja import Field, Header, Router, Schema, Status
from ninja.security import HttpBasicAuth, HttpBearer

from propdesk.core.errors import ValidationFailed
from propdesk.core.net import client_ip
from propdesk.core.schema import WHOLE, DecimalString, Money, OneOf
from propdesk.core.schemas import ErrorOut
from propdesk.platforms.sandbox import accounts, auth, orders, stream, valuation
from propdesk.platforms.sandbox.models import Account, Deal, Position


class TradingTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        account = auth.account_for_token(token)
        if account is not None:
            request.trading_token = token  # type: ignore[attr-defined]
        return account


class AccountAuth(HttpBasicAuth):
    def authenticate(self, request: HttpRequest, username: str, password: str) -> Account:
        return auth.authenticate(username, password, ip=client_ip(request))


router = Router(tags=["sandbox trading"], auth=[TradingTokenAuth(), AccountAuth()])


class TradingTokenIn(Schema):
    login: str = Field(description="The trading account's login, e.g. `700001`.")
    password: str = Field(description="The trading account's password.")


# What the token endpoint refuses (it takes no credentials, so the shared rule declares none).
TOKEN_ERRORS = {
    401: "`not_authenticated`: the login or the password is wrong.",
    403: "`account_blocked`: the credentials are right but the firm blocked the account (its "
    "client portal says why).",
    422: "`validation_error`: a field is missing or malformed (`fields` says which).",
    429: "`too_many_attempts`: too many wrong passwords; `retry_after` seconds.",
}


class TradingTokenOut(Schema):
    token: str
    expires_at: datetime


@router.post(
    "/token",
    auth=None,
    response={200: TradingTokenOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    openapi_extra={
        "responses": {status: {"description": text} for status, text in TOKEN_ERRORS.items()}
    },
    summary="A bearer token for the account's login and password (send it as "
    "`Authorization: Bearer <token>`; it ends at `expires_at` or when the password changes)",
)
def token(request: HttpRequest, payload: TradingTokenIn) -> TradingTokenOut:
    issued, raw = auth.issue_token(payload.login, payload.password, ip=client_ip(request))
    return TradingTokenOut(token=raw, expires_at=issued.expires_at)


@router.delete("/token", response={204: None}, summary="Revoke the bearer token used")
def revoke_token(request: HttpRequest) -> Status[None]:
    raw = getattr(request, "trading_token", None)
    if raw is None:
        raise ValidationFailed("Call this with the bearer token to revoke, not a password.")
    auth.revoke_token(raw)
    return Status(204, None)


def me(request: HttpRequest) -> Account:
    account = request.auth  # type: ignore[attr-defined]
    assert isinstance(account, Account)
    return Account.objects.get(pk=account.pk)  # fresh: a balance may have moved since


class PositionOut(Schema):
    id: int
    symbol: str
    side: Annotated[str, OneOf(Position.Side.values)]
    volume: DecimalString
    open_price: DecimalString
    current_price: DecimalString | None
    sl: DecimalString | None
    tp: DecimalString | None
    profit: Money
    opened_at: datetime


class AccountOut(Schema):
    login: str
    server: str
    group: str
    currency: str
    leverage: int
    balance: Money
    equity: Money
    margin: Money
    free_margin: Money
    margin_level: DecimalString | None
    trading_enabled: bool
    positions: list[PositionOut]


def _text(value: Decimal | None) -> Decimal | None:
    """Without trailing zeros ("1.0845", "2" rather than "2.00000")."""
    return None if value is None else Decimal(f"{value.normalize():f}")


def _account_out(account: Account) -> AccountOut:
    state = valuation.state(account)
    return AccountOut(
        login=account.login,
        server=account.server.name,
        group=account.group,
        currency=account.currency,
        leverage=account.leverage,
        balance=state.balance,
        equity=state.equity,
        margin=state.margin,
        free_margin=state.free_margin,
        margin_level=_text(state.margin_level),
        trading_enabled=state.trading_enabled,
        positions=_account_positions(state),
    )


@router.get("/account", response=AccountOut, summary="Balance, equity, margin and positions")
def account(request: HttpRequest) -> AccountOut:
    return _account_out(me(request))


class QuoteOut(Schema):
    symbol: str
    bid: DecimalString
    ask: DecimalString
    digits: int
    at: datetime


@router.get("/quotes", response=list[QuoteOut], summary="The latest quote of every instrument")
def quotes(request: HttpRequest) -> list[QuoteOut]:
    return [
        QuoteOut(
            symbol=symbol,
            bid=Decimal(f"{q.bid:.{q.instrument.digits}f}"),
            ask=Decimal(f"{q.ask:.{q.instrument.digits}f}"),
            digits=q.instrument.digits,
            at=q.at,
        )
        for symbol, q in sorted(valuation.latest_quotes().items())
    ]


class OrderIn(Schema):
    symbol: Any = None
    side: Any = None
    volume: Any = None
    sl: Any = None
    tp: Any = None


@router.post(
    "/orders",
    response={201: PositionOut},
    summary="A market order (Idempotency-Key honoured); refused orders say why and change nothing",
)
def order(
    request: HttpRequest,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status:
    account = me(request)
    position = orders.place_order(
        account,
        symbol=payload.symbol,
        side=payload.side,
        volume=payload.volume,
        sl=payload.sl,
        tp=payload.tp,
        idempotency_key=idempotency_key,
    )
    return Status(201, _position_out(account, position))


def _position_out(account: Account, position: Position) -> PositionOut:
    state = valuation.state(Account.objects.get(pk=account.pk))
    for found in _account_positions(state):
        if found.id == position.pk:
            return found
    raise AssertionError("the position just opened is not open")  # pragma: no cover


def _account_positions(state: Any) -> list[PositionOut]:
    return [
        PositionOut(
            id=int(p.position),
            symbol=p.symbol,
            side=p.side,
            volume=p.volume,
            open_price=p.open_price,
            current_price=_text(p.current_price),
            sl=_text(p.sl),
            tp=_text(p.tp),
            profit=p.profit,
            opened_at=p.opened_at,
        )
        for p in state.positions
    ]


@router.get("/positions", response=list[PositionOut], summary="Open positions")
def positions(request: HttpRequest) -> list[PositionOut]:
    return _account_positions(valuation.state(me(request)))


class CloseIn(Schema):
    volume: Any = None


class DealOut(Schema):
    id: int
    at: datetime
    kind: Annotated[str, OneOf(Deal.Kind.values)]
    entry: Annotated[str, OneOf(Deal.Entry.values)]
    reason: Annotated[str, OneOf(Deal.Reason.values)]
    position: int | None
    symbol: str
    volume: DecimalString
    price: DecimalString
    profit: Money
    balance_after: Money
    comment: str


def _deal_out(deal: Deal) -> DealOut:
    return DealOut(
        id=deal.pk,
        at=deal.at,
        kind=deal.kind,
        entry=deal.entry,
        reason=deal.reason,
        position=deal.position_id,
        symbol=deal.symbol,
        volume=deal.volume,
        price=_text(deal.price) or Decimal(0),
        profit=deal.profit,
        balance_after=deal.balance_after,
        comment=deal.comment,
    )


@router.post(
    "/positions/{position_id}/close",
    response=DealOut,
    summary="Close a position, or `volume` of it, at the market",
)
def close(
    request: HttpRequest,
    position_id: str,
    payload: CloseIn | None = None,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> DealOut:
    volume = payload.volume if payload is not None else None
    deal = orders.close_position(
        me(request), position_id, volume=volume, idempotency_key=idempotency_key
    )
    return _deal_out(deal)


@router.get("/deals", response=list[DealOut], summary="Every deal, newest first")
def deals(request: HttpRequest) -> list[DealOut]:
    return [_deal_out(d) for d in accounts.history(me(request))]


class EventOut(Schema):
    cursor: int
    event: dict[str, Any]


@router.get(
    "/events",
    response=list[EventOut],
    summary=(
        "This account's events after the cursor `after` (equity snapshots, deals, money moved "
        "by the firm)"
    ),
)
def events(
    request: HttpRequest,
    after: Annotated[int, Interval(ge=0, le=2**62), WHOLE] = 0,
    limit: Annotated[int, Interval(ge=1, le=10_000), WHOLE] = 1000,
) -> list[EventOut]:
    rows = stream.events(after=after, limit=limit, account=me(request))
    return [EventOut(cursor=e.pk, event=e.payload) for e in rows]
