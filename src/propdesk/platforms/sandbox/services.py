"""The sandbox's use cases: accounts, orders, closes, balance operations and the event stream.

Every change runs in one transaction under the account's row lock and writes its deals and
events with it; prices come from the latest quotes the feed keeps.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from propdesk.core import idempotency
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.money import MINOR_UNITS, from_minor, quantize, quantum
from propdesk.core.validation import FieldErrors
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import AccountState, OpenPosition
from propdesk.platforms.sandbox import pricing

# Logging in lives in `auth` (with the trading API's tokens); callers keep this name.
from propdesk.platforms.sandbox.auth import AccountBlocked as AccountBlocked
from propdesk.platforms.sandbox.auth import authenticate as authenticate
from propdesk.platforms.sandbox.inputs import number, whole_in, whole_or_none
from propdesk.platforms.sandbox.models import (
    Account,
    Deal,
    Instrument,
    Position,
    Quote,
)
from propdesk.platforms.sandbox.stream import emit

DEFAULT_SERVER = "Sandbox"
LOGIN_OFFSET = 700_000
MAX_LEVERAGE = 1000
MAX_BALANCE = Decimal("1000000000")


class OrderRefused(Conflict):
    code = "order_refused"
    default_message = "The order was refused."


class MarketClosed(OrderRefused):
    code = "market_closed"
    default_message = "The market is closed for this instrument."


class TradingDisabled(OrderRefused):
    code = "trading_disabled"
    default_message = "Trading is disabled on this account."


class NotEnoughMargin(OrderRefused):
    code = "not_enough_margin"
    default_message = "Not enough free margin for this order."


# --- accounts ------------------------------------------------------------------------------------


def default_server() -> TradingServer:
    server, _ = TradingServer.objects.get_or_create(
        name=DEFAULT_SERVER,
        defaults={"kind": "sandbox", "demo_groups": ["demo"], "live_groups": ["live"]},
    )
    return server


def create_account(
    server: TradingServer,
    *,
    group: str,
    leverage: Any,
    balance: Any,
    currency: str = "USD",
    comment: str = "",
) -> tuple[Account, str]:
    """Open an account (and fund it with a balance operation); returns it and its password,
    which is shown once and kept only as a hash."""
    errors = FieldErrors()
    if group not in server.groups:
        errors.add("group", f"Group is one of: {', '.join(server.groups) or '(none set)'}.")
    lev = whole_in(errors, "leverage", leverage, 1, MAX_LEVERAGE)
    if currency not in MINOR_UNITS:
        errors.add("currency", "Unknown currency.")
    amount = number(errors, "balance", balance)
    if amount is not None and not (0 <= amount <= MAX_BALANCE):
        errors.add("balance", f"Balance is between 0 and {MAX_BALANCE}.")
    if (
        amount is not None
        and currency in MINOR_UNITS
        and amount != amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))
    ):
        errors.add("balance", f"{currency} has {MINOR_UNITS[currency]} decimals.")
    errors.raise_if_any()
    assert lev is not None
    assert amount is not None
    password = secrets.token_urlsafe(9)
    with transaction.atomic():
        account = Account.objects.create(
            server=server,
            login=f"new-{secrets.token_hex(8)}",
            password=make_password(password),
            group=group,
            leverage=lev,
            currency=currency,
            balance=Decimal(0),
            comment=comment[:200],
        )
        account.login = str(LOGIN_OFFSET + account.pk)
        account.save(update_fields=["login"])
        if amount:
            _balance_operation(account, amount, "Initial deposit", reason=Deal.Reason.STAFF)
        else:
            emit(account, [_snapshot(account, timezone.now())])
    return account, password


def lock_account(account_id: int) -> Account:
    """The account's row, locked for the change at hand. FOR NO KEY UPDATE: the feed's
    snapshots, which only point at the row, are not held up by it (nor it by them)."""
    return Account.objects.select_for_update(no_key=True).get(pk=account_id)


def account_by_login(login: str) -> Account:
    account = Account.objects.filter(login=login).first()
    if account is None:
        raise NotFound(f"No sandbox account {login}.")
    return account


def set_login_enabled(account: Account, enabled: bool) -> Account:
    """Let the account log in (the terminal, the trading API) or not; a blocked account's
    terminal sessions end at their next request."""
    with transaction.atomic():
        locked = lock_account(account.pk)
        locked.login_enabled = enabled
        locked.save(update_fields=["login_enabled"])
    return locked


def set_trading_enabled(account: Account, enabled: bool, *, reason: str = "") -> Account:
    with transaction.atomic():
        locked = lock_account(account.pk)
        locked.trading_enabled = enabled
        locked.disabled_reason = "" if enabled else reason[:200]
        locked.save(update_fields=["trading_enabled", "disabled_reason"])
    return locked


def balance_operation(account: Account, amount: Any, comment: str) -> Deal:
    """Credit (positive) or debit (negative) the balance; a debit may not exceed free margin."""
    deal, _ = balance_operation_once(account, amount, comment)
    return deal


def balance_operation_once(
    account: Account, amount: Any, comment: str, *, idempotency_key: str | None = None
) -> tuple[Deal, bool]:
    """`balance_operation`, and whether it moved money now: a retry under the caller's
    `idempotency_key` returns the first deal (False); the same key for another amount is
    refused."""
    key = (
        None
        if not idempotency_key
        else "balance:" + idempotency.fingerprint(account.pk, idempotency_key)
    )
    errors = FieldErrors()
    value = number(errors, "amount", amount)  # a debit is negative
    if value is not None and (value == 0 or abs(value) > MAX_BALANCE):
        errors.add("amount", "The amount is non-zero and at most a billion.")
    if not comment.strip():
        errors.add("comment", "Say why.")
    errors.raise_if_any()
    assert value is not None
    with transaction.atomic():
        locked = lock_account(account.pk)
        try:
            exact = quantize(value, locked.currency)
        except ValueError:
            raise ValidationFailed(
                fields={"amount": f"{locked.currency} has {MINOR_UNITS[locked.currency]} decimals."}
            ) from None
        asked = idempotency.fingerprint(str(exact))
        earlier = idempotency.replay(key, asked, Deal)
        if earlier is not None:
            return earlier, False
        if value < 0 and -value > state(locked).free_margin:
            raise Conflict("The debit is more than the account's free margin.")
        deal = _balance_operation(locked, value, comment.strip(), reason=Deal.Reason.STAFF)
        if key is not None:
            Deal.objects.filter(pk=deal.pk).update(idempotency_key=key, fingerprint=asked)
        return deal, True


def _balance_operation(account: Account, value: Decimal, comment: str, *, reason: str) -> Deal:
    now = timezone.now()
    account.balance += value
    account.save(update_fields=["balance"])
    deal = Deal.objects.create(
        account=account,
        kind=Deal.Kind.BALANCE,
        entry=Deal.Entry.NONE,
        reason=reason,
        profit=value,
        balance_after=account.balance,
        comment=comment[:200],
        at=now,
    )
    emit(account, [_snapshot(account, now)])
    return deal


# --- prices and valuation ------------------------------------------------------------------------


def latest_quotes() -> dict[str, Quote]:
    return {q.instrument.symbol: q for q in Quote.objects.select_related("instrument")}


@dataclass(frozen=True)
class Valuation:
    equity: Decimal
    margin: Decimal
    profits: dict[int, Decimal]  # position id -> floating profit
    prices: dict[int, Decimal]  # position id -> the price it would close at


def value(account: Account, positions: Sequence[Position], quotes: dict[str, Quote]) -> Valuation:
    """Equity and floating profit at the latest quotes, exact to the account currency's unit."""
    bids = {symbol: q.bid for symbol, q in quotes.items()}
    minor = MINOR_UNITS[account.currency]
    total = 0
    margin = Decimal(0)
    profits: dict[int, Decimal] = {}
    prices: dict[int, Decimal] = {}
    for position in positions:
        spec = position.instrument.spec
        quote = quotes[spec.symbol]
        close = quote.bid if position.side == Position.Side.BUY else quote.ask
        units = pricing.profit_minor(
            spec,
            side=position.sign,
            volume=pricing.centi_lots(position.volume),
            open_points=spec.points(position.open_price),
            close_points=spec.points(close),
            rate=pricing.conversion(spec.quote_currency, account.currency, bids),
            minor_digits=minor,
        )
        total += units
        profits[position.pk] = from_minor(units, account.currency)
        prices[position.pk] = close
        margin += position.margin
    equity = account.balance + from_minor(total, account.currency)
    return Valuation(equity=equity, margin=margin, profits=profits, prices=prices)


