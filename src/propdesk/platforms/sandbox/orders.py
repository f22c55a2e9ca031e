"""The sandbox's orders and positions: a market order opens a position, a close (all or part
of it) settles its profit to the balance. Each runs under the account's row lock and writes its
deals and events with it; prices come from the latest quotes the feed keeps."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from propdesk.core import idempotency
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.money import MINOR_UNITS, from_minor, quantum
from propdesk.core.validation import FieldErrors
from propdesk.platforms import owners
from propdesk.platforms.sandbox import pricing
from propdesk.platforms.sandbox.accounts import lock_account
from propdesk.platforms.sandbox.auth import AccountBlocked
from propdesk.platforms.sandbox.inputs import number, whole_or_none
from propdesk.platforms.sandbox.models import Account, Deal, Instrument, Position, Quote
from propdesk.platforms.sandbox.stream import emit
from propdesk.platforms.sandbox.valuation import (
    equity_snapshot,
    latest_quotes,
    open_positions,
    value,
)


class OrderRefused(Conflict):
    code = "order_refused"
    default_message = gettext_lazy("The order was refused.")


class MarketClosed(OrderRefused):
    code = "market_closed"
    default_message = gettext_lazy("The market is closed for this instrument.")


class TradingDisabled(OrderRefused):
    code = "trading_disabled"
    default_message = gettext_lazy("Trading is disabled on this account.")


class NotEnoughMargin(OrderRefused):
    code = "not_enough_margin"
    default_message = gettext_lazy("Not enough free margin for this order.")


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
        errors.add("symbol", _("Unknown symbol."))
    if side not in Position.Side.values:
        errors.add("side", _('Side is "buy" or "sell".'))
    lots = number(errors, "volume", volume)
    stop = number(errors, "sl", sl, required=False)
    take = number(errors, "tp", tp, required=False)
    errors.raise_if_any()
    assert instrument is not None
    assert lots is not None
    _check_volume(errors, instrument, lots)
    for name, level in (("sl", stop), ("tp", take)):
        if level is not None and (level <= 0 or _digits_beyond(level, instrument.digits)):
            errors.add(
                name,
                _("A positive price with at most %(digits)s decimals.")
                % {"digits": instrument.digits},
            )
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
        owners.require_may_trade(locked.server_id, locked.login)  # the firm's KYC policy
        if not pricing.market_open(instrument.trading_hours, moment):
            raise MarketClosed()
        quotes = latest_quotes()
        if symbol not in quotes:
            raise MarketClosed(_("No price yet for this instrument."))
        quote = quotes[symbol]
        buying = side == Position.Side.BUY
        price = quote.ask if buying else quote.bid
        market = quote.bid if buying else quote.ask  # where the position is valued
        wrong = wrong_side_levels(instrument, buying=buying, market=market, sl=stop, tp=take)
        if wrong:
            raise ValidationFailed(fields=wrong)
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
                _(
                    "This order needs %(needed)s %(currency)s of margin; the free margin is "
                    "%(free)s."
                )
                % {"needed": needed, "currency": locked.currency, "free": free}
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
        emit(locked, [deal_payload(deal, moment), equity_snapshot(locked, moment)])
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
        raise NotFound(_("No such open position."))
    asked = idempotency.fingerprint(wanted, str(lots))
    with transaction.atomic():
        locked = lock_account(account.pk)
        earlier = idempotency.replay(key, asked, Deal)
        if earlier is not None:
            return earlier
        if reason == Deal.Reason.CLIENT and not locked.login_enabled:
            raise AccountBlocked()
        if reason == Deal.Reason.CLIENT and not (locked.trading_enabled or locked.may_close):
            raise TradingDisabled(_("Trading is disabled on this account: not even closing."))
        position = (
            Position.objects.select_for_update()
            .select_related("instrument")
            .filter(pk=wanted, account=locked, closed_at__isnull=True)
            .first()
        )
        if position is None:
            raise NotFound(_("No such open position."))
        instrument = position.instrument
        if lots is None:
            lots = position.volume
        _check_volume(errors, instrument, lots, at_most=position.volume)
        errors.raise_if_any()
        if reason == Deal.Reason.CLIENT and not pricing.market_open(
            instrument.trading_hours, moment
        ):
            raise MarketClosed()
        deal = close_at_market(
            locked, position, lots, reason=reason, at=moment, quotes=latest_quotes()
        )
        if key is not None:
            Deal.objects.filter(pk=deal.pk).update(idempotency_key=key, fingerprint=asked)
        return deal


def close_all(account: Account, *, now: datetime | None = None) -> int:
    """Close every open position of the account at the market (the firm's doing, also when the
    market is closed: at the last price); returns how many. Nothing open: nothing to do."""
    moment = now or timezone.now()
    with transaction.atomic():
        locked = lock_account(account.pk)
        quotes = latest_quotes()
        closing = (
            Position.objects.select_for_update()
            .select_related("instrument")
            .filter(account=locked, closed_at__isnull=True)
            .order_by("id")
        )
        closed = 0
        for position in closing:
            if position.instrument.symbol not in quotes:
                continue  # never priced: nothing to close it at
            close_at_market(
                locked,
                position,
                position.volume,
                reason=Deal.Reason.STAFF,
                at=moment,
                quotes=quotes,
            )
            closed += 1
    return closed


def close_at_market(
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
        emit(account, [equity_snapshot(account, at)])
        return deal
    # The trade's end: one `out` with its whole volume and its net result, parts included.
    outs = Deal.objects.filter(position=position, entry=Deal.Entry.OUT)
    payload = deal_payload(deal, at)
    payload["volume"] = f"{sum(d.volume for d in outs):.2f}"
    payload["profit"] = f"{sum(d.profit for d in outs)}"
    emit(account, [payload, equity_snapshot(account, at)])
    return deal


def wrong_side_levels(
    instrument: Instrument,
    *,
    buying: bool,
    market: Decimal,
    sl: Decimal | None,
    tp: Decimal | None,
) -> dict[str, str]:
    """What is wrong with a stop loss or take profit on the wrong side of the price a position
    is valued at (a buy's bid, a sell's ask), each price at the instrument's digits: "Stop loss
    1.08450 must be below the current bid 1.08320." Empty when both are where they belong."""
    places = Decimal(1).scaleb(-instrument.digits)
    values = {"market": market.quantize(places)}
    wrong: dict[str, str] = {}
    if sl is not None and (sl >= market if buying else sl <= market):
        values["level"] = sl.quantize(places)
        wrong["sl"] = (
            _("Stop loss %(level)s must be below the current bid %(market)s.")
            if buying
            else _("Stop loss %(level)s must be above the current ask %(market)s.")
        ) % values
    if tp is not None and (tp <= market if buying else tp >= market):
        values["level"] = tp.quantize(places)
        wrong["tp"] = (
            _("Take profit %(level)s must be above the current bid %(market)s.")
            if buying
            else _("Take profit %(level)s must be below the current ask %(market)s.")
        ) % values
    return wrong


