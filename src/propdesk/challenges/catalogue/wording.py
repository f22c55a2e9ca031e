"""How a challenge's definition reads, for staff and clients alike."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from propdesk.challenges.catalogue.forms import BASIS_LABELS, KIND_LABELS, MODE_LABELS


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


def stages_summary(definition: dict[str, Any]) -> str:
    return " → ".join(
        f"{KIND_LABELS.get(s['kind'], s['kind'])} {amount_text(s['balance'])}"
        for s in definition.get("stages", [])
    )


def rule_lines(rules: dict[str, Any]) -> list[str]:
    """A stage's rules in words, one line each; a rule not set is not listed."""
    lines = []
    if rules.get("profit_target_pct"):
        lines.append(f"Profit target {rules['profit_target_pct']}%")
    if rules.get("max_daily_loss"):
        lines.append(daily_loss_text(rules["max_daily_loss"]))
    if rules.get("max_loss"):
        lines.append(max_loss_text(rules["max_loss"]))
    if rules.get("max_loss_per_trade_pct"):
        lines.append(f"Max loss per trade {rules['max_loss_per_trade_pct']}%")
    if rules.get("min_trading_days"):
        lines.append(f"At least {rules['min_trading_days']} trading days")
    period = rules.get("trading_period_days")
    lines.append(f"Trading period {period} days" if period else "Unlimited trading period")
    if rules.get("inactivity_days"):
        lines.append(f"Fails after {rules['inactivity_days']} inactive days")
    if rules.get("best_day_max_pct"):
        lines.append(f"Best day at most {rules['best_day_max_pct']}% of the total profit")
    lines.append(f"Day resets at {rules.get('day_reset', '00:00')}")
    if not rules.get("upgrade_immediately", True):
        lines.append("Passes only at the end of the trading period")
    return lines


def daily_loss_text(daily: dict[str, Any]) -> str:
    of = "of the initial balance" if daily.get("of", "initial") == "initial" else "of the basis"
    basis = BASIS_LABELS.get(daily.get("basis", ""), str(daily.get("basis"))).lower()
    action = "pauses" if daily.get("action") == "pause" else "fails"
    return f"Max daily loss {daily.get('pct')}% {of}, from the {basis}; a breach {action}"


def max_loss_text(max_loss: dict[str, Any]) -> str:
    mode = MODE_LABELS.get(max_loss.get("mode", ""), str(max_loss.get("mode")))
    text = f"Max loss {max_loss.get('pct')}%, {mode[:1].lower()}{mode[1:]}"
    if max_loss.get("mode") != "static" and not max_loss.get("lock_at_initial", True):
        text += ", not stopping at the initial balance"
    return text


def stage_line(stage: dict[str, Any], currency: str = "") -> str:
    kind = KIND_LABELS.get(stage.get("kind", ""), stage.get("kind", ""))
    text = f"{stage.get('name')}: {kind} {amount_text(stage.get('balance'))} {currency}".rstrip()
    text += f", 1:{stage.get('leverage')}, group {stage.get('group')}"
    if stage.get("profit_share_pct"):
        text += f", profit share {stage['profit_share_pct']}%"
    return text