def open_positions(account: Account) -> list[Position]:
    return list(
        account.positions.filter(closed_at__isnull=True).select_related("instrument").order_by("id")
    )


def state(account: Account) -> AccountState:
    positions = open_positions(account)
    valuation = value(account, positions, latest_quotes())
    return AccountState(
        login=account.login,
        currency=account.currency,
        balance=account.balance,
        equity=valuation.equity,
        margin=valuation.margin,
        free_margin=valuation.equity - valuation.margin,
        trading_enabled=account.trading_enabled,
        positions=tuple(
            OpenPosition(
                position=str(p.pk),
                symbol=p.instrument.symbol,
                side=p.side,
                volume=p.volume,
                open_price=p.instrument.spec.price(p.instrument.spec.points(p.open_price)),
                current_price=valuation.prices[p.pk],
                sl=p.sl,
                tp=p.tp,
                profit=valuation.profits[p.pk],
                opened_at=p.opened_at,
            )
            for p in positions
        ),
    )


# --- orders --------------------------------------------------------------------------------------


def place_order(
    account: Account,
    *,
    symbol: Any,
    side: Any,
    volume: Any,
    sl: Any = None,
    tp: Any = None,
    now: datetime | None = None,
    idempotency_key: Any = None,
) -> Position:
    """A market order: buys fill at the ask, sells at the bid. Refusals change nothing; a
    retry under the same Idempotency-Key returns the first order's position."""
    key = idempotency.owned_key(f"account:{account.pk}:order", idempotency_key)
    errors = FieldErrors()
    instrument = (
        Instrument.objects.filter(symbol=symbol, enabled=True).first()
        if isinstance(symbol, str)
        else None
    )
    if instrument is None:
        errors.add("symbol", "Unknown symbol.")
    if side not in Position.Side.values:
        errors.add("side", 'Side is "buy" or "sell".')
    lots = number(errors, "volume", volume)
    stop = number(errors, "sl", sl, required=False)
    take = number(errors, "tp", tp, required=False)
    errors.raise_if_any()
    assert instrument is not None
    assert lots is not None
    _check_volume(errors, instrument, lots)
    for name, level in (("sl", stop), ("tp", take)):
        if level is not None and (level <= 0 or _digits_beyond(level, instrument.digits)):
            errors.add(name, f"A positive price with at most {instrument.digits} decimals.")
    errors.raise_if_any()
    moment = now or timezone.now()
    asked = idempotency.fingerprint(symbol, side, str(lots), str(stop), str(take))
    with transaction.atomic():
        locked = lock_account(account.pk)
        earlier = idempotency.replay(key, asked, Position)
        if earlier is not None:
            return earlier
        if not locked.login_enabled:  # blocked after this call signed in: read under the lock
            raise AccountBlocked()
        if not locked.trading_enabled:
            raise TradingDisabled()
        if not pricing.market_open(instrument.trading_hours, moment):
            raise MarketClosed()
        quotes = latest_quotes()
        if symbol not in quotes:
            raise MarketClosed("No price yet for this instrument.")
        quote = quotes[symbol]
        buying = side == Position.Side.BUY
        price = quote.ask if buying else quote.bid
        market = quote.bid if buying else quote.ask  # where the position is valued
        under, over = ("below", "above") if buying else ("above", "below")
        if stop is not None and (stop >= market if buying else stop <= market):
            raise ValidationFailed(fields={"sl": f"A {side}'s stop loss is {under} {market}."})
        if take is not None and (take <= market if buying else take >= market):
            raise ValidationFailed(fields={"tp": f"A {side}'s take profit is {over} {market}."})
        spec = instrument.spec
        rate = _rate(spec, locked.currency, quotes)
        needed = from_minor(
            pricing.margin_minor(
                spec,
                volume=pricing.centi_lots(lots),
                price_points=spec.points(price),
                leverage=locked.leverage,
                rate=rate,
                minor_digits=MINOR_UNITS[locked.currency],
            ),
            locked.currency,
        )
        current = value(locked, open_positions(locked), quotes)
        free = current.equity - current.margin
        if needed > free:
            raise NotEnoughMargin(
                f"This order needs {needed} {locked.currency} of margin; the free margin is {free}."
            )
        position = Position.objects.create(
            account=locked,
            instrument=instrument,
            side=side,
            volume=lots,
            open_price=price,
            sl=stop,
            tp=take,
            margin=needed,
            opened_at=moment,
            idempotency_key=key,
            fingerprint=asked,
        )
        deal = Deal.objects.create(
            account=locked,
            position=position,
            kind=side,
            entry=Deal.Entry.IN,
            symbol=symbol,
            volume=lots,
            price=price,
            balance_after=locked.balance,
            at=moment,
        )
        emit(locked, [_deal_payload(deal, moment), _snapshot(locked, moment)])
    return position


