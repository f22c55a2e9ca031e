"""How a challenge's definition reads, for staff and clients alike."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from propdesk.challenges.catalogue.definition import (
    BreachAction,
    ChallengeDefinition,
    DailyLossBasis,
    DailyLossLimit,
    DailyLossOf,
    MaxLossLimit,
    MaxLossMode,
    StageDefinition,
    StageRules,
    TradingDayCounts,
    TradingDayLimit,
    WeekendClose,
)
from propdesk.challenges.catalogue.forms import (
    BASIS_LABELS,
    KIND_LABELS,
    MODE_LABELS,
    WEEKDAY_LABELS,
)
from propdesk.core.text import plural


def amount_text(value: Any) -> str:
    """100000.00 reads 100,000; 99.50 reads 99.50."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,f}"


def money_text(value: Decimal) -> str:
    """An amount with at least its cents: 100 reads 100.00, 1000.5 reads 1,000.50, 0.125 as
    it is (nothing is rounded)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{value:,.2f}"
    return f"{value:,f}"


def stages_summary(definition: ChallengeDefinition) -> str:
    return " → ".join(f"{KIND_LABELS[s.kind]} {amount_text(s.balance)}" for s in definition.stages)


def rule_lines(rules: StageRules) -> list[str]:
    """A stage's rules in words, one line each; a rule not set is not listed."""
    lines = []
    if rules.profit_target_pct:
        lines.append(f"Profit target {rules.profit_target_pct}%")
    if rules.max_daily_loss:
        lines.append(daily_loss_text(rules.max_daily_loss))
    if rules.max_loss:
        lines.append(max_loss_text(rules.max_loss))
    if rules.max_loss_per_trade_pct:
        lines.append(f"Max loss per trade {rules.max_loss_per_trade_pct}%")
    if rules.min_trading_days:
        lines.append(f"At least {plural(rules.min_trading_days, 'trading day')}")
    period = rules.trading_period_days
    lines.append(
        f"Trading period {plural(period, 'day')}" if period else "Unlimited trading period"
    )
    if rules.inactivity_days:
        lines.append(f"Fails after {plural(rules.inactivity_days, 'inactive day')}")
    if rules.best_day_max_pct:
        lines.append(f"Best day at most {rules.best_day_max_pct}% of the total profit")
    if rules.trading_day:
        lines.append(trading_day_text(rules.trading_day))
    if rules.max_open_positions or rules.max_open_volume:
        lines.append(open_limit_text(rules.max_open_positions, rules.max_open_volume))
    if rules.weekend_close:
        lines.append(weekend_close_text(rules.weekend_close, rules.timezone))
    lines.append(f"Day resets at {rules.day_reset}")
    if not rules.upgrade_immediately:
        lines.append("Passes only at the end of the trading period")
    return lines


def daily_loss_text(daily: DailyLossLimit) -> str:
    of = "of the initial balance" if daily.of == DailyLossOf.INITIAL else "of the basis"
    basis = BASIS_LABELS[daily.basis].lower()
    action = "pauses" if daily.action == BreachAction.PAUSE else "fails"
    if daily.basis == DailyLossBasis.DAY_PEAK_EQUITY:
        return (
            f"Max daily loss {daily.pct}% {of}; a breach {action}. Daily loss measured from "
            "the day's highest equity (the previous day's closing equity or higher)"
        )
    return f"Max daily loss {daily.pct}% {of}, from the {basis}; a breach {action}"


def max_loss_text(max_loss: MaxLossLimit) -> str:
    mode = MODE_LABELS[max_loss.mode]
    text = f"Max loss {max_loss.pct}%, {mode[:1].lower()}{mode[1:]}"
    if max_loss.mode != MaxLossMode.STATIC and not max_loss.lock_at_initial:
        text += ", not stopping at the initial balance"
    elif max_loss.mode != MaxLossMode.STATIC and max_loss.lock_offset:
        text += f". Trailing stops {money_text(max_loss.lock_offset)} above the start"
    return text


def trading_day_text(day: TradingDayLimit) -> str:
    """ "Trading day: a day with a position opened and closed the same day, and at least 0.5%
    profit"."""
    if day.counts == TradingDayCounts.OPENED_AND_CLOSED:
        text = "Trading day: a day with a position opened and closed the same day"
    else:
        text = "Trading day: a day with a position opened"
    if day.min_profit_pct is not None:
        text += f", and at least {day.min_profit_pct}% profit"
    return text


def open_limit_text(positions: int | None, volume: Decimal | None) -> str:
    """ "At most 5 positions / 10 lots open at once"."""
    parts = []
    if positions:
        parts.append(plural(positions, "position"))
    if volume:
        parts.append(f"{amount_text(volume)} {'lot' if volume == 1 else 'lots'}")
    return f"At most {' / '.join(parts)} open at once"


def weekend_close_text(weekend: WeekendClose, zone: str) -> str:
    """ "Every position closed by Friday 21:00 (Europe/Prague)"."""
    return f"Every position closed by {WEEKDAY_LABELS[weekend.day]} {weekend.time} ({zone})"


def stage_line(stage: StageDefinition, currency: str = "") -> str:
    kind = KIND_LABELS[stage.kind]
    text = f"{stage.name}: {kind} {amount_text(stage.balance)} {currency}".rstrip()
    text += f", 1:{stage.leverage}, group {stage.group}"
    if stage.profit_share_pct:
        text += f", profit share {stage.profit_share_pct}%"
    return text
