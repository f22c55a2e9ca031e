"""What an account is worth at the latest quotes: equity, margin and each open position's
floating profit, exact to the account currency's unit; and the equity snapshot the stream
carries after every change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from propdesk.core.money import MINOR_UNITS, from_minor
from propdesk.platforms.protocol import AccountState, OpenPosition
from propdesk.platforms.sandbox import pricing
from propdesk.platforms.sandbox.models import Account, Position, Quote


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


def equity_snapshot(account: Account, at: datetime) -> dict[str, Any]:
    """The account's equity snapshot (the valuation alone: no position list is built)."""
    equity = value(account, open_positions(account), latest_quotes()).equity
    return {
        "t": at.isoformat(),
        "type": "equity",
        "balance": f"{account.balance}",
        "equity": f"{equity}",
    }