def close_position(
    account: Account,
    position_id: Any,
    *,
    volume: Any = None,
    reason: str = Deal.Reason.CLIENT,
    now: datetime | None = None,
    idempotency_key: Any = None,
) -> Deal:
    """Close a position, or part of it, at the market; the profit goes to the balance. A retry
    under the same Idempotency-Key returns the first close's deal."""
    key = idempotency.owned_key(f"account:{account.pk}:close", idempotency_key)
    errors = FieldErrors()
    lots = number(errors, "volume", volume, required=False)
    errors.raise_if_any()
    moment = now or timezone.now()
    wanted = whole_or_none(position_id)
    if wanted is None:
        raise NotFound("No such open position.")
    asked = idempotency.fingerprint(wanted, str(lots))
    with transaction.atomic():
        locked = lock_account(account.pk)
        earlier = idempotency.replay(key, asked, Deal)
        if earlier is not None:
            return earlier
        position = (
            Position.objects.select_for_update()
            .select_related("instrument")
            .filter(pk=wanted, account=locked, closed_at__isnull=True)
            .first()
        )
        if position is None:
            raise NotFound("No such open position.")
        instrument = position.instrument
        if lots is None:
            lots = position.volume
        _check_volume(errors, instrument, lots, at_most=position.volume)
        errors.raise_if_any()
        if reason == Deal.Reason.CLIENT and not pricing.market_open(
            instrument.trading_hours, moment
        ):
            raise MarketClosed()
        deal = _close(locked, position, lots, reason=reason, at=moment, quotes=latest_quotes())
        if key is not None:
            Deal.objects.filter(pk=deal.pk).update(idempotency_key=key, fingerprint=asked)
        return deal


