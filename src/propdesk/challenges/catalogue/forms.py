"""The back office's challenge form: the challenge's fields and up to five stage fieldsets,
turned into the catalogue's definition (services.py's docstring); the catalogue does the
checks, and its field paths (`stages.1.rules`) are put back on these fields."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from propdesk.accounts.models import ClientGroup
from propdesk.challenges.catalogue.definition import (
    MAX_OPEN_POSITIONS,
    MAX_STAGES,
    BreachAction,
    ChallengeDefinition,
    DailyLossBasis,
    DailyLossOf,
    MaxLossMode,
    OnBreach,
    PaymentWay,
    Progression,
    StageDefinition,
    StageKind,
    TradingDayCounts,
    Weekday,
)
from propdesk.core.errors import ValidationFailed
from propdesk.core.forms import AmountField, WholeNumberField
from propdesk.core.money import MINOR_UNITS
from propdesk.platforms.models import TradingServer

PAYMENT_WAY_LABELS: dict[str, str] = dict(PaymentWay.choices)
PROGRESSION_LABELS: dict[str, str] = dict(Progression.choices)
ON_BREACH_LABELS: dict[str, str] = dict(OnBreach.choices)
KIND_LABELS: dict[str, str] = dict(StageKind.choices)
BASIS_LABELS: dict[str, Any] = {
    DailyLossBasis.PREV_DAY_BALANCE: _("Previous day's balance"),
    DailyLossBasis.PREV_DAY_EQUITY: _("Previous day's equity"),
    DailyLossBasis.PREV_DAY_MAX_BALANCE_EQUITY: _("Previous day's higher of balance and equity"),
    DailyLossBasis.INITIAL_BALANCE: _("Initial balance"),
    DailyLossBasis.DAY_PEAK_EQUITY: _("Day's highest equity"),
}
OF_LABELS: dict[str, Any] = {
    DailyLossOf.INITIAL: _("of the initial balance"),
    DailyLossOf.BASIS: _("of the basis"),
}
ACTION_LABELS: dict[str, Any] = {
    BreachAction.FAIL: _("Fail the stage"),
    BreachAction.PAUSE: _("Pause until the day ends"),
}
MODE_LABELS: dict[str, Any] = {
    MaxLossMode.STATIC: _("Static (from the initial balance)"),
    MaxLossMode.TRAILING_INTRADAY: _("Trailing (highest equity, intraday)"),
    MaxLossMode.TRAILING_EOD: _("Trailing (highest end-of-day balance)"),
}
COUNTS_LABELS: dict[str, str] = {
    TradingDayCounts.OPENED: "A day with a position opened",
    TradingDayCounts.OPENED_AND_CLOSED: "A day with a position opened and closed the same day",
}
WEEKDAY_LABELS: dict[str, str] = {day: day.value.capitalize() for day in Weekday}
assert set(BASIS_LABELS) == set(DailyLossBasis)
assert set(COUNTS_LABELS) == set(TradingDayCounts)
assert set(ACTION_LABELS) == set(BreachAction)
assert set(MODE_LABELS) == set(MaxLossMode)
assert set(OF_LABELS) == set(DailyLossOf)
TIME_ZONES = sorted(available_timezones())


def _choices(labels: dict[str, str]) -> list[tuple[str, str]]:
    return list(labels.items())


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class PercentField(forms.CharField):
    """A percentage as typed; "8 %" reads "8" (the catalogue checks the number)."""

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value))
        return text.removesuffix("%").strip()


class ChallengeForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="As clients see it, e.g. 2-Step 100K")
    currency = forms.ChoiceField(choices=[(c, c) for c in MINOR_UNITS], initial="USD")
    tags = forms.CharField(
        max_length=500,
        required=False,
        label="Type tags",
        help_text="Comma-separated, e.g. 2-step, 100K",
    )
    time_zone = forms.CharField(
        max_length=60,
        initial="UTC",
        label="Time zone",
        help_text="Defines the trading days, e.g. Europe/Prague or UTC",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )
    fee = AmountField(label="Fee", help_text="In the challenge's currency, e.g. 499.00")
    fee_refundable = forms.BooleanField(required=False, label="Fee is refundable")
    payment_ways = forms.MultipleChoiceField(
        choices=_choices(PAYMENT_WAY_LABELS),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Accepted payment ways",
        initial=list(PaymentWay.values),
    )
    client_groups = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Client groups that see it",
        help_text="None ticked: every client (Settings > Client groups)",
    )
    progression = forms.ChoiceField(
        choices=_choices(PROGRESSION_LABELS),
        initial=Progression.AUTOMATIC.value,
        widget=forms.RadioSelect,
        label="Progression to the next demo stage",
    )
    on_breach = forms.ChoiceField(
        choices=_choices(ON_BREACH_LABELS),
        initial=OnBreach.LEAVE.value,
        widget=forms.RadioSelect,
        required=False,  # left out: leave them
        label="When a stage ends, its open positions",
    )
    platform = forms.ChoiceField(choices=(), label="Trading platform")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = list(TradingServer.objects.filter(enabled=True).values_list("name", flat=True))
        kept = self.initial.get("platform")
        if kept and kept not in names:  # a server disabled since: shown, and refused on save
            names.append(kept)
        field = self.fields["platform"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(n, n) for n in names]
        # The client groups that exist (a kept name no group has any more: shown, refused).
        groups = list(ClientGroup.objects.values_list("name", flat=True))
        known = {name.casefold() for name in groups}
        groups += [g for g in self.initial.get("client_groups") or [] if g.casefold() not in known]
        field = self.fields["client_groups"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(g, g) for g in groups]


class StageForm(forms.Form):
    """One stage; a row with no kind and nothing typed in is no stage."""

    kind = forms.ChoiceField(choices=[("", "—"), *_choices(KIND_LABELS)], required=False)
    name = forms.CharField(
        max_length=60, required=False, help_text="Empty: Stage N, or Funded for live"
    )
    balance = AmountField(required=False, label="Account size")
    leverage = WholeNumberField(required=False, initial=100, label="Leverage (1:N)")
    group = forms.ChoiceField(choices=(), required=False, label="Platform group")
    profit_share_pct = PercentField(
        max_length=20, required=False, label="Profit share %", help_text="Live stages only"
    )
    profit_target_pct = PercentField(max_length=20, required=False, label="Profit target %")
    daily_loss_pct = PercentField(max_length=20, required=False, label="Max daily loss %")
    daily_loss_basis = forms.ChoiceField(
        choices=_choices(BASIS_LABELS),
        initial=DailyLossBasis.PREV_DAY_BALANCE.value,
        required=False,
        label="Daily loss basis",
    )
    daily_loss_of = forms.ChoiceField(
        choices=_choices(OF_LABELS),
        initial=DailyLossOf.INITIAL.value,
        required=False,
        label="Daily loss % is",
    )
    daily_loss_action = forms.ChoiceField(
        choices=_choices(ACTION_LABELS),
        initial=BreachAction.FAIL.value,
        required=False,
        label="On a daily loss breach",
    )
    max_loss_pct = PercentField(max_length=20, required=False, label="Max loss %")
    max_loss_mode = forms.ChoiceField(
        choices=_choices(MODE_LABELS),
        initial=MaxLossMode.STATIC.value,
        required=False,
        label="Max loss mode",
    )
    max_loss_lock = forms.BooleanField(
        required=False, initial=True, label="Trailing floor stops at the initial balance"
    )
    max_loss_lock_offset = AmountField(
        required=False,
        label="Lock offset",
        help_text="The trailing floor stops this much above the initial balance; empty: 0",
    )
    max_loss_per_trade_pct = PercentField(
        max_length=20, required=False, label="Max loss per trade %"
    )
    min_trading_days = WholeNumberField(required=False, label="Min trading days")
    trading_period_days = WholeNumberField(
        required=False, label="Trading period (days)", help_text="Empty: unlimited"
    )
    inactivity_days = WholeNumberField(
        required=False, label="Inactivity limit (days)", help_text="Empty: none"
    )
    best_day_max_pct = PercentField(
        max_length=20,
        required=False,
        label="Best day max %",
        help_text="Of the total profit (consistency)",
    )
    day_reset = forms.CharField(
        max_length=5, required=False, initial="00:00", label="Day reset (HH:MM)"
    )
    upgrade_immediately = forms.BooleanField(
        required=False,
        initial=True,
        label="Pass as soon as every objective holds (not only at the period's end)",
    )
    trading_day_counts = forms.ChoiceField(
        choices=_choices(COUNTS_LABELS),
        initial=TradingDayCounts.OPENED.value,
        required=False,  # left out: opened
        label="A trading day is",
    )
    trading_day_min_profit_pct = PercentField(
        max_length=20,
        required=False,
        label="Trading day min profit %",
        help_text="Of the initial balance; empty: any day counts",
    )
    max_open_positions = WholeNumberField(
        required=False,
        low=1,
        high=MAX_OPEN_POSITIONS,
        label="Max open positions",
        help_text="At once; empty: no limit",
    )
    max_open_volume = AmountField(
        required=False, label="Max open volume (lots)", help_text="At once; empty: no limit"
    )
    weekend_close_day = forms.ChoiceField(
        choices=[("", "—"), *_choices(WEEKDAY_LABELS)],
        required=False,
        label="Weekend close day",
        help_text="Every position closed by this day each week; empty: none",
    )
    weekend_close_time = forms.CharField(
        max_length=5,
        required=False,
        label="Weekend close time (HH:MM)",
        help_text="In the time zone above",
    )

    # What a person types: any of these makes the row a stage.
    TYPED = (
        "kind",
        "name",
        "balance",
        "profit_share_pct",
        "profit_target_pct",
        "daily_loss_pct",
        "max_loss_pct",
        "max_loss_per_trade_pct",
        "min_trading_days",
        "trading_period_days",
        "inactivity_days",
        "best_day_max_pct",
        "max_loss_lock_offset",
        "trading_day_min_profit_pct",
        "max_open_positions",
        "max_open_volume",
        "weekend_close_day",
        "weekend_close_time",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", "The platform's first group for the kind")]
        known: set[str] = set()
        for server in TradingServer.objects.filter(enabled=True):
            for kind, groups in (
                (StageKind.DEMO, server.demo_groups),
                (StageKind.LIVE, server.live_groups),
            ):
                if groups:
                    choices.append((f"{server.name}: {kind}", [(g, g) for g in groups]))
                    known.update(groups)
        kept = self.initial.get("group")
        if kept and kept not in known:
            choices.append((kept, kept))
        field = self.fields["group"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def is_stage(self) -> bool:
        data = self.cleaned_data
        return any(data.get(name) not in (None, "") for name in self.TYPED)

    def summary_label(self, number: int) -> str:
        name = (self.data.get(self.add_prefix("name")) or "").strip()
        return f"Stage {number}" + (f" ({name})" if name else "")


def stage_forms(
    data: Any = None, stages: tuple[StageDefinition, ...] | None = None
) -> list[StageForm]:
    stages = stages or ()
    return [
        StageForm(
            data,
            prefix=f"stage-{n}",
            initial=stage_initial(stages[n]) if n < len(stages) else {},
        )
        for n in range(MAX_STAGES)
    ]


# --- definition <-> form -------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A kept value as its field shows it; nothing is empty."""
    return "" if value is None else str(value)


