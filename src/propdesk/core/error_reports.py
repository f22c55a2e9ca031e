"""Optional error reporting to Sentry (or a server speaking its protocol, e.g. GlitchTip):
started by settings.py in every process (web, worker, monitor, feed) when PROPDESK_SENTRY_DSN
is set, and never sending what may identify or authenticate a person: no request bodies, no
cookies, no Authorization or CSRF headers, no query strings, no local variables, no user's
email or address (the SDK's `data_collection`, the successor of `send_default_pii=False`).
A report carries the request id and the actor (core.logs) as tags, so that it can be found
in the logs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from propdesk import __version__
from propdesk.core import logs

# Headers never sent, whatever their case (the request's body and cookies are dropped whole).
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken"}
# ... and those naming the caller's address (the SDK's own list when personal data is off).
HEADER_TERMS = [*sorted(SECRET_HEADERS), "forwarded", "-ip", "remote-", "via", "-user"]


def sentry_options(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The SDK's options from the environment, checked; None when no DSN is set."""
    dsn = environ.get("PROPDESK_SENTRY_DSN", "").strip()
    if not dsn:
        return None
    if not dsn.startswith(("https://", "http://")) or "@" not in dsn:
        raise ImproperlyConfigured(
            "PROPDESK_SENTRY_DSN must be a DSN such as https://key@sentry.example/1 "
            "(the project's client key, from Sentry's settings)."
        )
    rate_text = environ.get("PROPDESK_SENTRY_TRACES_SAMPLE_RATE", "").strip() or "0"
    try:
        rate = float(rate_text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ImproperlyConfigured(
            f"PROPDESK_SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1 (got {rate_text!r})."
        )
    return {
        "dsn": dsn,
        "environment": environ.get("PROPDESK_SENTRY_ENVIRONMENT", "").strip() or "production",
        "release": f"propdesk@{__version__}",
        "traces_sample_rate": rate,
        # The SDK's successor of `send_default_pii=False` (which it now deprecates), stricter:
        # no user, cookies, bodies, query strings, SQL parameters or local variables.
        "data_collection": {
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "denylist", "terms": HEADER_TERMS}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "graphql": {"document": False, "variables": False},
            "gen_ai": {"inputs": False, "outputs": False},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        "max_request_body_size": "never",
        "before_send": scrub,
        "before_send_transaction": scrub,
        "before_breadcrumb": scrub_breadcrumb,
    }


def start(environ: Mapping[str, str]) -> bool:
    """Start reporting when a DSN is set; whether it did."""
    options = sentry_options(environ)
    if options is None:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import ignore_logger

    sentry_sdk.init(integrations=[DjangoIntegration()], **options)
    # A request with a Host header not allowed: a scanner's, every few minutes on a public
    # address; a warning line (core.logs), not an error to report.
    ignore_logger("django.security.DisallowedHost")
    return True


def stop() -> None:
    """Send what is queued and stop reporting (the tests': no report escapes to the next)."""
    import sentry_sdk

    client = sentry_sdk.get_client()
    if client.is_active():
        client.flush(timeout=5)
        client.close()
    sentry_sdk.get_global_scope().set_client(None)


def scrub(event: dict[str, Any], hint: Any) -> dict[str, Any]:
    """Whatever the integrations gathered, the request's body, cookies and credentials go,
    and email addresses in the messages, the exceptions' texts and the line's fields are
    replaced (an exception may name the person it was about); the request id and the actor
    come."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: value
                for name, value in headers.items()
                if str(name).lower() not in SECRET_HEADERS
            }
    _scrub_texts(event)
    tags = event.setdefault("tags", {})
    if isinstance(tags, dict):
        for name, value in (("request_id", logs.request_id()), ("actor", logs.actor())):
            if value:
                tags[name] = value
    return event


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def without_emails(text: str) -> str:
    return EMAIL.sub("[email]", text)


def _scrub_texts(event: dict[str, Any]) -> None:
    if isinstance(event.get("message"), str):
        event["message"] = without_emails(event["message"])
    entry = event.get("logentry")
    if isinstance(entry, dict):
        for key in ("message", "formatted"):
            if isinstance(entry.get(key), str):
                entry[key] = without_emails(entry[key])
        if isinstance(entry.get("params"), list):
            entry["params"] = [
                without_emails(p) if isinstance(p, str) else p for p in entry["params"]
            ]
    for value in (event.get("exception") or {}).get("values") or []:
        if isinstance(value, dict) and isinstance(value.get("value"), str):
            value["value"] = without_emails(value["value"])
    extra = event.get("extra")
    if isinstance(extra, dict):
        event["extra"] = {
            k: without_emails(v) if isinstance(v, str) else v for k, v in extra.items()
        }
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    for crumb in values if isinstance(values, list) else []:
        if isinstance(crumb, dict):
            scrub_breadcrumb(crumb, None)


def scrub_breadcrumb(crumb: dict[str, Any], hint: Any) -> dict[str, Any]:
    """A breadcrumb (an earlier log line, an HTTP call) keeps its category, level and message
    (email addresses replaced), and none of its data: a log line's fields, a call's URL."""
    crumb.pop("data", None)
    if isinstance(crumb.get("message"), str):
        crumb["message"] = without_emails(crumb["message"])
    return crumb
