"""The back office's challenge form as a browser posts it, for the settings page tests."""

from __future__ import annotations

import copy
from typing import Any

LIST = "/backoffice/prop-trading/challenges/"
NEW = f"{LIST}new/"


STAGE_DEFAULTS = {
    "leverage": "100",
    "daily_loss_basis": "prev_day_balance",
    "daily_loss_of": "initial",
    "daily_loss_action": "fail",
    "max_loss_mode": "static",
    "max_loss_lock": "on",
    "day_reset": "00:00",
    "upgrade_immediately": "on",
}
TWO_STEP_ROWS: list[dict[str, Any]] = [
    {
        "kind": "demo",
        "name": "Challenge",
        "balance": "100000",
        "profit_target_pct": "8",
        "daily_loss_pct": "5",
        "max_loss_pct": "10",
        "min_trading_days": "4",
    },
    {
        "kind": "demo",
        "name": "Verification",
        "balance": "100000",
        "profit_target_pct": "5",
        "max_loss_pct": "10",
    },
    {
        "kind": "live",
        "name": "Funded",
        "balance": "100000",
        "leverage": "50",
        "profit_share_pct": "80",
        "max_loss_pct": "10",
        "max_loss_mode": "trailing_eod",
    },
]


# The Payouts section as a new challenge's form shows it (the default schedule), and the
# schedule the catalogue keeps from it; Retry and Reset are shown empty.
PAYOUTS_SHOWN = {
    "payouts-timing": "on_request",
    "payouts-first_after_days": "14",
    "payouts-every_days": "14",
    "payouts-fixed_days": "",
    "payouts-min_payout": "",
    "payouts-min_trading_days": "",
    "payouts-consistency_pct": "",
    "retry-fee": "",
    "retry-discount_pct": "",
    "retry-discount_days": "",
    "reset-fee": "",
}
SHOWN_SCHEDULE = {"timing": "on_request", "first_after_days": 14, "every_days": 14}


def challenge_form(rows: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """The new/edit form filled in for the 2-step challenge; rows are the stage rows (five are
    posted, the rest empty, as a browser does), then the offers' sections as shown for a new
    challenge (`PAYOUTS_SHOWN`; a section's field is given as `payouts__min_payout`); a value
    of None leaves the field out."""
    data: dict[str, Any] = {**PAYOUTS_SHOWN}
    data.update(
        {
            "name": "2-Step 100K",
            "currency": "USD",
            "tags": "2-step, 100K",
            "time_zone": "Europe/Prague",
            "fee": "499.00",
            "payment_ways": ["wallet", "direct"],
            "client_groups": [],
            "progression": "automatic",
            "platform": "Sandbox",
        }
    )
    data.update({key.replace("__", "-"): value for key, value in fields.items()})
    for number in range(5):
        row = (rows if rows is not None else TWO_STEP_ROWS)[number : number + 1]
        values = {**STAGE_DEFAULTS, **(row[0] if row else {})}
        data.update({f"stage-{number}-{key}": value for key, value in values.items()})
    return {key: value for key, value in data.items() if value is not None}


def with_row(number: int, **changes: Any) -> list[dict[str, Any]]:
    rows = copy.deepcopy(TWO_STEP_ROWS)
    rows[number].update(changes)
    return rows