def challenge_initial(definition: ChallengeDefinition | None) -> dict[str, Any]:
    if definition is None:
        return {}
    return {
        "name": definition.name,
        "currency": definition.currency,
        "tags": ", ".join(definition.tags),
        "time_zone": definition.time_zone,
        "fee": str(definition.fee),
        "fee_refundable": definition.fee_refundable,
        "payment_ways": [way.value for way in definition.payment_ways],
        "client_groups": list(definition.client_groups),
        "progression": definition.progression.value,
        "on_breach": definition.on_breach.value,
        "platform": definition.platform,
    }


def stage_initial(stage: StageDefinition) -> dict[str, Any]:
    rules = stage.rules
    daily = rules.max_daily_loss
    max_loss = rules.max_loss
    day = rules.trading_day
    weekend = rules.weekend_close
    initial = {
        "kind": stage.kind.value,
        "name": stage.name,
        "balance": str(stage.balance),
        "leverage": stage.leverage,
        "group": stage.group,
        "profit_share_pct": _text(stage.profit_share_pct),
        "profit_target_pct": _text(rules.profit_target_pct),
        "daily_loss_pct": str(daily.pct) if daily else "",
        "daily_loss_basis": (daily.basis if daily else DailyLossBasis.PREV_DAY_BALANCE).value,
        "daily_loss_of": (daily.of if daily else DailyLossOf.INITIAL).value,
        "daily_loss_action": (daily.action if daily else BreachAction.FAIL).value,
        "max_loss_pct": str(max_loss.pct) if max_loss else "",
        "max_loss_mode": (max_loss.mode if max_loss else MaxLossMode.STATIC).value,
        "max_loss_lock": max_loss.lock_at_initial if max_loss else True,
        "max_loss_lock_offset": str(max_loss.lock_offset)
        if max_loss and max_loss.lock_offset
        else "",
        "max_loss_per_trade_pct": _text(rules.max_loss_per_trade_pct),
        "min_trading_days": rules.min_trading_days or None,
        "trading_period_days": rules.trading_period_days,
        "inactivity_days": rules.inactivity_days,
        "best_day_max_pct": _text(rules.best_day_max_pct),
        "day_reset": rules.day_reset,
        "upgrade_immediately": rules.upgrade_immediately,
        "trading_day_counts": (day.counts if day else TradingDayCounts.OPENED).value,
        "trading_day_min_profit_pct": _text(day.min_profit_pct if day else None),
        "max_open_positions": rules.max_open_positions,
        "max_open_volume": _text(rules.max_open_volume),
        "weekend_close_day": weekend.day.value if weekend else "",
        "weekend_close_time": weekend.time if weekend else "",
    }
    return initial


