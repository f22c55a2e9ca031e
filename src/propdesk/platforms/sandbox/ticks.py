"""The feed's tick: an instrument's price moves, and what it crosses acts at once (stop losses
and take profits filled, accounts below their stop-out level closed out)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from propdesk.platforms.sandbox import history
from propdesk.platforms.sandbox.accounts import lock_account
from propdesk.platforms.sandbox.models import Account, Deal, Instrument, Position, Quote
from propdesk.platforms.sandbox.orders import close_at_market
from propdesk.platforms.sandbox.valuation import latest_quotes, open_positions, value


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
    history.record([(instrument, bid)], moment)
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
                close_at_market(
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
        return [
            close_at_market(
                account, position, position.volume, reason=reason, at=moment, quotes=quotes
            )
        ]


def _valued_by(instrument: Instrument) -> Iterable[Instrument]:
    """The instruments whose profit moves with this one's price: itself, and those whose quote
    currency it converts (USDJPY values every JPY-quoted instrument for a USD account)."""
    currencies = {instrument.base_currency, instrument.quote_currency} - {""}
    return Instrument.objects.filter(quote_currency__in=currencies) | Instrument.objects.filter(
        pk=instrument.pk
    )
