"""Each web request has an id (the proxy's, when it is sane, else a new one), echoed in the
response and on every line the request logs, with its actor: the session's user, or the API
token's; never their email."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.services import issue_token
from propdesk.core import logs
from propdesk.core.request_ids import ENVIRON_ACTOR, ENVIRON_REQUEST_ID
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
NEW_ID = re.compile(r"[0-9a-f]{32}")

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def lines() -> Iterator[Lines]:
    """Every line logged meanwhile, as the processes write it (JSON), parsed."""
    stream = io.StringIO()
    handler = logs.handler(stream, "json")
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def of_request(found: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [e for e in found if e.get("request_id") == request_id]


def test_a_sane_request_id_is_echoed_and_on_the_requests_lines(lines):
    response = HttpClient().get("/no-such-page/", HTTP_X_REQUEST_ID="proxy-7f3a:01")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "proxy-7f3a:01"
    logged = of_request(lines(), "proxy-7f3a:01")
    assert [(e["logger"], e["status_code"]) for e in logged] == [("django.request", 404)]
    assert "actor" not in logged[0]  # nobody logged in
    assert response.wsgi_request.META[ENVIRON_REQUEST_ID] == "proxy-7f3a:01"  # the access line's


def test_a_request_without_an_id_gets_a_new_one_each(lines):
    first = HttpClient().get("/no-such-page/")["X-Request-ID"]
    second = HttpClient().get("/no-such-page/")["X-Request-ID"]
    assert NEW_ID.fullmatch(first)
    assert NEW_ID.fullmatch(second)
    assert first != second
    assert len(of_request(lines(), first)) == 1


@pytest.mark.parametrize(
    "hostile",
    [
        "two words",
        "x" * 129,
        "id\r\nSet-Cookie: a=b",
        '"><script>alert(1)</script>',
        "id actor=staff:1",
        "-leading-dash",
    ],
)
def test_a_hostile_request_id_is_replaced_by_a_new_one(lines, hostile):
    response = HttpClient().get("/no-such-page/", HTTP_X_REQUEST_ID=hostile)
    given = response["X-Request-ID"]
    assert NEW_ID.fullmatch(given)
    found = lines()
    assert len(of_request(found, given)) == 1
    assert hostile not in json.dumps(found)


def test_a_line_after_the_request_belongs_to_no_request(lines):
    HttpClient().get("/no-such-page/", HTTP_X_REQUEST_ID="over-soon")
    logging.getLogger("propdesk.test").warning("between requests")
    after = [e for e in lines() if e["message"] == "between requests"]
    assert after
    assert "request_id" not in after[0]
    assert logs.request_id() is None


def test_a_staff_sessions_lines_name_the_staff_member_by_id_only(lines, support):
    response = logged_in(support).get("/backoffice/no-such-page/", HTTP_X_REQUEST_ID="staff-1")
    assert response.status_code == 404
    logged = of_request(lines(), "staff-1")
    assert logged
    assert all(e["actor"] == f"staff:{support.pk}" for e in logged)
    assert support.email not in json.dumps(logged)
    assert response.wsgi_request.META[ENVIRON_ACTOR] == f"staff:{support.pk}"


def test_an_api_tokens_lines_name_its_user(lines, active_client):
    token = issue_token(active_client.user)
    response = HttpClient().get(
        "/api/v1/approvals/999999",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID="api-1",
    )
    assert response.status_code == 403  # staff only: refused, and the refusal logged
    logged = of_request(lines(), "api-1")
    assert logged
    assert all(e["actor"] == f"client:{active_client.user.pk}" for e in logged)
    assert token not in json.dumps(logged)
    assert active_client.user.email not in json.dumps(logged)