def definition_from(form: ChallengeForm, stages: list[StageForm]) -> dict[str, Any]:
    """The catalogue's definition from valid forms; only the stage rows in use, in order."""
    data = form.cleaned_data
    return {
        "name": data["name"],
        "currency": data["currency"],
        "tags": _names(data["tags"]),
        "time_zone": data["time_zone"].strip(),
        "fee": data["fee"].strip(),
        "fee_refundable": data["fee_refundable"],
        "payment_ways": list(data["payment_ways"]),
        "client_groups": list(data["client_groups"]),
        "progression": data["progression"],
        "on_breach": data["on_breach"] or OnBreach.LEAVE.value,
        "platform": data["platform"],
        "stages": [_stage(stage.cleaned_data) for stage in stages if stage.is_stage()],
    }


def _stage(data: dict[str, Any]) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "name": data["name"],
        "kind": data["kind"],
        "balance": data["balance"].strip(),
        "rules": _rules(data),
    }
    if data["leverage"] is not None:
        stage["leverage"] = data["leverage"]
    if data["group"]:
        stage["group"] = data["group"]
    if data["profit_share_pct"]:
        stage["profit_share_pct"] = data["profit_share_pct"]
    return stage


def _rules(data: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "day_reset": data["day_reset"].strip() or "00:00",
        "upgrade_immediately": data["upgrade_immediately"],
    }
    for key in ("profit_target_pct", "max_loss_per_trade_pct", "best_day_max_pct"):
        if data[key]:
            rules[key] = data[key]
    if data["daily_loss_pct"]:
        rules["max_daily_loss"] = {
            "pct": data["daily_loss_pct"],
            "basis": data["daily_loss_basis"] or DailyLossBasis.PREV_DAY_BALANCE.value,
            "of": data["daily_loss_of"] or DailyLossOf.INITIAL.value,
            "action": data["daily_loss_action"] or BreachAction.FAIL.value,
        }
    if data["max_loss_pct"] or data["max_loss_lock_offset"]:
        # An offset without a max loss % is sent as it is: the contract names what is missing.
        rules["max_loss"] = {
            "mode": data["max_loss_mode"] or MaxLossMode.STATIC.value,
            "lock_at_initial": data["max_loss_lock"],
        }
        if data["max_loss_pct"]:
            rules["max_loss"]["pct"] = data["max_loss_pct"]
        if data["max_loss_lock_offset"]:
            rules["max_loss"]["lock_offset"] = data["max_loss_lock_offset"]
    for key in ("min_trading_days", "trading_period_days", "inactivity_days", "max_open_positions"):
        if data[key] is not None:
            rules[key] = data[key]
    if data["max_open_volume"]:
        rules["max_open_volume"] = data["max_open_volume"]
    counts = data["trading_day_counts"] or TradingDayCounts.OPENED.value
    if counts != TradingDayCounts.OPENED or data["trading_day_min_profit_pct"]:
        rules["trading_day"] = {"counts": counts}
        if data["trading_day_min_profit_pct"]:
            rules["trading_day"]["min_profit_pct"] = data["trading_day_min_profit_pct"]
    day, at = data["weekend_close_day"], data["weekend_close_time"].strip()
    if day or at:  # one without the other: the contract names the one missing
        rules["weekend_close"] = {
            **({"day": day} if day else {}),
            **({"time": at} if at else {}),
        }
    return rules


