"""How every propdesk process writes its log (docs/logging.md): one line a record, with the
time (UTC), the level, the logger, and, within a web request, the request's id and who made it
(the actor: a user's kind and id, never an email or a password); the values a line passes with
`extra=` follow as key=value pairs, or as fields of a JSON object with PROPDESK_LOG_FORMAT=json.

The request id and the actor live in context variables set by the request id middleware
(core.request_ids) and by the API's token authentication; `ContextFilter` copies them onto each
record as it is logged, so that a record carries them wherever it is formatted."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured

FORMATS = ("readable", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "propdesk_request_id", default=None
)
_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("propdesk_actor", default=None)

# What every LogRecord has of its own: anything else on a record came with `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "actor",
    "taskName",
}


def bind_request(request_id: str | None) -> None:
    """The request now handled on this thread (None: none; the actor is forgotten too)."""
    _request_id.set(request_id)
    _actor.set(None)


def bind_actor(actor: str | None) -> None:
    _actor.set(actor)


def request_id() -> str | None:
    return _request_id.get()


def actor() -> str | None:
    return _actor.get()


def actor_of(user: Any) -> str | None:
    """`staff:<id>` or `client:<id>` (the user's id): enough to find the person in the back
    office, nothing a reader of the logs should not see."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    kind = "staff" if getattr(user, "is_staff_user", False) else "client"
    return f"{kind}:{user.pk}"


class ContextFilter(logging.Filter):
    """Puts the request id and the actor of the request being handled on each record (a
    record given its own with `extra=` keeps them, e.g. the web server's access line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        if getattr(record, "actor", None) is None:
            record.actor = _actor.get()
        return True


class AsWarning(logging.Filter):
    """A record made a WARNING without its traceback: Django logs a request with a Host header
    not allowed (a scanner's, often) as an ERROR with the exception's traceback, as if
    something were broken."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


# Django's own extras left out: its request object (whose text is the path with its query
# string, which may carry a token) and runserver's time (the line has its own).
_LEFT_OUT = {"request", "server_time"}


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The values the line was logged with (`extra=`), in the order given."""
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _STANDARD and k not in _LEFT_OUT and not k.startswith("_")
    }


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _plain(value: Any) -> Any:
    """A value as JSON carries it: exact decimals and times as text."""
    if isinstance(value, Decimal | datetime):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


def _text(value: Any) -> str:
    """A value for a key=value pair: quoted when it holds a space, a quote, an equals sign, a
    backslash or anything not printable, so that one record stays one line and splits back."""
    if isinstance(value, dict | list | tuple):
        text = json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
    elif value is None:
        text = "-"
    else:
        text = str(_plain(value))
    if not text or any(c in ' "=\\' or not c.isprintable() for c in text):
        return '"' + escaped(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'
    return text


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(c: str) -> str:
    code = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(text: str) -> str:
    """The text with everything not printable written as an escape (`\\n`, `\\x1b`,
    `\\u2028`): line breaks of every kind, terminal escapes and other control characters that
    a visitor may put in a URL or a header cannot break a line, forge one or act on the
    terminal that shows it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape_one(c) for c in text)


def _json_safe(text: str) -> str:
    """A JSON line with the characters json leaves as they are but that some readers take for
    a line break or a control (C1 controls, U+2028, U+2029, ...) written as `\\u` escapes."""
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c.isprintable():
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            high, low = divmod(ord(c) - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    return "".join(out)


class ReadableFormatter(logging.Formatter):
    """`2026-12-06T14:03:11.123Z INFO propdesk.monitor [req=… actor=staff:3] message k=v`;
    a traceback follows on its own lines, each indented."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_time(record), record.levelname, record.name]
        context = [
            f"{label}={_text(value)}"
            for label, value in (
                ("req", getattr(record, "request_id", None)),
                ("actor", getattr(record, "actor", None)),
            )
            if value
        ]
        if context:
            parts.append("[" + " ".join(context) + "]")
        parts.append(escaped(record.getMessage()))
        parts += [f"{key}={_text(value)}" for key, value in extras(record).items()]
        line = " ".join(parts)
        trace = _trace(self, record)
        if trace:
            line += "\n" + "\n".join("    " + escaped(row) for row in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id and actor (when in a
    request), the `extra=` values as fields of their own, and `exception` (the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "actor"):
            if value := getattr(record, key, None):
                entry[key] = value
        for key, value in extras(record).items():
            entry.setdefault(key, _plain(value))
        if trace := _trace(self, record):
            entry["exception"] = trace
        return _json_safe(json.dumps(entry, default=str, ensure_ascii=False))


def _trace(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    text = ""
    if record.exc_info and record.exc_info[0] is not None:  # exc_info=True outside an except
        text = formatter.formatException(record.exc_info)
    elif record.exc_text:
        text = record.exc_text
    if record.stack_info:
        text = (text + "\n" if text else "") + formatter.formatStack(record.stack_info)
    return text


def log_format(environ: Mapping[str, str]) -> str:
    value = environ.get("PROPDESK_LOG_FORMAT", "").strip().lower() or "readable"
    if value not in FORMATS:
        raise ImproperlyConfigured(
            f'PROPDESK_LOG_FORMAT must be "readable" or "json" (got {value!r}).'
        )
    return value


def log_level(environ: Mapping[str, str]) -> str:
    value = environ.get("PROPDESK_LOG_LEVEL", "").strip().upper() or "INFO"
    if value not in LEVELS:
        raise ImproperlyConfigured(
            f"PROPDESK_LOG_LEVEL must be one of {', '.join(LEVELS)} (got {value!r})."
        )
    return value


def formatter_for(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else ReadableFormatter()


def logging_setting(environ: Mapping[str, str]) -> dict[str, Any]:
    """Django's LOGGING (a `logging.config.dictConfig`): every record, Django's and the web
    server's included, through one handler on standard error, in the format and from the
    level the environment names; a value that means nothing stops the start."""
    fmt, level = log_format(environ), log_level(environ)
    formatter = JsonFormatter if fmt == "json" else ReadableFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}, "as_warning": {"()": AsWarning}},
        "formatters": {"propdesk": {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "propdesk",
                "filters": ["context"],
                # Here too: a logger with a level of its own (gunicorn's) passes lower records.
                "level": level,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own handlers (its console one in DEBUG, runserver's) would write some
            # lines twice and in another format: its records go to the root's handler only.
            "django": {"handlers": [], "propagate": True},
            "django.server": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            "django.security.DisallowedHost": {"filters": ["as_warning"]},
            # django-tasks' own line for each job's start and end: propdesk.worker says more.
            "django_tasks": {"level": "WARNING"},
        },
    }


def handler(stream: Any, fmt: str = "readable") -> logging.Handler:
    """A handler as the processes have, writing to `stream` (the tests', a tool's own)."""
    made = logging.StreamHandler(stream)
    made.addFilter(ContextFilter())
    made.setFormatter(formatter_for(fmt))
    return made
