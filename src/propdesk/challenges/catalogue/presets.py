"""Presets: four well-known styles of rule book a firm starts a new challenge from, then edits
(the back office's "Start from a preset" on the new-challenge page fills the form with one).

Each is a definition as the API takes it (services.py's docstring), without a platform (the
first enabled one) or groups (the platform's first for the kind); its rules are the contract's
(docs/rules.md), so that every preset is what `Rules.parse` reads. Each pays its live stage on a
schedule of its style, and the 2-step one also offers a paid retry and a paid reset
(catalogue/offers.py). They are named by their style, not after a firm. docs/catalogue.md
describes them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from propdesk.challenges.catalogue import offers
from propdesk.challenges.catalogue.definition import (
    ChallengeDefinition,
    StageDefinition,
    StageKind,
    StageRules,
)
from propdesk.core.errors import NotFound
from propdesk.core.validation import FieldErrors
from propdesk.rules.model import Rules


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    summary: str
    definition: dict[str, Any]


def _challenge(
    name: str,
    tags: list[str],
    zone: str,
    fee: str,
    stages: list[dict[str, Any]],
    *,
    payouts: dict[str, Any],
    **offered: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "currency": "USD",
        "tags": tags,
        "time_zone": zone,
        "fee": fee,
        "fee_refundable": False,
        "payment_ways": ["wallet", "direct"],
        "client_groups": [],
        "progression": "automatic",
        "on_breach": "leave",
        "stages": stages,
        "payouts": payouts,
        **offered,
    }


def _stage(name: str, balance: str, rules: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "demo",
        "balance": balance,
        "leverage": 100,
        "rules": rules,
        **more,
    }


def _funded(balance: str, rules: dict[str, Any], *, leverage: int = 100) -> dict[str, Any]:
    return _stage("Funded", balance, rules, kind="live", leverage=leverage, profit_share_pct="80")


# (a) Two evaluation stages, a daily loss from the previous day's balance, a static max loss.
_TWO_STEP_LOSSES = {
    "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
    "max_loss": {"pct": "10", "mode": "static"},
}
TWO_STEP = _challenge(
    "2-Step 100K",
    ["2-step", "100K"],
    "Europe/Prague",
    "499.00",
    [
        _stage(
            "Challenge",
            "100000",
            {**_TWO_STEP_LOSSES, "profit_target_pct": "10", "min_trading_days": 4},
        ),
        _stage(
            "Verification",
            "100000",
            {**_TWO_STEP_LOSSES, "profit_target_pct": "5", "min_trading_days": 4},
        ),
        _funded("100000", _TWO_STEP_LOSSES),
    ],
    # Every 14 days on request; a failed trader may retry (20% off within a week) or reset.
    payouts={
        "timing": "on_request",
        "first_after_days": 14,
        "every_days": 14,
        "min_payout": "50.00",
    },
    retry={"fee": "449.00", "discount_pct": "20", "discount_days": 7},
    reset={"fee": "299.00"},
)

# (b) One stage, a max loss trailing the end-of-day balance, and best-day consistency.
_ONE_STEP_LOSSES = {
    "max_daily_loss": {"pct": "4", "basis": "prev_day_balance"},
    "max_loss": {"pct": "6", "mode": "trailing_eod"},
}
ONE_STEP = _challenge(
    "1-Step 100K",
    ["1-step", "100K"],
    "Europe/Prague",
    "549.00",
    [
        _stage(
            "Challenge",
            "100000",
            {
                **_ONE_STEP_LOSSES,
                "profit_target_pct": "10",
                "min_trading_days": 3,
                "best_day_max_pct": "50",
            },
        ),
        _funded("100000", {**_ONE_STEP_LOSSES, "best_day_max_pct": "50"}),
    ],
    payouts={
        "timing": "on_request",
        "first_after_days": 14,
        "every_days": 14,
        "min_payout": "100.00",
        "min_trading_days": 5,
    },
)

# (c) Futures style: an end-of-day trailing drawdown that stops 100 above the start, a session
# day that resets at 17:00 Chicago time, no position held over the weekend, a contract limit.
_FUTURES_LIMITS = {
    "day_reset": "17:00",
    "max_loss": {"pct": "4", "mode": "trailing_eod", "lock_offset": "100.00"},
    "max_open_volume": "10",
    "weekend_close": {"day": "friday", "time": "15:55"},
}
FUTURES = _challenge(
    "Futures 50K",
    ["futures", "50K"],
    "America/Chicago",
    "165.00",
    [
        _stage(
            "Evaluation",
            "50000",
            {
                **_FUTURES_LIMITS,
                "profit_target_pct": "6",
                "min_trading_days": 5,
                "trading_day": {"counts": "opened_and_closed"},
                "best_day_max_pct": "50",
            },
        ),
        _funded("50000", _FUTURES_LIMITS),
    ],
    # Twice a month, with winning-day and consistency conditions and nothing left open.
    payouts={
        "timing": "fixed_days",
        "first_after_days": 14,
        "fixed_days": [1, 15],
        "min_payout": "250.00",
        "min_trading_days": 5,
        "consistency_pct": "40",
        "no_open_positions": True,
    },
)

# (d) Intraday: the daily loss measured from the day's highest equity, a max loss trailing
# equity, trading days with a position opened and closed and a day profit of at least 0.5% of
# the balance, flat by Friday evening.
_INTRADAY_LIMITS = {
    "max_daily_loss": {"pct": "3", "basis": "day_peak_equity"},
    "max_loss": {"pct": "6", "mode": "trailing_intraday"},
    "max_open_positions": 5,
    "weekend_close": {"day": "friday", "time": "21:00"},
}
INTRADAY = _challenge(
    "Intraday 100K",
    ["intraday", "100K"],
    "Europe/Prague",
    "449.00",
    [
        _stage(
            "Challenge",
            "100000",
            {
                **_INTRADAY_LIMITS,
                "profit_target_pct": "8",
                "min_trading_days": 5,
                "trading_day": {"counts": "opened_and_closed", "min_profit_pct": "0.5"},
            },
        ),
        _funded("100000", _INTRADAY_LIMITS),
    ],
    # Weekly, flat when asking.
    payouts={
        "timing": "on_request",
        "first_after_days": 7,
        "every_days": 7,
        "min_payout": "50.00",
        "no_open_positions": True,
    },
)

PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset(
            "two_step",
            "2-step evaluation",
            "Two stages (10% then 5% target), 5% daily loss from the previous day's balance, "
            "10% static max loss",
            TWO_STEP,
        ),
        Preset(
            "one_step",
            "1-step with a trailing drawdown",
            "One stage (10% target), 6% max loss trailing the end-of-day balance, best day at "
            "most 50% of the profit",
            ONE_STEP,
        ),
        Preset(
            "futures",
            "Futures style",
            "End-of-day trailing drawdown that stops 100.00 above the start, at most 10 "
            "contracts, flat by Friday 15:55 Chicago time",
            FUTURES,
        ),
        Preset(
            "intraday",
            "Intraday",
            "3% daily loss from the day's highest equity, 6% max loss trailing equity, at most "
            "5 positions, flat by Friday 21:00",
            INTRADAY,
        ),
    )
}


def preset_definition(key: Any) -> dict[str, Any]:
    """A preset's definition, a copy to edit (as the API takes it)."""
    preset = PRESETS.get(key) if isinstance(key, str) else None
    if preset is None:
        raise NotFound(f"No such preset; the presets are: {', '.join(PRESETS)}.")
    return copy.deepcopy(preset.definition)


