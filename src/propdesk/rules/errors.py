"""The errors bad input raises: always a message a person can act on, never a traceback."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class InputError(ValueError):
    """Input the evaluator refuses; `line` is the input line it concerns, when there is one."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def at_line(self, line: int) -> InputError:
        """The same error, naming `line` (the replay knows lines, the evaluator only events)."""
        return type(self)(self.message, line)

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


class RulesError(InputError):
    """The stage's rules cannot be evaluated."""


class EventError(InputError):
    """An event, or the order of events, is invalid."""


def shown(value: Any) -> str:
    """A value from the input, for a message: JSON-quoted, ASCII-only, and one short line."""
    if isinstance(value, Decimal):
        text = str(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = ascii(value)
    return text if len(text) <= 80 else text[:77] + "..."