# --- the catalogue's faults, back on the form ----------------------------------------------------

# A rules fault's message starts with the key at fault (docs/rules.md's names); longest first,
# so that max_loss_per_trade_pct is not taken for max_loss.
RULE_FIELDS = (
    ("max_loss_per_trade_pct", "max_loss_per_trade_pct"),
    ("max_open_positions", "max_open_positions"),
    ("max_open_volume", "max_open_volume"),
    ("max_daily_loss", "daily_loss_pct"),
    ("max_loss", "max_loss_pct"),
    ("profit_target_pct", "profit_target_pct"),
    ("min_trading_days", "min_trading_days"),
    ("trading_period_days", "trading_period_days"),
    ("inactivity_days", "inactivity_days"),
    ("best_day_max_pct", "best_day_max_pct"),
    ("day_reset", "day_reset"),
    ("upgrade_immediately", "upgrade_immediately"),
    ("trading_day", "trading_day_counts"),
    ("weekend_close", "weekend_close_day"),
)
SUB_FIELDS = {
    ("max_daily_loss", "basis"): "daily_loss_basis",
    ("max_daily_loss", "of"): "daily_loss_of",
    ("max_daily_loss", "action"): "daily_loss_action",
    ("max_loss", "mode"): "max_loss_mode",
    ("max_loss", "lock_at_initial"): "max_loss_lock",
    ("max_loss", "lock_offset"): "max_loss_lock_offset",
    ("trading_day", "min_profit_pct"): "trading_day_min_profit_pct",
    ("weekend_close", "time"): "weekend_close_time",
}
_STAGE_PATH = re.compile(r"stages\.([0-9]+)\.(\w+)\Z")


