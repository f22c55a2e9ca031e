"""A trader's bot calling the trading API many times at once with the right password
(PostgreSQL, one connection per thread): every call succeeds, the password is checked once, and
nobody at the bot's address is slowed down afterwards."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.test import Client as HttpClient

from propdesk.accounts.models import LoginAttempt
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from tests.conftest import PASSWORD
from tests.support import CountingPasswordHasher, at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="parallel sessions need PostgreSQL"
    ),
]

BOT = "198.51.100.7"  # the bot's address, and the office's (or the proxy everyone shares)


@pytest.mark.parametrize("calls", [12, 50])
def test_a_bots_parallel_calls_with_the_right_password_all_succeed(compliance, settings, calls):
    settings.PASSWORD_HASHERS = ["tests.support.CountingPasswordHasher"]
    account, password = sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    pair = base64.b64encode(f"{account.login}:{password}".encode()).decode()
    CountingPasswordHasher.calls = 0

    def call() -> int:
        response = HttpClient().get(
            "/api/v1/sandbox/account", HTTP_AUTHORIZATION=f"Basic {pair}", REMOTE_ADDR=BOT
        )
        return int(response.status_code)

    statuses = at_once(*[call] * calls)
    assert statuses == [200] * calls
    assert CountingPasswordHasher.calls == 1  # one process: one check, then remembered
    assert not LoginAttempt.objects.exists()
    staff = HttpClient().post(
        "/login/", {"email": compliance.email, "password": PASSWORD}, REMOTE_ADDR=BOT
    )
    assert staff.status_code == 302
