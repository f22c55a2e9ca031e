"""Errors go to Sentry when PROPDESK_SENTRY_DSN is set: a real SDK sends a real envelope to a
server on this machine standing in for Sentry, with the exception, the release and the request
id, and without the request's body, cookies or credentials."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sentry_sdk
from django.core.exceptions import ImproperlyConfigured
from django.test import Client as HttpClient

from propdesk import __version__
from propdesk.core import error_reports

PASSWORD = "hunter2-very-secret"
COOKIE = "session-cookie-value-123"
TOKEN = "bearer-token-value-456"


class Received(list[bytes]):
    def events(self) -> list[dict[str, Any]]:
        """The error events among the envelopes received (one JSON document a line)."""
        found = []
        for envelope in self:
            lines = envelope.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.fixture
def sentry() -> Iterator[tuple[str, Received]]:
    """A server taking Sentry's envelopes, and its DSN."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding == "br":
                import brotli  # type: ignore[import-not-found]

                body = brotli.decompress(body)
            received.append(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://public@127.0.0.1:{server.server_port}/1", received
    finally:
        error_reports.stop()  # no report, and no client, outlives the test
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
@pytest.mark.urls("tests.core.failing_urls")
def test_an_error_in_a_view_reaches_sentry_without_body_cookies_or_credentials(sentry):
    dsn, received = sentry
    assert error_reports.start(
        {"PROPDESK_SENTRY_DSN": dsn, "PROPDESK_SENTRY_ENVIRONMENT": "staging"}
    )
    http = HttpClient(raise_request_exception=False)
    http.cookies["sessionid"] = COOKIE
    response = http.post(
        "/fails/",
        {"email": "someone@example.com", "password": PASSWORD},
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_X_REQUEST_ID="req-for-sentry",
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    events = received.events()
    assert events, "no event reached the server"
    event = next(e for e in events if e.get("exception"))
    assert event["exception"]["values"][-1]["type"] == "LedgerOutOfBalance"
    assert event["release"] == f"propdesk@{__version__}"
    assert event["environment"] == "staging"
    assert event["tags"]["request_id"] == "req-for-sentry"
    request = event.get("request", {})
    assert "data" not in request
    assert "cookies" not in request
    assert not {"authorization", "cookie"} & {h.lower() for h in request.get("headers", {})}
    everything = b"".join(received)
    for secret in (PASSWORD, COOKIE, TOKEN, "someone@example.com"):
        assert secret.encode() not in everything


def test_a_captured_exception_reaches_sentry_and_stop_ends_reporting(sentry):
    dsn, received = sentry
    assert error_reports.start({"PROPDESK_SENTRY_DSN": dsn})
    try:
        raise KeyError("the job's account")
    except KeyError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)
    assert [e["exception"]["values"][-1]["type"] for e in received.events()] == ["KeyError"]
    error_reports.stop()
    assert not sentry_sdk.get_client().is_active()
    sentry_sdk.capture_exception(ValueError("after the stop"))
    assert len(received.events()) == 1


def test_without_a_dsn_nothing_is_started():
    assert error_reports.start({}) is False
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PROPDESK_SENTRY_DSN", "sentry.example/1"),
        ("PROPDESK_SENTRY_TRACES_SAMPLE_RATE", "2"),
        ("PROPDESK_SENTRY_TRACES_SAMPLE_RATE", "often"),
    ],
)
def test_a_setting_that_means_nothing_is_refused_naming_its_variable(variable, value):
    given = {"PROPDESK_SENTRY_DSN": "https://key@sentry.example/1", variable: value}
    with pytest.raises(ImproperlyConfigured, match=variable):
        error_reports.sentry_options(given)
    assert not sentry_sdk.get_client().is_active()


def test_the_options_keep_personal_data_out_and_sample_no_traces_by_default():
    options = error_reports.sentry_options({"PROPDESK_SENTRY_DSN": "https://key@sentry.example/1"})
    assert options is not None
    kept = options["data_collection"]
    assert kept["user_info"] is False
    assert kept["stack_frame_variables"] is False
    assert kept["http_bodies"] == []
    assert kept["cookies"] == {"mode": "off"}
    assert options["traces_sample_rate"] == 0.0
    assert options["max_request_body_size"] == "never"


@pytest.mark.django_db
def test_a_host_header_not_allowed_is_a_warning_line_and_no_report(sentry, settings, caplog):
    """A scanner asks with its own Host header: a 400, a WARNING line without a traceback, and
    nothing sent to Sentry."""
    dsn, received = sentry
    settings.ALLOWED_HOSTS = ["crm.firm.example"]
    assert error_reports.start({"PROPDESK_SENTRY_DSN": dsn})
    response = HttpClient(HTTP_HOST="scanner.example").get("/login/")
    assert response.status_code == 400
    sentry_sdk.flush(timeout=10)
    assert received.events() == []
    [line] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert (line.levelname, line.exc_info) == ("WARNING", None)


def test_email_addresses_and_the_lines_fields_do_not_reach_sentry(sentry):
    """A job gives up on an exception naming a client's email; the line before it had a
    trading login as a field: the report has neither the address nor the breadcrumb's fields."""
    import logging

    dsn, received = sentry
    assert error_reports.start({"PROPDESK_SENTRY_DSN": dsn})
    worker = logging.getLogger("propdesk.worker")
    login = str(700_000 + 123)
    worker.warning("job started", extra={"login": login, "job": "j-1"})
    address = "@".join(["anna.smith+x", "example.co.uk"])  # not in the code's own lines sent
    try:
        raise LookupError(f"no account for {address}")
    except LookupError as exc:
        worker.error("job failed, gave up after 3 attempts: %s", exc, exc_info=True)
    sentry_sdk.flush(timeout=10)
    [event] = received.events()
    everything = b"".join(received)
    assert address.encode() not in everything
    assert login.encode() not in everything
    assert event["exception"]["values"][-1]["value"] == "no account for [email]"
    crumbs = event["breadcrumbs"]["values"]
    started = [c for c in crumbs if c.get("message") == "job started"]
    assert started
    assert all("data" not in c for c in crumbs)
