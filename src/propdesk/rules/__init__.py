"""The challenge rule evaluator (docs/rules.md): pure Python, no Django, no other propdesk app.

rules = Rules.from_json(text)            # or Rules.parse(obj); RulesError if unusable
evaluator = Evaluator(rules)             # or Evaluator.from_state(rules, saved)
for line in lines:
    outcomes = evaluator.feed(parse_line(line))   # EventError if invalid
evaluator.close_until(now)               # days that ended with no event since
evaluator.verdict(), evaluator.figures(), evaluator.state(), explain(evaluator)
"""

from .days import Calendar
from .errors import EventError, InputError, RulesError
from .evaluator import Evaluator
from .explain import explain, explain_move, explain_outcome
from .figures import Figures
from .model import (
    Balance,
    DailyLossRule,
    Deal,
    Equity,
    Event,
    MaxLossRule,
    Outcome,
    Rules,
    TradingDayRule,
    WeekendCloseRule,
    format_time,
)
from .parse import parse_event, parse_line, parse_time

__all__ = [
    "Balance",
    "Calendar",
    "DailyLossRule",
    "Deal",
    "Equity",
    "Evaluator",
    "Event",
    "EventError",
    "Figures",
    "InputError",
    "MaxLossRule",
    "Outcome",
    "Rules",
    "RulesError",
    "TradingDayRule",
    "WeekendCloseRule",
    "explain",
    "explain_move",
    "explain_outcome",
    "format_time",
    "parse_event",
    "parse_line",
    "parse_time",
]
