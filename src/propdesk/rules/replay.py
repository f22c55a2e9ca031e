"""`propdesk rules replay RULES.json EVENTS.jsonl [--until ISO-TIME] [--explain]`.

Prints the spec's verdict object (one JSON line) and exits 0 for any verdict. Any invalid input
gets one line on stderr, naming the file and line where there is one, and exit status 2. With
`--explain` the verdict line is followed by a blank line and the explanation in plain text.
"""

from __future__ import annotations

import codecs
import itertools
import json
import os
import sys
from collections.abc import Iterable
from datetime import datetime

from .errors import EventError, InputError
from .evaluator import Evaluator
from .explain import explain
from .model import Rules
from .parse import parse_line, parse_time

USAGE = "usage: propdesk rules replay RULES.json EVENTS.jsonl [--until ISO-TIME] [--explain]"


class _Refused(Exception):
    """Bad input: the message is the whole line to print."""


def main(argv: list[str]) -> int:
    try:
        return _run(argv)
    except _Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`... | head`): nothing left to say, and nothing to flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # A defect must not print a traceback over a verdict either.
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def _run(argv: list[str]) -> int:
    if any(arg in ("-h", "--help") for arg in argv):
        print(USAGE)
        return 0
    rules_path, events_path, until_text, explaining = _arguments(argv)
    rules = _read_rules(rules_path)
    until: datetime | None = None
    if until_text is not None:
        try:
            until = parse_time(until_text, "--until")
        except InputError as exc:
            raise _Refused(str(exc)) from None
    evaluator = Evaluator(rules)
    _replay(evaluator, events_path)
    if until is not None:
        try:
            evaluator.close_until(until)
        except InputError as exc:
            raise _Refused(f"--until {until_text}: {exc}") from None
    print(json.dumps(evaluator.verdict()))
    if explaining:
        print()
        print(explain(evaluator))
    return 0


def _arguments(argv: list[str]) -> tuple[str, str, str | None, bool]:
    paths: list[str] = []
    until: str | None = None
    explaining = False
    args = iter(argv)
    for arg in args:
        if arg == "--explain":
            explaining = True
        elif arg == "--until" or arg.startswith("--until="):
            if until is not None:
                raise _Refused(f"--until given twice; {USAGE}")
            until = arg[len("--until=") :] if "=" in arg else next(args, None)
            if until is None:
                raise _Refused(f"--until needs a time; {USAGE}")
        elif arg.startswith("-") and arg != "-":
            raise _Refused(f"unknown option {arg}; {USAGE}")
        else:
            paths.append(arg)
    if len(paths) != 2:
        raise _Refused(f"expected two files, RULES.json and EVENTS.jsonl, got {len(paths)}")
    return paths[0], paths[1], until, explaining


def _read_rules(path: str) -> Rules:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise _Refused(f"cannot read rules file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _Refused(f"rules file {path}: line {line}: not UTF-8 text") from None
    try:
        return Rules.from_json(text)
    except InputError as exc:
        raise _Refused(f"rules file {path}: {exc}") from None


def _replay(evaluator: Evaluator, path: str) -> None:
    """Feed every line to the evaluator: all of them are checked, also past a verdict."""
    count = 0
    try:
        with open(path, "rb") as file:
            count = _feed_lines(evaluator, file)
    except OSError as exc:
        raise _Refused(f"cannot read events file {path}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise _Refused(f"events file {path}: {exc}") from None
    if count == 0:
        raise _Refused(f"events file {path}: no event (the first line must be an equity event)")


def _feed_lines(evaluator: Evaluator, lines: Iterable[bytes]) -> int:
    """The hot loop of a replay; returns how many lines it read."""
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        return 0
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    feed = evaluator.feed
    parse = parse_line
    number = 0
    for number, raw in enumerate(itertools.chain((first,), lines), 1):
        try:
            feed(parse(raw.decode()))
        except UnicodeDecodeError:
            raise EventError("not UTF-8 text", number) from None
        except InputError as exc:
            raise exc.at_line(number) from None
    return number
