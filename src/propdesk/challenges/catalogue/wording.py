"""How a challenge's definition reads, for staff and clients alike."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

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
from propdesk.challenges.payouts.eligibility import ordinal
from propdesk.core.templatetags.money import money

WEEKDAY_WORDS = {
    "monday": _("Monday"),
    "tuesday": _("Tuesday"),
    "wednesday": _("Wednesday"),
    "thursday": _("Thursday"),
    "friday": _("Friday"),
    "saturday": _("Saturday"),
    "sunday": _("Sunday"),
}


def _days(count: int) -> str:
    return ngettext("%(count)s day", "%(count)s days", count) % {"count": count}


def _trading_days(count: int) -> str:
    return ngettext("%(count)s trading day", "%(count)s trading days", count) % {"count": count}


def amount_text(value: Any) -> str:
    """100000.00 reads 100,000; 99.50 reads 99.50 (in English: the active language's
    separators, 100.000 and 99,50 in Spanish)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    if amount == amount.to_integral_value():
        return formats.number_format(int(amount), use_l10n=True, force_grouping=True)
    return formats.number_format(f"{amount:f}", use_l10n=True, force_grouping=True)


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
        lines.append(gettext("Profit target %(pct)s%%") % {"pct": rules.profit_target_pct})
    if rules.max_daily_loss:
        lines.append(daily_loss_text(rules.max_daily_loss))
    if rules.max_loss:
        lines.append(max_loss_text(rules.max_loss))
    if rules.max_loss_per_trade_pct:
        lines.append(
            gettext("Max loss per trade %(pct)s%%") % {"pct": rules.max_loss_per_trade_pct}
        )
    if rules.min_trading_days:
        lines.append(gettext("At least %(days)s") % {"days": _trading_days(rules.min_trading_days)})
    period = rules.trading_period_days
    lines.append(
        gettext("Trading period %(days)s") % {"days": _days(period)}
        if period
        else gettext("Unlimited trading period")
    )
    if rules.inactivity_days:
        days = rules.inactivity_days
        lines.append(
            ngettext(
                "Fails after %(count)s inactive day", "Fails after %(count)s inactive days", days
            )
            % {"count": days}
        )
    if rules.best_day_max_pct:
        lines.append(
            gettext("Best day at most %(pct)s%% of the total profit")
            % {"pct": rules.best_day_max_pct}
        )
    if rules.trading_day:
        lines.append(trading_day_text(rules.trading_day))
    if rules.max_open_positions or rules.max_open_volume:
        lines.append(open_limit_text(rules.max_open_positions, rules.max_open_volume))
    if rules.weekend_close:
        lines.append(weekend_close_text(rules.weekend_close, rules.timezone))
    lines.append(gettext("Day resets at %(time)s") % {"time": rules.day_reset})
    if not rules.upgrade_immediately:
        lines.append(gettext("Passes only at the end of the trading period"))
    return lines


def daily_loss_text(daily: DailyLossLimit) -> str:
    initial = daily.of == DailyLossOf.INITIAL
    pauses = daily.action == BreachAction.PAUSE
    if daily.basis == DailyLossBasis.DAY_PEAK_EQUITY:
        if initial:
            text = (
                gettext("Max daily loss %(pct)s%% of the initial balance; a breach pauses.")
                if pauses
                else gettext("Max daily loss %(pct)s%% of the initial balance; a breach fails.")
            )
        else:
            text = (
                gettext("Max daily loss %(pct)s%% of the basis; a breach pauses.")
                if pauses
                else gettext("Max daily loss %(pct)s%% of the basis; a breach fails.")
            )
        peak = gettext(
            "Daily loss measured from the day's highest equity (the previous day's closing "
            "equity or higher)"
        )
        return f"{text % {'pct': daily.pct}} {peak}"
    basis = str(BASIS_LABELS[daily.basis]).lower()
    if initial:
        text = (
            gettext(
                "Max daily loss %(pct)s%% of the initial balance, from the %(basis)s; "
                "a breach pauses"
            )
            if pauses
            else gettext(
                "Max daily loss %(pct)s%% of the initial balance, from the %(basis)s; "
                "a breach fails"
            )
        )
    else:
        text = (
            gettext("Max daily loss %(pct)s%% of the basis, from the %(basis)s; a breach pauses")
            if pauses
            else gettext(
                "Max daily loss %(pct)s%% of the basis, from the %(basis)s; a breach fails"
            )
        )
    return text % {"pct": daily.pct, "basis": basis}


def max_loss_text(max_loss: MaxLossLimit) -> str:
    mode = str(MODE_LABELS[max_loss.mode])
    text = gettext("Max loss %(pct)s%%, %(mode)s") % {
        "pct": max_loss.pct,
        "mode": f"{mode[:1].lower()}{mode[1:]}",
    }
    if max_loss.mode != MaxLossMode.STATIC and not max_loss.lock_at_initial:
        text += gettext(", not stopping at the initial balance")
    elif max_loss.mode != MaxLossMode.STATIC and max_loss.lock_offset:
        text += gettext(". Trailing stops %(amount)s above the start") % {
            "amount": money_text(max_loss.lock_offset)
        }
    return text