def _rule_field(message: str) -> tuple[str | None, str]:
    """The stage form's field a rules fault is about, and the message said of that field
    ("max_loss.pct must be a percentage > 0 and < 100, got 150" is "Must be ..." on Max loss %)."""
    for key, field in RULE_FIELDS:
        if not message.startswith(key):
            continue
        rest = message[len(key) :]
        if rest.startswith("."):  # a key inside the rule's object: pct, basis, of, action, mode
            inner, _, rest = rest[1:].partition(" ")
            field = SUB_FIELDS.get((key, inner), field)
        said = rest.strip()
        if key == "upgrade_immediately":
            return field, message
        if said == "is required":  # a part of a rule given without the rest
            return field, "Required with this rule's other fields: fill it in, or empty them."
        if not said.startswith(("must", "cannot")):
            return field, message
        return field, said[:1].upper() + said[1:]
    return None, message


def apply_definition_errors(
    error: ValidationFailed, form: ChallengeForm, stages: list[StageForm]
) -> None:
    """Put the catalogue's faults on the fields they name (stage N of the definition is the
    N-th stage row in use); what names no field goes to the form as a whole."""
    in_use = [n for n, stage in enumerate(stages) if stage.is_valid() and stage.is_stage()]
    for path, message in error.fields.items():
        match = _STAGE_PATH.match(path)
        if match is None:
            if path in form.fields:
                form.add_error(path, message)
            elif path == "stages":
                form.add_error(None, f"Stages: {message} Fill in at least one stage.")
            else:
                form.add_error(None, f"{path}: {message}")
            continue
        number, key = int(match[1]), match[2]
        if number >= len(in_use):
            form.add_error(None, f"Stage {number + 1}: {message}")
            continue
        stage = stages[in_use[number]]
        field: str | None = key
        shown = message
        if key == "rules":
            field, shown = _rule_field(message)
        if field in stage.fields:
            stage.add_error(field, shown)
        else:
            stage.add_error(None, message)
    if not error.fields:
        form.add_error(None, error.message)


def form_faults(form: ChallengeForm, stages: list[StageForm]) -> list[str]:
    """Every fault on the page as one line, naming the stage and the field, for the list at
    the top (the fields show theirs too)."""
    lines = [
        " ".join(str(e) for e in errors)
        if name == "__all__"
        else f"{form[name].label}: {' '.join(str(e) for e in errors)}"
        for name, errors in form.errors.items()
    ]
    for number, stage in enumerate(stages, start=1):
        for name, errors in stage.errors.items():
            where = "" if name == "__all__" else f", {str(stage[name].label).lower()}"
            lines.append(
                f"{stage.summary_label(number)}{where}: {' '.join(str(e) for e in errors)}"
            )
    return lines
