"""Whether a funded trader may ask for a payout now, and for how much: each condition of the
challenge's payout schedule with its figure, so the trader, the reviewer and the decision read
the same stated rule.

Pure: it works on what the services read (the stage's evaluator figures, the payouts so far,
what the platform says of the account) and touches no database.

The profit paid out is the *trading* profit not yet paid: the stage's trading profit so far
(its balance, and its equity when lower, less its initial balance and less any money the firm
moved in or out, which is not trading) less the profit of the payouts already approved. It does
not depend on whether the monitor has read a payout's balance operation yet: until it has,
neither the balance nor the money moved shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext, ngettext, pgettext

from propdesk.challenges.catalogue.definition import PayoutSchedule, PayoutTiming
from propdesk.core.money import quantum
from propdesk.core.schema import fixed_point
from propdesk.core.templatetags.money import money

DATE = "date"
PROFIT = "profit"
MIN_PAYOUT = "min_payout"
TRADING_DAYS = "min_trading_days"
CONSISTENCY = "consistency"
NO_OPEN_POSITIONS = "no_open_positions"


@dataclass(frozen=True)
class Standing:
    """The stage's figures as the monitor last read them (closing values: a balance operation
    not yet followed by a snapshot included)."""

    balance: Decimal
    equity: Decimal
    initial: Decimal
    moved: Decimal  # the money the firm moved in (+) or out (-) so far
    counted_days: tuple[date, ...]  # the trading days counted, as the stage's rules count them


@dataclass(frozen=True)
class History:
    """The payouts so far and what the platform says now (None where it could not be read)."""

    live_start: datetime
    previous_request: datetime | None  # the last approved payout's request
    paid_out: Decimal  # the profit of the payouts approved so far
    open_positions: int | None = None
    day_profits: Mapping[date, Decimal] | None = None  # closed trades' profit per trading day
    # The trading day (as the stage's rules name days) the period starts in; None: its date.
    period_day: date | None = None


@dataclass(frozen=True)
class Condition:
    key: str
    label: str
    met: bool | None  # None: could not be checked right now
    figure: str


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    next_date: datetime
    period_start: datetime
    profit: Decimal
    share_pct: Decimal
    trader_share: Decimal
    firm_share: Decimal
    currency: str
    conditions: tuple[Condition, ...] = field(default_factory=tuple)

    @property
    def unmet(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.met is not True)

    @property
    def date_come(self) -> bool:
        """Whether the payout date has come (other conditions may still be unmet)."""
        return all(c.met is True for c in self.conditions if c.key == DATE)

    def why_not(self) -> str:
        """The unmet conditions in one sentence (empty when eligible)."""
        return "; ".join(f"{c.label}: {c.figure}" for c in self.unmet)

    def to_json(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "next_date": self.next_date.isoformat(),
            "period_start": self.period_start.isoformat(),
            "profit": fixed_point(self.profit),
            "share_pct": fixed_point(self.share_pct),
            "trader_share": fixed_point(self.trader_share),
            "firm_share": fixed_point(self.firm_share),
            "currency": self.currency,
            "conditions": [asdict(c) for c in self.conditions],
        }


def split(profit: Decimal, share_pct: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """The trader's share (rounded down to the currency's minor unit) and the firm's (the
    rest): together exactly the profit."""
    trader = (profit * share_pct / 100).quantize(quantum(currency), rounding=ROUND_DOWN)
    return trader, profit - trader


def unpaid_profit(standing: Standing, paid_out: Decimal, currency: str) -> Decimal:
    """The trading profit not paid out yet (see the module's docstring); may be negative."""
    traded = min(standing.balance, standing.equity) - standing.initial - standing.moved
    return (traded - paid_out).quantize(quantum(currency), rounding=ROUND_DOWN)


def next_date(schedule: PayoutSchedule, history: History, zone: ZoneInfo) -> datetime:
    """From when the trader may ask for the next payout."""
    first = history.live_start + timedelta(days=schedule.first_after_days)
    previous = history.previous_request
    if schedule.timing == PayoutTiming.ON_REQUEST:
        if previous is None:
            return first
        return previous + timedelta(days=schedule.every_days or 1)
    earliest = first
    if previous is not None:  # a fixed day after the previous payout's
        after = datetime.combine(
            previous.astimezone(zone).date() + timedelta(days=1), datetime.min.time(), zone
        )
        earliest = max(earliest, after)
    day = earliest.astimezone(zone).date()
    while day.day not in schedule.fixed_days:
        day += timedelta(days=1)
    return max(earliest, datetime.combine(day, datetime.min.time(), zone))


def ordinal(day: int) -> str:
    """A day of the month as the reader's language says it: 1st, 22nd (1, 22 in Spanish)."""
    if 10 <= day % 100 <= 20 or day % 10 not in (1, 2, 3):
        said = pgettext("day of the month", "%(day)sth")
    elif day % 10 == 1:
        said = pgettext("day of the month", "%(day)sst")
    elif day % 10 == 2:
        said = pgettext("day of the month", "%(day)snd")
    else:
        said = pgettext("day of the month", "%(day)srd")
    return said % {"day": day}


def timing_words(schedule: PayoutSchedule) -> str:
    first = schedule.first_after_days
    if schedule.timing == PayoutTiming.ON_REQUEST:
        return gettext(
            "%(first)s days after the live start, then every %(every)s days after the previous "
            "request"
        ) % {"first": first, "every": schedule.every_days}
    named = [ordinal(d) for d in schedule.fixed_days]  # "1st and 15th", "1st, 10th and 20th"
    days = (
        named[0]
        if len(named) == 1
        else gettext("%(items)s and %(last)s") % {"items": ", ".join(named[:-1]), "last": named[-1]}
    )
    return gettext("on the %(days)s of the month, from %(first)s days after the live start") % {
        "days": days,
        "first": first,
    }


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def evaluate(
    schedule: PayoutSchedule,
    *,
    share_pct: Decimal,
    currency: str,
    standing: Standing,
    history: History,
    zone: ZoneInfo,
    now: datetime,
) -> Eligibility:
    """Every condition of the schedule, met or not, with its figure."""
    due = next_date(schedule, history, zone)
    start = history.previous_request or history.live_start
    profit = unpaid_profit(standing, history.paid_out, currency)
    trader, firm = split(max(profit, Decimal(0)), share_pct, currency)
    conditions = [
        Condition(
            DATE,
            gettext("Payout date"),
            now >= due,
            gettext("from %(when)s (%(timing)s)")
            % {"when": _when(due, zone), "timing": timing_words(schedule)},
        ),
        Condition(
            PROFIT,
            gettext("Profit since the last payout"),
            profit > 0,
            f"{money(profit, currency)} {currency}",
        ),
        Condition(
            MIN_PAYOUT,
            gettext("Your share (%(pct)s%% of the profit)") % {"pct": f"{share_pct.normalize():f}"},
            trader > 0 and trader >= schedule.min_payout,
            f"{money(trader, currency)} {currency}"
            + (
                gettext("; at least %(amount)s is paid out")
                % {"amount": f"{money(schedule.min_payout, currency)} {currency}"}
                if schedule.min_payout
                else ""
            ),
        ),
    ]
    if schedule.min_trading_days:
        since = history.period_day or start.astimezone(zone).date()
        days = sum(1 for day in standing.counted_days if day >= since)
        conditions.append(
            Condition(
                TRADING_DAYS,
                gettext("Trading days since %(day)s") % {"day": since.isoformat()},
                days >= schedule.min_trading_days,
                gettext("%(done)s of %(least)s")
                % {"done": days, "least": schedule.min_trading_days},
            )
        )
    if schedule.consistency_pct is not None:
        conditions.append(_consistency(schedule.consistency_pct, history.day_profits, currency))
    if schedule.no_open_positions:
        count = history.open_positions
        conditions.append(
            Condition(
                NO_OPEN_POSITIONS,
                gettext("No open positions when you ask"),
                None if count is None else count == 0,
                gettext("the platform cannot say right now")
                if count is None
                else ngettext("%(count)s open", "%(count)s open", count) % {"count": count},
            )
        )
    return Eligibility(
        eligible=all(c.met is True for c in conditions),
        next_date=due,
        period_start=start,
        profit=profit,
        share_pct=share_pct,
        trader_share=trader,
        firm_share=firm,
        currency=currency,
        conditions=tuple(conditions),
    )


def _consistency(
    limit: Decimal, day_profits: Mapping[date, Decimal] | None, currency: str
) -> Condition:
    label = gettext("Best day at most %(pct)s%% of the period's profit") % {
        "pct": f"{limit.normalize():f}"
    }
    if day_profits is None:
        said = gettext("the trade history cannot be read right now")
        return Condition(CONSISTENCY, label, None, said)
    total = sum(day_profits.values(), Decimal(0))
    if total <= 0 or not day_profits:
        said = gettext("no profit from closed trades in the period")
        return Condition(CONSISTENCY, label, False, said)
    best_day, best = max(day_profits.items(), key=lambda item: (item[1], item[0]))
    ratio = (best * 100 / total).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return Condition(
        CONSISTENCY,
        label,
        best * 100 <= limit * total,
        gettext("best day %(day)s: %(best)s, %(ratio)s%% of %(total)s")
        % {
            "day": best_day.isoformat(),
            "best": f"{money(best, currency)} {currency}",
            "ratio": ratio,
            "total": f"{money(total, currency)} {currency}",
        },
    )


def day_profits(
    deals: Sequence[tuple[datetime, Decimal]], *, since: datetime, day_of: Any
) -> dict[date, Decimal]:
    """Closed trades' profit per trading day (`day_of`: the stage's calendar), from `since`."""
    days: dict[date, Decimal] = {}
    for at, profit in deals:
        if at >= since:
            day = day_of(at)
            days[day] = days.get(day, Decimal(0)) + profit
    return days
