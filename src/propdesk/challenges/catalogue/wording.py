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
    PayoutSchedule,
    PayoutTiming,
    ResetOffer,
    RetryOffer,
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
from propdesk.challenges.catalogue.offers import DEFAULT_SCHEDULE
from propdesk.core.templatetags.money import money
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


# --- the money offers beside the stages: payouts, retry, reset -----------------------------------


def priced(amount: Decimal, currency: str) -> str:
    """An offer's amount in its currency: 1,000.00 USD, 5,000 JPY."""
    return f"{money(amount, currency)} {currency}".strip()


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _listed(items: list[str]) -> str:
    """ "1st", "1st and 15th", "1st, 10th and 20th"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def payout_conditions(schedule: PayoutSchedule) -> list[str]:
    """What a payout period must meet besides the minimum, each in a few words."""
    conditions = []
    if schedule.min_trading_days:
        conditions.append(
            f"at least {plural(schedule.min_trading_days, 'trading day')} in the period"
        )
    if schedule.consistency_pct is not None:
        conditions.append(f"no day above {schedule.consistency_pct}% of the period's profit")
    if schedule.no_open_positions:
        conditions.append("no open positions")
    return conditions


def payout_schedule_text(schedule: PayoutSchedule, currency: str) -> str:
    """ "First payout 14 days after the live start, then every 14 days; minimum 50.00 USD;
    conditions: at least 5 trading days in the period, no open positions"."""
    first = schedule.first_after_days
    after = f"{plural(first, 'day')} after the live start" if first else "from the live start"
    if schedule.timing == PayoutTiming.FIXED_DAYS:
        days = _listed([_ordinal(day) for day in schedule.fixed_days])
        text = f"Payouts on the {days} of the month, the first {'at least ' if first else ''}"
        text += after
    else:
        every = schedule.every_days
        text = f"First payout {after}, then every {'day' if every == 1 else f'{every} days'}"
    least = schedule.min_payout
    text += f"; minimum {priced(least, currency)}" if least else "; no minimum"
    conditions = payout_conditions(schedule)
    if conditions:
        text += f"; conditions: {', '.join(conditions)}"
    return text


def retry_terms(retry: RetryOffer, currency: str) -> str:
    """ "99.00 USD, 20% off within 7 days of the failure"."""
    text = priced(retry.fee, currency)
    if retry.discount_pct is not None and retry.discount_days is not None:
        text += (
            f", {retry.discount_pct}% off within {plural(retry.discount_days, 'day')} "
            "of the failure"
        )
    return text


def reset_terms(reset: ResetOffer, currency: str) -> str:
    return priced(reset.fee, currency)


def has_live(definition: ChallengeDefinition) -> bool:
    return any(stage.is_live for stage in definition.stages)


def payouts_text(definition: ChallengeDefinition) -> str:
    """The schedule a challenge pays on, in words; a live challenge without one pays on the
    default schedule, and says so."""
    if definition.payouts is not None:
        return payout_schedule_text(definition.payouts, definition.currency)
    if has_live(definition):
        default = payout_schedule_text(DEFAULT_SCHEDULE, definition.currency)
        return f"{default} (the default schedule)"
    return "No payouts: the challenge has no live stage"


def retry_text(definition: ChallengeDefinition) -> str:
    """ "Retry: 99.00 USD, 20% off within 7 days of the failure", or "No paid retry"."""
    if definition.retry is None:
        return "No paid retry"
    return f"Retry: {retry_terms(definition.retry, definition.currency)}"


def reset_text(definition: ChallengeDefinition) -> str:
    """ "Reset: 49.00 USD", or "No paid reset"."""
    if definition.reset is None:
        return "No paid reset"
    return f"Reset: {reset_terms(definition.reset, definition.currency)}"


def offer_absent_text(key: str, definition: ChallengeDefinition | None) -> str:
    """What a version without `key` (payouts, retry, reset) offers; "—" with no version."""
    if definition is None:
        return "—"
    if key == "payouts":
        return payouts_text(definition)
    return retry_text(definition) if key == "retry" else reset_text(definition)
