"""Why the evaluator did what it did, as text a person can check with a pencil.

Each outcome's `explanation` (built by the evaluator) holds the snapshot or deal that caused it
and every figure that went into the comparison; this module only words them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .evaluator import Evaluator
from .model import Outcome, Rules, decimal_text, format_time


def explain(evaluator: Evaluator) -> str:
    """The whole story: the rules, each pause, resume and verdict, then the figures now."""
    lines = [*_rules_lines(evaluator.rules), ""]
    outcomes = evaluator.outcomes
    if not outcomes:
        lines.append(
            "No pause and no verdict: no snapshot went below a floor, no day end decided the stage."
        )
    for outcome in outcomes:
        lines.extend(explain_outcome(outcome))
    lines.append("")
    lines.extend(_figures_lines(evaluator))
    return "\n".join(lines)


def explain_outcome(outcome: Outcome) -> list[str]:
    """A heading line for the outcome, then indented lines with its arithmetic."""
    why = outcome.explanation
    head = f"{format_time(outcome.at)}  {outcome.kind}"
    if outcome.rule is not None:
        head += f" ({outcome.rule})"
    rule = outcome.rule
    if outcome.kind == "resumed":
        body = [
            f"day {why['day']} ended at {why['day_end']}; the pause from {why['paused_at']} "
            "is over and the daily loss limit applies again"
        ]
    elif rule == "max_loss":
        body = _max_loss(why)
    elif rule == "max_daily_loss":
        body = _daily(why, outcome.kind)
    elif rule == "max_loss_per_trade":
        body = _per_trade(why)
    else:
        body = _day_end(why, outcome.kind, rule)
    return [head, *("  " + line for line in body)]


def _days(count: Any, noun: str = "day") -> str:
    """A count of days with its noun: "1 trading day", "3 days"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _n(text: str | None) -> str:
    """A decimal figure as written by people (no exponent)."""
    return "none" if text is None else decimal_text(Decimal(text))


def _snapshot(why: dict[str, Any]) -> str:
    snap = why["snapshot"]
    return (
        f"snapshot at line {why['event']} ({snap['t']}): balance {_n(snap['balance'])}, "
        f"equity {_n(snap['equity'])}"
    )


def _max_loss(why: dict[str, Any]) -> list[str]:
    mode = why["mode"]
    peak = {
        "static": "the initial balance",
        "trailing_intraday": "the highest of the initial balance and every equity so far",
        "trailing_eod": "the highest of the initial balance and every day's closing balance",
    }[mode]
    floor = _n(why["floor"])
    lines = [
        _snapshot(why),
        f"max loss, mode {mode}: peak = {peak} = {_n(why['peak'])}",
        f"allowed loss = {_n(why['pct'])}% of the initial balance "
        f"{_n(why['initial_balance'])} = {_n(why['allowed_loss'])}",
    ]
    if why["locked_at_initial"]:
        lines.append(
            f"floor = {_n(why['peak'])} - {_n(why['allowed_loss'])}, locked at the initial "
            f"balance = {floor}"
        )
    else:
        lines.append(f"floor = {_n(why['peak'])} - {_n(why['allowed_loss'])} = {floor}")
    lines.append(f"equity {_n(why['snapshot']['equity'])} < floor {floor}")
    return lines


def _daily(why: dict[str, Any], kind: str) -> list[str]:
    basis = why["basis"]
    source = {
        "prev_day_balance": "the previous day's closing balance",
        "prev_day_equity": "the previous day's closing equity",
        "prev_day_max_balance_equity": "the larger of the previous day's closing balance and "
        "equity",
        "initial_balance": "the initial balance",
    }[basis]
    of = "the initial balance" if why["of"] == "initial" else "the basis"
    floor = _n(why["floor"])
    lines = [
        _snapshot(why),
        f"daily loss on day {why['day']}: basis {basis} = {source} = {_n(why['basis_value'])} "
        f"(previous day closed at balance {_n(why['prev_day_balance'])}, "
        f"equity {_n(why['prev_day_equity'])})",
        f"allowed loss = {_n(why['pct'])}% of {of} {_n(why['of_value'])} = "
        f"{_n(why['allowed_loss'])}",
        f"floor = {_n(why['basis_value'])} - {_n(why['allowed_loss'])} = {floor}",
    ]
    result = f"equity {_n(why['snapshot']['equity'])} < floor {floor}"
    if kind == "paused":
        result += f": trading is paused until the day ends at {why['paused_until']}"
    lines.append(result)
    return lines


