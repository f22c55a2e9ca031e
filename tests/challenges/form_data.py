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


def challenge_form(rows: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """The new/edit form filled in for the 2-step challenge; rows are the stage rows (five are
    posted, the rest empty, as a browser does); a value of None leaves the field out."""
    data: dict[str, Any] = {
        "name": "2-Step 100K",
        "currency": "USD",
        "tags": "2-step, 100K",
        "time_zone": "Europe/Prague",
        "fee": "499.00",
        "payment_ways": ["wallet", "direct"],
        "client_groups": "",
        "progression": "automatic",
        "platform": "Sandbox",
    }
    data.update(fields)
    for number in range(5):
        row = (rows if rows is not None else TWO_STEP_ROWS)[number : number + 1]
        values = {**STAGE_DEFAULTS, **(row[0] if row else {})}
        data.update({f"stage-{number}-{key}": value for key, value in values.items()})
    return {key: value for key, value in data.items() if value is not None}


def with_row(number: int, **changes: Any) -> list[dict[str, Any]]:
    rows = copy.deepcopy(TWO_STEP_ROWS)
    rows[number].update(changes)
    return rows
