"""Every process logs one line a record: readable by default, JSON when asked, with the time in
UTC, the level, the logger, the request id and actor inside a request, and the `extra=` values;
a format or level that means nothing stops the start, naming its variable."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from propdesk.core import logs

LINE = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
    r"(?P<level>[A-Z]+) (?P<logger>\S+) (?P<rest>.*)"
)


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger writing through both formats' handlers, as the processes have them."""
    logger = logging.getLogger("propdesk.test_logs")
    readable, as_json = io.StringIO(), io.StringIO()
    handlers = [logs.handler(readable, "readable"), logs.handler(as_json, "json")]
    for handler in handlers:
        logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, readable, as_json
    for handler in handlers:
        logger.removeHandler(handler)
    logger.propagate = True
    logs.bind_request(None)


def test_a_readable_line_has_time_level_logger_request_actor_message_and_fields(written):
    logger, readable, _ = written
    logs.bind_request("r-1")
    logs.bind_actor("staff:3")
    logger.warning(
        "stage %s",
        "breached",
        extra={"rule": "max_loss", "equity": Decimal("94880.00"), "note": "two words"},
    )
    line = readable.getvalue()
    assert line.count("\n") == 1
    found = LINE.fullmatch(line.strip())
    assert found is not None, line
    assert (found["level"], found["logger"]) == ("WARNING", "propdesk.test_logs")
    assert found["rest"] == (
        '[req=r-1 actor=staff:3] stage breached rule=max_loss equity=94880.00 note="two words"'
    )


def test_a_json_line_has_the_same_as_fields(written):
    logger, _, as_json = written
    logs.bind_request("r-2")
    logs.bind_actor("client:7")
    try:
        raise ValueError("no good")
    except ValueError:
        logger.exception("failed", extra={"job": "42", "amount": Decimal("10.50"), "tries": 3})
    entry = json.loads(as_json.getvalue())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time"))
    assert "ValueError: no good" in entry.pop("exception")
    assert entry == {
        "level": "ERROR",
        "logger": "propdesk.test_logs",
        "message": "failed",
        "request_id": "r-2",
        "actor": "client:7",
        "job": "42",
        "amount": "10.50",
        "tries": 3,
    }


def test_exc_info_without_an_exception_adds_no_empty_traceback(written):
    logger, readable, as_json = written
    logger.error("task failed", exc_info=True)  # as django-tasks logs a failure, later
    assert readable.getvalue().count("\n") == 1
    assert "exception" not in json.loads(as_json.getvalue())


def test_a_line_outside_a_request_has_no_request_id_or_actor(written):
    logger, readable, as_json = written
    logger.info("worker started")
    assert "[" not in readable.getvalue()
    entry = json.loads(as_json.getvalue())
    assert "request_id" not in entry
    assert "actor" not in entry


def test_a_line_break_in_a_message_or_value_cannot_forge_a_second_line(written):
    logger, readable, as_json = written
    logger.warning("Not Found: /x\n2026-12-06T00:00:00.000Z INFO forged", extra={"v": "a\nb"})
    assert readable.getvalue().count("\n") == 1
    assert as_json.getvalue().count("\n") == 1
    assert '\\n2026-12-06T00:00:00.000Z INFO forged v="a\\nb"' in readable.getvalue()


def test_control_characters_and_unicode_line_breaks_are_written_as_escapes(written):
    """A terminal escape, a C1 control and the Unicode line and paragraph separators (which
    some readers split lines on) in a message or a value: written out, never raw."""
    logger, readable, as_json = written
    tricky = "a\x1b[2Jb\x85c\u2028d\u2029e\x07"
    logger.warning("seen: %s", tricky, extra={"path": tricky, "plain": "é"})
    line = readable.getvalue()
    assert line.splitlines() == [line.rstrip("\n")]
    assert "seen: a\\x1b[2Jb\\x85c\\u2028d\\u2029e\\x07" in line
    assert 'path="a\\x1b[2Jb\\x85c\\u2028d\\u2029e\\x07" plain=é' in line
    text = as_json.getvalue()
    assert text.splitlines() == [text.rstrip("\n")]
    assert all(c.isprintable() for c in text.rstrip("\n"))
    entry = json.loads(text)
    assert (entry["message"], entry["path"], entry["plain"]) == (f"seen: {tricky}", tricky, "é")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PROPDESK_LOG_FORMAT", "xml"), ("PROPDESK_LOG_LEVEL", "LOUD")],
)
def test_a_format_or_level_that_means_nothing_is_refused_naming_its_variable(variable, value):
    with pytest.raises(ImproperlyConfigured, match=variable):
        logs.logging_setting({variable: value})


def test_the_defaults_are_readable_lines_from_info():
    setting = logs.logging_setting({})
    assert setting["formatters"]["propdesk"]["()"] is logs.ReadableFormatter
    assert setting["root"]["level"] == "INFO"
    chosen = logs.logging_setting({"PROPDESK_LOG_FORMAT": "JSON", "PROPDESK_LOG_LEVEL": "debug"})
    assert chosen["formatters"]["propdesk"]["()"] is logs.JsonFormatter
    assert chosen["root"]["level"] == "DEBUG"


# --- A process of its own: the settings are read once per process ---------------------------------

SAY = (
    "from propdesk.processes import setup_django; setup_django(); import logging; "
    "logging.getLogger('propdesk.monitor').info('stage passed', extra={'attempt': 5}); "
    "logging.getLogger('propdesk.worker').warning('job failed', extra={'job': '9'}); "
    "access = logging.getLogger('gunicorn.access'); access.setLevel(logging.INFO); "
    "access.info('GET / 200')"
)


def _process(tmp_path: Path, **given: str) -> subprocess.CompletedProcess[str]:
    ours = ("PROPDESK_", "DJANGO_", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run(
        [sys.executable, "-c", SAY],
        env={**env, "PROPDESK_VAR_DIR": str(tmp_path), **given},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_process_writes_json_lines_from_the_level_asked_whatever_a_loggers_own(tmp_path):
    done = _process(tmp_path, PROPDESK_LOG_FORMAT="json", PROPDESK_LOG_LEVEL="WARNING")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["logger"], e["level"], e["message"], e["job"]) for e in lines] == [
        ("propdesk.worker", "WARNING", "job failed", "9")
    ]


def test_a_process_writes_readable_lines_by_default(tmp_path):
    done = _process(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 3
    assert lines[2].endswith(" INFO gunicorn.access GET / 200")
    assert LINE.fullmatch(lines[0])["rest"] == "stage passed attempt=5"  # type: ignore[index]
    assert lines[1].split(" ", 1)[1] == "WARNING propdesk.worker job failed job=9"


def test_a_process_with_an_unknown_log_format_stops_at_start_naming_the_variable(tmp_path):
    done = _process(tmp_path, PROPDESK_LOG_FORMAT="xml")
    assert done.returncode != 0
    assert "PROPDESK_LOG_FORMAT must be" in done.stderr