def trading_day_text(day: TradingDayLimit) -> str:
    """ "Trading day: a day with a position opened and closed the same day, and at least 0.5%
    profit"."""
    if day.counts == TradingDayCounts.OPENED_AND_CLOSED:
        text = gettext("Trading day: a day with a position opened and closed the same day")
    else:
        text = gettext("Trading day: a day with a position opened")
    if day.min_profit_pct is not None:
        text += gettext(", and at least %(pct)s%% profit") % {"pct": day.min_profit_pct}
    return text


def open_limit_text(positions: int | None, volume: Decimal | None) -> str:
    """ "At most 5 positions / 10 lots open at once"."""
    parts = []
    if positions:
        parts.append(
            ngettext("%(count)s position", "%(count)s positions", positions) % {"count": positions}
        )
    if volume:
        parts.append(
            ngettext("%(count)s lot", "%(count)s lots", 1 if volume == 1 else 2)
            % {"count": amount_text(volume)}
        )
    return gettext("At most %(limits)s open at once") % {"limits": " / ".join(parts)}


def weekend_close_text(weekend: WeekendClose, zone: str) -> str:
    """ "Every position closed by Friday 21:00 (Europe/Prague)"."""
    return gettext("Every position closed by %(day)s %(time)s (%(zone)s)") % {
        "day": WEEKDAY_WORDS.get(str(weekend.day), WEEKDAY_LABELS[weekend.day]),
        "time": weekend.time,
        "zone": zone,
    }


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


def _listed(items: list[str]) -> str:
    """ "1st", "1st and 15th", "1st, 10th and 20th"."""
    if len(items) == 1:
        return items[0]
    return gettext("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def payout_conditions(schedule: PayoutSchedule) -> list[str]:
    """What a payout period must meet besides the minimum, each in a few words."""
    conditions = []
    if schedule.min_trading_days:
        days = schedule.min_trading_days
        conditions.append(
            ngettext(
                "at least %(count)s trading day in the period",
                "at least %(count)s trading days in the period",
                days,
            )
            % {"count": days}
        )
    if schedule.consistency_pct is not None:
        conditions.append(
            gettext("no day above %(pct)s%% of the period's profit")
            % {"pct": schedule.consistency_pct}
        )
    if schedule.no_open_positions:
        conditions.append(gettext("no open positions"))
    return conditions


def payout_schedule_text(schedule: PayoutSchedule, currency: str) -> str:
    """ "First payout 14 days after the live start, then every 14 days; minimum 50.00 USD;
    conditions: at least 5 trading days in the period, no open positions"."""
    first = schedule.first_after_days
    if schedule.timing == PayoutTiming.FIXED_DAYS:
        days = _listed([ordinal(day) for day in schedule.fixed_days])
        if first:
            text = ngettext(
                "Payouts on the %(days)s of the month, the first at least %(count)s day after "
                "the live start",
                "Payouts on the %(days)s of the month, the first at least %(count)s days after "
                "the live start",
                first,
            ) % {"days": days, "count": first}
        else:
            text = gettext(
                "Payouts on the %(days)s of the month, the first from the live start"
            ) % {"days": days}
    else:
        every = schedule.every_days
        then = ngettext("then every day", "then every %(count)s days", every or 0) % {
            "count": every
        }
        if first:
            text = ngettext(
                "First payout %(count)s day after the live start, %(then)s",
                "First payout %(count)s days after the live start, %(then)s",
                first,
            ) % {"count": first, "then": then}
        else:
            text = gettext("First payout from the live start, %(then)s") % {"then": then}
    least = schedule.min_payout
    text += (
        gettext("; minimum %(amount)s") % {"amount": priced(least, currency)}
        if least
        else gettext("; no minimum")
    )
    conditions = payout_conditions(schedule)
    if conditions:
        text += gettext("; conditions: %(conditions)s") % {"conditions": ", ".join(conditions)}
    return text


def retry_terms(retry: RetryOffer, currency: str) -> str:
    """ "99.00 USD, 20% off within 7 days of the failure"."""
    text = priced(retry.fee, currency)
    if retry.discount_pct is not None and retry.discount_days is not None:
        days = retry.discount_days
        text += ngettext(
            ", %(pct)s%% off within %(count)s day of the failure",
            ", %(pct)s%% off within %(count)s days of the failure",
            days,
        ) % {"pct": retry.discount_pct, "count": days}
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
        return gettext("%(schedule)s (the default schedule)") % {"schedule": default}
    return gettext("No payouts: the challenge has no live stage")


def retry_text(definition: ChallengeDefinition) -> str:
    """ "Retry: 99.00 USD, 20% off within 7 days of the failure", or "No paid retry"."""
    if definition.retry is None:
        return gettext("No paid retry")
    return gettext("Retry: %(terms)s") % {
        "terms": retry_terms(definition.retry, definition.currency)
    }


def reset_text(definition: ChallengeDefinition) -> str:
    """ "Reset: 49.00 USD", or "No paid reset"."""
    if definition.reset is None:
        return gettext("No paid reset")
    return gettext("Reset: %(terms)s") % {
        "terms": reset_terms(definition.reset, definition.currency)
    }


def offer_absent_text(key: str, definition: ChallengeDefinition | None) -> str:
    """What a version without `key` (payouts, retry, reset) offers; "—" with no version."""
    if definition is None:
        return "—"
    if key == "payouts":
        return payouts_text(definition)
    return retry_text(definition) if key == "retry" else reset_text(definition)