def _close(
    account: Account,
    position: Position,
    lots: Decimal,
    *,
    reason: str,
    at: datetime,
    quotes: dict[str, Quote],
) -> Deal:
    spec = position.instrument.spec
    quote = quotes[spec.symbol]
    price = quote.bid if position.side == Position.Side.BUY else quote.ask
    units = pricing.profit_minor(
        spec,
        side=position.sign,
        volume=pricing.centi_lots(lots),
        open_points=spec.points(position.open_price),
        close_points=spec.points(price),
        rate=_rate(spec, account.currency, quotes),
        minor_digits=MINOR_UNITS[account.currency],
    )
    profit = from_minor(units, account.currency)
    remaining = position.volume - lots
    if remaining:
        released = (position.margin * lots / position.volume).quantize(
            quantum(account.currency), rounding=ROUND_HALF_EVEN
        )
        position.margin -= released
        position.volume = remaining
        position.save(update_fields=["margin", "volume"])
    else:
        position.volume = Decimal(0)
        position.margin = Decimal(0)
        position.closed_at = at
        position.save(update_fields=["margin", "volume", "closed_at"])
    account.balance += profit
    account.save(update_fields=["balance"])
    deal = Deal.objects.create(
        account=account,
        position=position,
        kind=Deal.Kind.SELL if position.side == Position.Side.BUY else Deal.Kind.BUY,
        entry=Deal.Entry.OUT,
        reason=reason,
        symbol=spec.symbol,
        volume=lots,
        price=price,
        profit=profit,
        balance_after=account.balance,
        at=at,
    )
    if remaining:  # a part: the balance moves (the snapshot says so); the trade goes on
        emit(account, [_snapshot(account, at)])
        return deal
    # The trade's end: one `out` with its whole volume and its net result, parts included.
    outs = Deal.objects.filter(position=position, entry=Deal.Entry.OUT)
    payload = _deal_payload(deal, at)
    payload["volume"] = f"{sum(d.volume for d in outs):.2f}"
    payload["profit"] = f"{sum(d.profit for d in outs)}"
    emit(account, [payload, _snapshot(account, at)])
    return deal


