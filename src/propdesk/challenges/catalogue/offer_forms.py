"""The back office's challenge form, its money offers beside the stages: the Payouts section (the
live stages' payout schedule), Retry (a paid retry of a failed participation) and Reset (a paid
reset of a running stage). Each section is a form of its own, prefixed with its key in the
definition (`payouts`, `retry`, `reset`), so that the catalogue's fault `payouts.min_payout`
lands on the field `payouts-min_payout`; the catalogue does the checks (catalogue/offers.py).

What is sent: with a live stage in use, the schedule shown (a challenge kept without one shows
the default schedule, and saving the form keeps it); without a live stage, a schedule only if a
field was changed from what the form showed, for the catalogue to refuse ("Only a challenge with
a live stage pays out"), never dropped unsaid. A retry or a reset only when one of its fields is
filled in: empty, there is none. Of the two timings' fields, only the chosen timing's is sent.
"""

from __future__ import annotations

from typing import Any

from django import forms

from propdesk.challenges.catalogue.definition import (
    ChallengeDefinition,
    PayoutSchedule,
    PayoutTiming,
    StageKind,
)
from propdesk.challenges.catalogue.forms import PercentField
from propdesk.challenges.catalogue.offers import DEFAULT_SCHEDULE, LAST_FIXED_DAY, MAX_DAYS
from propdesk.core.errors import ValidationFailed
from propdesk.core.forms import AmountField, WholeNumberField

TIMING_LABELS: dict[str, str] = {
    PayoutTiming.ON_REQUEST: "On request: the first after N days, then every M days",
    PayoutTiming.FIXED_DAYS: "On fixed days of the month",
}
assert set(TIMING_LABELS) == set(PayoutTiming)


class PayoutsForm(forms.Form):
    timing = forms.ChoiceField(
        choices=list(TIMING_LABELS.items()),
        initial=PayoutTiming.ON_REQUEST.value,
        widget=forms.RadioSelect,
        required=False,  # left out: on request
        label="When the trader may ask for a payout",
    )
    first_after_days = WholeNumberField(
        required=False,
        high=MAX_DAYS,
        label="First payout after (days)",
        help_text="From the live stage's start; empty: 14",
    )
    every_days = WholeNumberField(
        required=False,
        low=1,
        high=MAX_DAYS,
        label="Then every (days)",
        help_text="On request only: days between two payouts; empty: 14",
    )
    fixed_days = forms.CharField(
        max_length=200,
        required=False,
        label="Days of the month",
        help_text=f"Fixed days only: comma-separated, 1 to {LAST_FIXED_DAY}, e.g. 1, 15",
    )
    min_payout = AmountField(
        required=False,
        label="Minimum payout",
        help_text="The trader's share must reach it, in the challenge's currency; empty: none",
    )
    min_trading_days = WholeNumberField(
        required=False,
        high=MAX_DAYS,
        label="Min trading days in the period",
        help_text="Since the previous payout (or the live start); empty: none",
    )
    consistency_pct = PercentField(
        max_length=20,
        required=False,
        label="Consistency %",
        help_text="No day's profit above this share of the period's profit; empty: none",
    )
    no_open_positions = forms.BooleanField(
        required=False, label="No open positions when the trader asks"
    )


class RetryForm(forms.Form):
    fee = AmountField(
        required=False,
        label="Retry fee",
        help_text="A failed participation starts again from the first stage; empty: no retry",
    )
    discount_pct = PercentField(
        max_length=20, required=False, label="Discount %", help_text="Empty: no discount"
    )
    discount_days = WholeNumberField(
        required=False,
        low=1,
        high=MAX_DAYS,
        label="Discount lasts (days)",
        help_text="After the failure",
    )


class ResetForm(forms.Form):
    fee = AmountField(
        required=False,
        label="Reset fee",
        help_text="A running demo stage starts over on a fresh account; empty: no reset",
    )


SECTIONS = {"payouts": "Payouts", "retry": "Retry", "reset": "Reset"}