def preset_spec(key: Any) -> ChallengeDefinition:
    """A preset typed as a definition, for the form to show (no platform nor groups yet: the
    form offers them); its rules are the contract's canonical form (`Rules.parse`)."""
    made = preset_definition(key)
    # The offers typed by the catalogue's own checks (a preset is ours: it has no faults).
    errors = FieldErrors()
    currency = made["currency"]
    made["payouts"] = offers.clean_payouts(
        errors,
        made.get("payouts"),
        currency=currency,
        has_live=any(stage["kind"] == StageKind.LIVE for stage in made["stages"]),
    )
    made["retry"] = offers.clean_retry(errors, made.get("retry"), currency=currency)
    made["reset"] = offers.clean_reset(errors, made.get("reset"), currency=currency)
    assert not errors.errors, errors.errors
    stages = []
    for stage in made.pop("stages"):
        rules = {
            **stage["rules"],
            "initial_balance": stage["balance"],
            "timezone": made["time_zone"],
        }
        stages.append(
            StageDefinition(
                name=stage["name"],
                kind=StageKind(stage["kind"]),
                balance=stage["balance"],
                leverage=stage["leverage"],
                group="",
                profit_share_pct=stage.get("profit_share_pct"),
                rules=StageRules.model_validate(Rules.parse(rules).to_dict()),
            )
        )
    return ChallengeDefinition.model_validate({**made, "platform": "", "stages": stages})