# --- the feed's tick -----------------------------------------------------------------------------


def apply_tick(
    symbol: str, bid: Decimal, ask: Decimal, *, at: datetime | None = None
) -> list[Deal]:
    """Move an instrument's price, then act on it at once: stop losses and take profits the
    tick crosses are filled, and accounts below their stop-out level are closed out, worst
    position first. Returns the deals it made."""
    moment = at or timezone.now()
    instrument = Instrument.objects.get(symbol=symbol)
    if bid <= 0 or ask < bid:
        raise ValueError(f"bad quote {bid}/{ask} for {symbol}")
    spec = instrument.spec
    spec.points(bid), spec.points(ask)  # refuses a price finer than the instrument's digits
    Quote.objects.update_or_create(
        instrument=instrument, defaults={"bid": bid, "ask": ask, "at": moment}
    )
    deals: list[Deal] = []
    crossed = Position.objects.filter(instrument=instrument, closed_at__isnull=True).filter(
        _crossing(bid, ask)
    )
    for position_id in crossed.order_by("id").values_list("id", flat=True):
        deals.extend(trigger(position_id, at=moment))
    affected = Account.objects.filter(
        positions__closed_at__isnull=True, positions__instrument__in=_valued_by(instrument)
    ).distinct()
    for account_id in affected.values_list("id", flat=True):
        deals.extend(stop_out(account_id, at=moment))
    return deals


def stop_out(account_id: int, *, at: datetime | None = None) -> list[Deal]:
    """Close the worst position while the margin level is under the account's stop-out level."""
    moment = at or timezone.now()
    deals: list[Deal] = []
    with transaction.atomic():
        account = lock_account(account_id)
        quotes = latest_quotes()
        while True:
            positions = open_positions(account)
            if not positions:
                break
            valuation = value(account, positions, quotes)
            if valuation.equity * 100 >= account.stopout_level * valuation.margin:
                break
            worst = min(positions, key=lambda p: (valuation.profits[p.pk], p.pk))
            deals.append(
                _close(
                    account,
                    worst,
                    worst.volume,
                    reason=Deal.Reason.STOP_OUT,
                    at=moment,
                    quotes=quotes,
                )
            )
    return deals