def offer_forms(
    data: Any = None, definition: ChallengeDefinition | None = None
) -> dict[str, forms.Form]:
    """The three sections, filled from `definition` (a new challenge's with the default
    schedule), keyed by their path in the definition."""
    retry = definition.retry if definition else None
    reset = definition.reset if definition else None
    schedule = (definition.payouts if definition else None) or DEFAULT_SCHEDULE
    return {
        "payouts": PayoutsForm(data, prefix="payouts", initial=payouts_initial(schedule)),
        "retry": RetryForm(
            data,
            prefix="retry",
            initial={
                "fee": str(retry.fee),
                "discount_pct": _text(retry.discount_pct),
                "discount_days": retry.discount_days,
            }
            if retry
            else {},
        ),
        "reset": ResetForm(data, prefix="reset", initial={"fee": str(reset.fee)} if reset else {}),
    }


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def payouts_initial(schedule: PayoutSchedule) -> dict[str, Any]:
    return {
        "timing": schedule.timing.value,
        "first_after_days": schedule.first_after_days,
        "every_days": schedule.every_days,
        "fixed_days": ", ".join(str(day) for day in schedule.fixed_days),
        "min_payout": str(schedule.min_payout) if schedule.min_payout else "",
        "min_trading_days": schedule.min_trading_days or None,
        "consistency_pct": _text(schedule.consistency_pct),
        "no_open_positions": schedule.no_open_positions,
    }


def _typed(form: forms.Form, names: list[str] | tuple[str, ...]) -> bool:
    return any(form.cleaned_data.get(name) not in (None, "", False) for name in names)


def with_offers(made: dict[str, Any], sections: dict[str, forms.Form]) -> dict[str, Any]:
    """The definition built from the stage form, with the offers the valid sections hold."""
    payouts, retry, reset = (sections[key].cleaned_data for key in SECTIONS)
    live = any(stage.get("kind") == StageKind.LIVE for stage in made["stages"])
    if live or _typed(sections["payouts"], sections["payouts"].changed_data):
        made["payouts"] = _schedule(payouts)
    if _typed(sections["retry"], ("fee", "discount_pct", "discount_days")):
        made["retry"] = {
            "fee": retry["fee"],
            **({"discount_pct": retry["discount_pct"]} if retry["discount_pct"] else {}),
            **(
                {"discount_days": retry["discount_days"]}
                if retry["discount_days"] is not None
                else {}
            ),
        }
    if reset["fee"]:
        made["reset"] = {"fee": reset["fee"]}
    return made


def _schedule(data: dict[str, Any]) -> dict[str, Any]:
    timing = data["timing"] or PayoutTiming.ON_REQUEST.value
    schedule: dict[str, Any] = {"timing": timing}
    if data["first_after_days"] is not None:
        schedule["first_after_days"] = data["first_after_days"]
    if timing == PayoutTiming.ON_REQUEST and data["every_days"] is not None:
        schedule["every_days"] = data["every_days"]
    if timing == PayoutTiming.FIXED_DAYS:
        schedule["fixed_days"] = [d.strip() for d in data["fixed_days"].split(",") if d.strip()]
    if data["min_payout"]:
        schedule["min_payout"] = data["min_payout"]
    if data["min_trading_days"] is not None:
        schedule["min_trading_days"] = data["min_trading_days"]
    if data["consistency_pct"]:
        schedule["consistency_pct"] = data["consistency_pct"]
    if data["no_open_positions"]:
        schedule["no_open_positions"] = True
    return schedule


def apply_offer_errors(
    error: ValidationFailed, sections: dict[str, forms.Form]
) -> ValidationFailed:
    """Put the catalogue's faults about the offers on their sections' fields (`retry.fee` on
    Retry fee; `payouts` on the Payouts section as a whole); the rest is answered for the
    stage form to place."""
    rest: dict[str, str] = {}
    for path, message in error.fields.items():
        key, _, field = path.partition(".")
        form = sections.get(key)
        if form is None:
            rest[path] = message
        elif field in form.fields:
            form.add_error(field, message)
        else:
            form.add_error(None, message)
    return ValidationFailed(error.message, fields=rest)


def offer_faults(sections: dict[str, forms.Form]) -> list[str]:
    """Each section's faults as one line each, for the list at the top of the page."""
    lines = []
    for key, form in sections.items():
        for name, errors in form.errors.items():
            where = "" if name == "__all__" else f", {str(form[name].label).lower()}"
            lines.append(f"{SECTIONS[key]}{where}: {' '.join(str(e) for e in errors)}")
    return lines