def deal_payload(deal: Deal, at: datetime) -> dict[str, Any]:
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


def _rate(spec: pricing.Spec, currency: str, quotes: dict[str, Quote]) -> Fraction:
    try:
        return pricing.conversion(
            spec.quote_currency, currency, {s: q.bid for s, q in quotes.items()}
        )
    except LookupError:
        raise OrderRefused(
            _("No price converts %(quote)s to the account's %(currency)s.")
            % {"quote": spec.quote_currency, "currency": currency}
        ) from None


def _check_volume(
    errors: FieldErrors, instrument: Instrument, lots: Decimal, *, at_most: Decimal | None = None
) -> None:
    top = instrument.max_volume if at_most is None else min(at_most, instrument.max_volume)
    if at_most is not None and lots == at_most:
        return  # closing all of a position is always allowed
    if not instrument.min_volume <= lots <= top:
        errors.add(
            "volume",
            _("Volume is between %(low)s and %(high)s.")
            % {"low": instrument.min_volume, "high": top},
        )
    elif (lots / instrument.volume_step) % 1:
        errors.add(
            "volume", _("Volume is a multiple of %(step)s.") % {"step": instrument.volume_step}
        )


def _digits_beyond(value: Decimal, digits: int) -> bool:
    return value != value.quantize(Decimal(1).scaleb(-digits))