def _crossing(bid: Decimal, ask: Decimal) -> Any:
    buy, sell = Position.Side.BUY, Position.Side.SELL
    return (
        Q(side=buy, sl__gte=bid)
        | Q(side=buy, tp__lte=bid)
        | Q(side=sell, sl__lte=ask)
        | Q(side=sell, tp__gte=ask)
    )


def trigger(position_id: int, *, at: datetime | None = None) -> list[Deal]:
    """Fill a position's stop loss or take profit if the latest quote crosses it (checked
    again under the locks: a close may have come first)."""
    moment = at or timezone.now()
    with transaction.atomic():
        account_id = (
            Position.objects.filter(pk=position_id).values_list("account_id", flat=True).first()
        )
        if account_id is None:
            return []
        account = lock_account(account_id)
        position = (
            Position.objects.select_for_update()
            .select_related("instrument")
            .filter(pk=position_id, closed_at__isnull=True)
            .first()
        )
        if position is None:
            return []
        quotes = latest_quotes()
        quote = quotes[position.instrument.symbol]
        buying = position.side == Position.Side.BUY
        market = quote.bid if buying else quote.ask
        stop, take = position.sl, position.tp
        if stop is not None and (market <= stop if buying else market >= stop):
            reason = Deal.Reason.STOP_LOSS
        elif take is not None and (market >= take if buying else market <= take):
            reason = Deal.Reason.TAKE_PROFIT
        else:
            return []
        return [_close(account, position, position.volume, reason=reason, at=moment, quotes=quotes)]


def _valued_by(instrument: Instrument) -> Iterable[Instrument]:
    """The instruments whose profit moves with this one's price: itself, and those whose quote
    currency it converts (USDJPY values every JPY-quoted instrument for a USD account)."""
    currencies = {instrument.base_currency, instrument.quote_currency} - {""}
    return Instrument.objects.filter(quote_currency__in=currencies) | Instrument.objects.filter(
        pk=instrument.pk
    )


# --- history and the stream's payloads ---------------------------------------------------------


def history(account: Account, *, limit: int = 500) -> list[Deal]:
    return list(account.deals.order_by("-id")[:limit])


def _snapshot(account: Account, at: datetime) -> dict[str, Any]:
    """The account's equity snapshot (the valuation alone: no position list is built)."""
    equity = value(account, open_positions(account), latest_quotes()).equity
    return {
        "t": at.isoformat(),
        "type": "equity",
        "balance": f"{account.balance}",
        "equity": f"{equity}",
    }


def _deal_payload(deal: Deal, at: datetime) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "t": at.isoformat(),
        "type": "deal",
        "position": str(deal.position_id),
        "entry": deal.entry,
        "symbol": deal.symbol,
        "volume": f"{deal.volume:.2f}",
    }
    if deal.entry == Deal.Entry.OUT:
        payload["profit"] = f"{deal.profit}"
    return payload


# --- input ---------------------------------------------------------------------------------------


def _rate(spec: pricing.Spec, currency: str, quotes: dict[str, Quote]) -> Fraction:
    try:
        return pricing.conversion(
            spec.quote_currency, currency, {s: q.bid for s, q in quotes.items()}
        )
    except LookupError:
        raise OrderRefused(
            f"No price converts {spec.quote_currency} to the account's {currency}."
        ) from None


def _check_volume(
    errors: FieldErrors, instrument: Instrument, lots: Decimal, *, at_most: Decimal | None = None
) -> None:
    top = instrument.max_volume if at_most is None else min(at_most, instrument.max_volume)
    if at_most is not None and lots == at_most:
        return  # closing all of a position is always allowed
    if not instrument.min_volume <= lots <= top:
        errors.add("volume", f"Volume is between {instrument.min_volume} and {top}.")
    elif (lots / instrument.volume_step) % 1:
        errors.add("volume", f"Volume is a multiple of {instrument.volume_step}.")


def _digits_beyond(value: Decimal, digits: int) -> bool:
    return value != value.quantize(Decimal(1).scaleb(-digits))
