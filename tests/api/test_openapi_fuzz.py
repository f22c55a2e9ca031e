"""Schemathesis over /api/v1/openapi.json, in process against the WSGI app on the test
database, once as staff (an Administrator's token) and once as a client: no operation answers
5xx, and each answers only the statuses it declares (its error answers included), in the
content type and the shape it documents.

Bounded for the suite: `FUZZ_EXAMPLES` examples per operation (default 12), derandomized, so
that a run is repeatable. A longer hunt: `FUZZ_EXAMPLES=300 pytest tests/api/test_openapi_fuzz.py`
Besides schemathesis' own data, strings are drawn now and then from HOSTILE: what people and
scripts send that the types let through (NUL, bidirectional and zero-width characters, digits
that are not ASCII, exponents, separators).

Nothing is left out: the sandbox's trading API is fuzzed with the account's own credentials,
and `DELETE /auth/token` simply revokes the token of the operation's own run.
"""

from __future__ import annotations

import base64
import itertools
import os
import sys
import traceback
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from propdesk.accounts.services import issue_token
from propdesk.api import api as ninja_api
from propdesk.challenges.catalogue import services as catalogue
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import orders, ticks
from tests.challenges.factories import definition

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
HOSTILE = [
    "\x00",
    "pending\x00",
    "\u202eevil",
    "Ja\u200bne",
    "\ufeff1",
    "\uff11\uff10\uff10",  # full-width 100
    "\u0661\u0660\u0660",  # Arabic-Indic 100
    "1_000",
    "1E+2",
    "-1",
    "0",
    " 5 ",
    "9" * 40,
    "NaN",
    "true",
    "\x7f\x1b",
]
CONFIG = SchemathesisConfig.from_dict(
    {
        "dictionaries": {"hostile": {"values": HOSTILE}},
        "generation": {
            # We authenticate every call ourselves (below); made-up credentials would only
            # test the 401 path, over and over.
            "with-security-parameters": False,
            "dictionaries": {"string": {"dictionary": "hostile", "probability": 0.2}},
        },
    }
)
schema = schemathesis.openapi.from_dict(ninja_api.get_openapi_schema(), config=CONFIG)
schema.app = WSGIHandler()


@pytest.fixture(autouse=True)
def _one_connection() -> Iterator[None]:
    """Django closes the connection after each request, which would end the test's
    transaction; its own test client switches that off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(admin: Any, active_client: Any, register: Any, bank_transfer: Any) -> dict[str, Any]:
    """Something for every operation to find: a pending registration, a published and a
    draft challenge, a payment method and a sandbox account."""
    _, pending = register()
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    catalogue.create(definition(name="Draft"), actor=admin)
    account, password = sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    ticks.apply_tick("EURUSD", Decimal("1.08500"), Decimal("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="0.10")
    basic = base64.b64encode(f"{account.login}:{password}".encode()).decode()
    # Ids that exist, put in the path of every other example: random ones only ever find 404.
    real = {
        "request_id": pending.pk,
        "challenge_id": made.pk,
        "client_id": active_client.pk,
        "position_id": position.pk,
        "type_key": "deposit",
    }
    return {"staff": admin, "client": active_client.user, "basic": f"Basic {basic}", "real": real}


@pytest.fixture(params=["staff", "client"])
def credentials(request: pytest.FixtureRequest, world: dict[str, Any]) -> dict[str, Any]:
    token = issue_token(world[request.param], label="fuzz")
    return {"api": f"Bearer {token}", "sandbox": world["basic"], "real": world["real"]}


_examples = itertools.count()


class _ServerError(Exception):
    pass


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx(case: Any, credentials: dict[str, Any]) -> None:
    if case.path_parameters and next(_examples) % 2:
        case.path_parameters = {
            name: credentials["real"].get(name, value)
            for name, value in case.path_parameters.items()
        }
    sandbox_call = case.path.startswith("/api/v1/sandbox")
    headers = {"Authorization": credentials["sandbox" if sandbox_call else "api"]}
    crashes: list[str] = []

    def remember(**_: Any) -> None:
        crashes.append("".join(traceback.format_exception(*sys.exc_info())[-4:]))

    signals.got_request_exception.connect(remember)
    try:
        # A savepoint per call: on PostgreSQL a failed statement would otherwise poison every
        # later example of the run (and hide what comes after it).
        with transaction.atomic():
            response = case.call(headers=headers)
            if response.status_code >= 500:
                raise _ServerError
    except _ServerError:
        pass
    finally:
        signals.got_request_exception.disconnect(remember)
    assert response.status_code < 500, f"{case.as_curl_command(headers)}\n{''.join(crashes)}"
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,  # a status the operation does not declare is a failure
            content_type_conformance,
            response_schema_conformance,
        ],
        headers=headers,
    )
