"""What version 2 of the rules adds to a running stage's figures, in words for the participant
pages (docs/rules.md): how its trading days are counted, its open positions and lots against
their limits, the next weekend cutoff, and the money the firm moved in or out, with what each
move did to the references the rules measure from. Reading only, as `progress` is.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext

from propdesk.challenges.models import StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.core.money import MINOR_UNITS, quantum
from propdesk.rules.closing import cutoff_after
from propdesk.rules.figures import Figures
from propdesk.rules.model import OPENED_AND_CLOSED, decimal_text, pct_of


def exact(amount: Decimal | str | None, currency: str = "") -> str:
    """An amount with thousands separators in its currency's minor unit (95,000.00), never
    rounded: a figure finer than that unit (a floor can be) is written whole."""
    if amount is None:
        return "—"
    value = Decimal(amount)
    if currency in MINOR_UNITS:
        cents = value.quantize(quantum(currency))
        value = cents if cents == value else value.normalize()
    if value == 0:
        value = abs(value)  # never "-0.00"
    return formats.number_format(f"{value:f}", use_l10n=True, force_grouping=True)


# --- trading days ------------------------------------------------------------------------


def initial_balance(f: Figures) -> Decimal:
    """The stage's initial balance, as its figures hold it (profit is the balance less the
    initial balance and the money moved)."""
    return f.balance - f.profit - f.moved


def trading_day_words(f: Figures, currency: str = "") -> str:
    """Which days count as trading days when it is not the default (any day with a position
    opened): "a day with a position opened and closed", "a day with a position opened, and at
    least 0.5% profit (500.00 USD)". Empty for the default."""
    least = f.trading_day_min_profit_pct
    if f.trading_day_counts != OPENED_AND_CLOSED and least is None:
        return ""
    if f.trading_day_counts == OPENED_AND_CLOSED:
        words = gettext("a day with a position opened and closed")
    else:
        words = gettext("a day with a position opened")
    if least is not None:
        amount = pct_of(least, initial_balance(f))
        shown = f"{exact(amount, currency)} {currency}".rstrip()
        words += gettext(", and at least %(pct)s%% profit (%(amount)s)") % {
            "pct": decimal_text(least),
            "amount": shown,
        }
    return words


# --- open positions and lots ---------------------------------------------------------------


def used_pct(count: Decimal, limit: Decimal) -> Decimal:
    """How much of a limit is used, as a bar's length from 0 to 100 (two decimals)."""
    if limit <= 0:
        return Decimal(100)
    share = min(max(count * 100 / limit, Decimal(0)), Decimal(100))
    return share.quantize(Decimal("0.01"))


def open_limits(f: Figures) -> list[dict[str, Any]]:
    """The open positions and open lots against their limits, for the stages that set them:
    each with its key, label, the bar's length (`pct`), and the words ("2 of at most 3")."""
    found = []
    if f.max_open_positions is not None:
        found.append(
            {
                "key": "open_positions",
                "label": gettext("Open positions"),
                "count": f.open_positions,
                "limit": f.max_open_positions,
                "pct": used_pct(Decimal(f.open_positions), Decimal(f.max_open_positions)),
                "words": gettext("%(count)s of at most %(limit)s open")
                % {"count": f.open_positions, "limit": f.max_open_positions},
            }
        )
    if f.max_open_volume is not None:
        now, most = progress.lots(f.open_volume), progress.lots(f.max_open_volume)
        found.append(
            {
                "key": "open_volume",
                "label": gettext("Open lots"),
                "count": now,
                "limit": most,
                "pct": used_pct(f.open_volume, f.max_open_volume),
                "words": gettext("%(count)s of at most %(limit)s lots open")
                % {"count": now, "limit": most},
            }
        )
    return found


# --- the weekend cutoff --------------------------------------------------------------------


def weekend_close(
    attempt: StageAttempt,
    f: Figures,
    now: datetime | None = None,
    *,
    zone: ZoneInfo | None = None,
) -> dict[str, Any] | None:
    """A running stage's next weekend cutoff: the rule ("Friday 22:00 (Europe/Prague)"), the
    instant in `zone` (the reader's; by default the challenge's), how far off it is, and the
    positions open now. None without the rule or once the stage is decided.

    The figures' cutoff is the one after the account's last event; one the clock has passed
    with no position open changed nothing, and the next one is shown instead (with a position
    open, the monitor fails the stage at the one passed)."""
    if f.weekend_cutoff is None or attempt.status != StageAttempt.Status.IN_PROGRESS:
        return None
    rules = progress.rules_for(attempt)
    rule = rules.weekend_close
    if rule is None:
        return None
    now = now or timezone.now()
    at = f.weekend_cutoff
    if at <= now and not f.open_positions:
        at = cutoff_after(rules.zone, rule.weekday, rule.at, now)
    return {
        "rule": f"{WEEKDAYS[rule.weekday]} {rule.time} ({rules.timezone})",
        "at": at,
        "iso": at.isoformat().replace("+00:00", "Z"),
        "local": progress.instant_text(at, zone or rules.zone),
        "relative": progress.relative_text(at, now),
        "seconds": max(0, int((at - now).total_seconds())),
        "open_positions": f.open_positions,
    }


# --- money moved by the firm ----------------------------------------------------------------

REFERENCES = {  # what a balance event moves, as the participant page names it
    "moved": "Moved so far",
    "prev_day_balance": "Previous day's closing balance",
    "prev_day_equity": "Previous day's closing equity",
    "day_peak_equity": "The day's highest equity",
    "peak": "Max-loss peak",
    "max_loss_floor": "Max-loss floor",
    "daily_loss_floor": "Daily-loss floor",
    "target_balance": "Target balance (with the money moved)",
}


def moves(attempt: StageAttempt, currency: str, zone: ZoneInfo | None = None) -> list[dict]:
    """Each balance event of the stage (money the firm moved in or out, not a trading
    result): when, how much, and every reference the rules measure from before and after it
    (a static floor or the lock stays where it was; the daily floor and the trailing peaks
    move by the amount). Empty when there is none or the saved state cannot be read."""
    if attempt.evaluator_state is None or not attempt.evaluator_state.get("moves"):
        return []
    try:
        evaluator = progress.evaluator_for(attempt)
    except progress.UNREADABLE:
        return []
    shown_in = zone or evaluator.rules.zone
    found = []
    for move in evaluator.moves:
        before, after = move["before"], move["after"]
        rows = [
            {
                "key": key,
                "name": name,
                "before": exact(before.get(key), currency),
                "after": exact(after.get(key), currency),
                "moved": _value(before.get(key)) != _value(after.get(key)),
            }
            for key, name in REFERENCES.items()
            if before.get(key) is not None or after.get(key) is not None
        ]
        at = datetime.fromisoformat(move["t"].replace("Z", "+00:00"))
        amount = Decimal(move["amount"])
        found.append(
            {
                "event": move["event"],
                "at": progress.instant_text(at, shown_in),
                "amount": ("+" if amount > 0 else "") + exact(amount, currency),
                "size": exact(abs(amount), currency),
                "direction": "in" if amount > 0 else "out",
                "rows": rows,
            }
        )
    return found


def _value(text: str | None) -> Decimal | None:
    """A reference as a number (100000 and 100000.00 are the same floor)."""
    return None if text is None else Decimal(text)
