"""Why the evaluator did what it did, as text a person can check with a pencil.

Each outcome's `explanation` (built by the evaluator) holds the snapshot or deal that caused it
and every figure that went into the comparison; this module only words them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .closing import trading_day_figures
from .evaluator import Evaluator
from .figures import Figures
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
    for move in evaluator.moves:
        lines.extend(explain_move(move))
    day = evaluator.rules.trading_day
    if day.counts != "opened" or day.min_profit_pct is not None:
        lines.append(f"Trading days so far: {evaluator.trading_days}")
        lines.extend("  " + line for line in _trading_day_lines(trading_day_figures(evaluator)))
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
    elif rule in ("max_open_positions", "max_open_volume"):
        body = _open(why, rule)
    elif rule == "weekend_holding":
        body = _weekend(why)
    else:
        body = _day_end(why, outcome.kind, rule)
    return [head, *("  " + line for line in body)]


_REFERENCES = {
    "moved": "money moved so far",
    "prev_day_balance": "previous day's closing balance (daily basis)",
    "prev_day_equity": "previous day's closing equity (daily basis)",
    "day_peak_equity": "the day's peak equity",
    "peak": "max loss peak",
    "max_loss_floor": "max loss floor",
    "daily_loss_floor": "daily loss floor",
    "target_balance": "target, as a balance",
}


def explain_move(move: dict[str, Any]) -> list[str]:
    """A balance event: the amount, then each reference it moved, before and after."""
    amount = Decimal(move["amount"])
    way = "paid into" if amount > 0 else "taken out of"
    lines = [
        f"{move['t']}  balance event at line {move['event']}: {_n(str(abs(amount)))} {way} the "
        "account by the firm (not a trading result)"
    ]
    before, after = move["before"], move["after"]
    for key, label in _REFERENCES.items():
        if after.get(key) is None:
            continue
        if before.get(key) == after[key]:
            lines.append(f"  {label}: {_n(after[key])} (does not move)")
        else:
            lines.append(f"  {label}: {_n(before.get(key))} -> {_n(after[key])}")
    return lines


def _open(why: dict[str, Any], rule: str) -> list[str]:
    deal = why["deal"]
    lots = "" if deal["volume"] is None else f", {_n(deal['volume'])} lots"
    head = (
        f"in deal at line {why['event']} ({deal['t']}): position "
        f"{json.dumps(deal['position'])} opened{lots}"
    )
    if rule == "max_open_positions":
        return [
            head,
            f"open positions with it: {why['open_positions']} > the limit "
            f"{why['max_open_positions']}",
        ]
    return [
        head,
        f"open lots with it: {_n(why['open_volume'])} > the limit {_n(why['max_open_volume'])} "
        f"({why['open_positions']} positions open)",
    ]


def _weekend(why: dict[str, Any]) -> list[str]:
    count = why["open_positions"]
    named = ", ".join(json.dumps(p) for p in why["positions"])
    more = "" if count <= len(why["positions"]) else f" and {count - len(why['positions'])} more"
    return [
        f"weekend cutoff: {why['weekday']} {why['time']} in {why['timezone']} = {why['cutoff']}",
        f"{count} position{'' if count == 1 else 's'} open at the cutoff ({named}{more}; "
        f"{_n(why['open_volume'])} lots): every position must be closed by then",
    ]


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
    if "moved" in why and mode != "static":
        lines.append(f"(the peak has moved with the {_n(why['moved'])} moved by the firm)")
    if why["locked_at_initial"] and "lock_offset" in why:
        lines.append(
            f"floor = {_n(why['peak'])} - {_n(why['allowed_loss'])}, locked at the initial "
            f"balance + {_n(why['lock_offset'])} = {floor}"
        )
    elif why["locked_at_initial"]:
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
        "day_peak_equity": "the highest of the previous day's closing equity and every equity "
        "seen today",
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
    if "moved" in why:
        lines.insert(2, f"(these references include the {_n(why['moved'])} moved by the firm)")
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
    if objectives.get("trading_day") is not None:
        lines.extend("  " + line for line in _trading_day_lines(objectives["trading_day"]))
    consistency = objectives["consistency"]
    if consistency is not None:
        lines.append(
            f"consistency: total profit {_n(consistency['total_profit'])} > 0 and best day "
            f"{_n(consistency['best_day_profit'])} <= {_n(consistency['best_day_max_pct'])}% "
            f"of it = {_n(consistency['limit'])} ({mark(consistency['met'])})"
        )
    return lines


def _trading_day_lines(day: dict[str, Any]) -> list[str]:
    what = (
        "a day with at least one position opened"
        if day["counts"] == "opened"
        else "a day with at least one position opened and closed within it"
    )
    if day["min_profit_pct"] is not None:
        what += (
            f", and a day profit of at least {_n(day['min_profit_pct'])}% of the initial "
            f"balance = {_n(day['min_profit'])} (counted at the day's close)"
        )
    counted = [
        entry[0] if entry[1] is None else f"{entry[0]} (profit {_n(entry[1])})"
        for entry in day["counted"]
    ]
    return [f"a trading day is {what}", f"counted: {', '.join(counted) or 'none'}"]


def _rules_lines(rules: Rules) -> list[str]:
    lines = [
        f"Rules: initial balance {decimal_text(rules.initial_balance)}; trading days in "
        f"{rules.timezone}, reset at {rules.day_reset}"
    ]
    if rules.max_loss is not None:
        ml = rules.max_loss
        lock = ", locked at the initial balance" if ml.lock_at_initial else ""
        if ml.lock_at_initial and ml.lock_offset:
            lock += f" + {decimal_text(ml.lock_offset)}"
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
    day = rules.trading_day
    if day.counts != "opened" or day.min_profit_pct is not None:
        counts = "opened and closed the same day" if day.counts != "opened" else "opened"
        least = day.min_profit_pct
        profit = "" if least is None else f", with at least {decimal_text(least)}% day profit"
        lines.append(f"  a trading day needs a position {counts}{profit}")
    if rules.max_open_positions is not None:
        lines.append(f"  at most {rules.max_open_positions} positions open at once")
    if rules.max_open_volume is not None:
        lines.append(f"  at most {decimal_text(rules.max_open_volume)} lots open at once")
    if rules.weekend_close is not None:
        wc = rules.weekend_close
        lines.append(
            f"  every position closed by {wc.day.title()} {wc.time} ({rules.timezone}) each week"
        )
    when = "at the first day's end" if rules.upgrade_immediately else "at the period's end"
    lines.append(f"  passes {when} where every objective holds")
    return lines


def _unused_figures(evaluator: Evaluator, figures: Figures) -> list[str]:
    """The version-2 figures of rules that are not set: a version-1 rule set is explained as
    it always was."""
    rules = evaluator.rules
    unused = []
    day = rules.trading_day
    if day.counts == "opened" and day.min_profit_pct is None:
        unused += ["trading_day_counts", "trading_day_min_profit_pct"]
    if rules.max_open_positions is None and rules.max_open_volume is None:
        unused += ["open_volume", "max_open_positions", "max_open_volume"]
    if rules.weekend_close is None or figures.weekend_cutoff is None:
        unused.append("weekend_cutoff")
    if not evaluator.moves:
        unused.append("moved")
    return unused


def _figures_lines(evaluator: Evaluator) -> list[str]:
    figures = evaluator.figures()
    shown = figures.to_dict()
    lines = [f"Figures as of {shown.pop('as_of') or 'the start'}:"]
    for name in _unused_figures(evaluator, figures):
        shown.pop(name)
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