def _per_trade(why: dict[str, Any]) -> list[str]:
    deal = why["deal"]
    return [
        f"out deal at line {why['event']} ({deal['t']}): position "
        f"{json.dumps(deal['position'])}, profit {_n(deal['profit'])}",
        f"allowed loss per trade = {_n(why['pct'])}% of the initial balance "
        f"{_n(why['initial_balance'])} = {_n(why['allowed_loss'])}",
        f"profit {_n(deal['profit'])} < -{_n(why['allowed_loss'])}",
    ]


def _day_end(why: dict[str, Any], kind: str, rule: str | None) -> list[str]:
    lines = [
        f"day {why['day']} closed at {why['day_end']} with balance "
        f"{_n(why['closing_balance'])}, equity {_n(why['closing_equity'])}"
    ]
    objectives = why["objectives"]
    if rule == "inactivity":
        lines.append(
            f"no position was opened on the {_days(why['inactivity_days'])} from "
            f"{why['inactive_since']} to {why['day']} (last active day: "
            f"{why['last_active_day'] or 'none'})"
        )
        return lines
    if rule == "trading_period":
        lines.append(
            f"{why['last_day']} is the trading period's last day and the objectives do not hold:"
        )
    else:
        lines.append("every objective holds:")
    lines.extend("  " + line for line in _objective_lines(objectives))
    return lines


def _objective_lines(objectives: dict[str, Any]) -> list[str]:
    def mark(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    open_positions = objectives["open_positions"]
    lines = [f"open positions at the day's end: {open_positions} ({mark(open_positions == 0)})"]
    if objectives["target_balance"] is not None:
        lines.append(
            f"profit target: closing balance >= {_n(objectives['target_balance'])} "
            f"({mark(objectives['target_met'])})"
        )
    days, needed = objectives["trading_days"], objectives["min_trading_days"]
    lines.append(f"trading days: {days} of at least {needed} ({mark(days >= needed)})")
    consistency = objectives["consistency"]
    if consistency is not None:
        lines.append(
            f"consistency: total profit {_n(consistency['total_profit'])} > 0 and best day "
            f"{_n(consistency['best_day_profit'])} <= {_n(consistency['best_day_max_pct'])}% "
            f"of it = {_n(consistency['limit'])} ({mark(consistency['met'])})"
        )
    return lines


def _rules_lines(rules: Rules) -> list[str]:
    lines = [
        f"Rules: initial balance {decimal_text(rules.initial_balance)}; trading days in "
        f"{rules.timezone}, reset at {rules.day_reset}"
    ]
    if rules.max_loss is not None:
        ml = rules.max_loss
        lock = ", locked at the initial balance" if ml.lock_at_initial else ""
        lines.append(f"  max loss {decimal_text(ml.pct)}% ({ml.mode}{lock})")
    if rules.max_daily_loss is not None:
        dl = rules.max_daily_loss
        lines.append(
            f"  max daily loss {decimal_text(dl.pct)}% of {dl.of}, basis {dl.basis}, "
            f"action {dl.action}"
        )
    if rules.max_loss_per_trade_pct is not None:
        lines.append(f"  max loss per trade {decimal_text(rules.max_loss_per_trade_pct)}%")
    if rules.profit_target_pct is not None:
        lines.append(f"  profit target {decimal_text(rules.profit_target_pct)}%")
    lines.append(f"  at least {_days(rules.min_trading_days, 'trading day')}")
    if rules.trading_period_days is not None:
        lines.append(f"  trading period {_days(rules.trading_period_days)}")
    if rules.inactivity_days is not None:
        lines.append(f"  fails after {_days(rules.inactivity_days)} without a new position")
    if rules.best_day_max_pct is not None:
        lines.append(f"  best day at most {decimal_text(rules.best_day_max_pct)}% of the profit")
    when = "at the first day's end" if rules.upgrade_immediately else "at the period's end"
    lines.append(f"  passes {when} where every objective holds")
    return lines


def _figures_lines(evaluator: Evaluator) -> list[str]:
    figures = evaluator.figures()
    shown = figures.to_dict()
    lines = [f"Figures as of {shown.pop('as_of') or 'the start'}:"]
    for name, text in shown.items():
        value = getattr(figures, name)
        if isinstance(value, Decimal):
            text = decimal_text(value)
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        elif value is None:
            text = "none"
        lines.append(f"  {name.replace('_', ' ')}: {text}")
    return lines
