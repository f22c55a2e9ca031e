"""Logins arriving at the same moment (PostgreSQL, one connection per thread): parallel wrong
guesses reach only a few password checks, parallel right passwords all get in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client as HttpClient

from tests.api.conftest import Api
from tests.conftest import PASSWORD
from tests.support import CountingPasswordHasher, at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="parallel sessions need PostgreSQL"
    ),
]


def token_call(email: str, password: str, ip: str) -> Callable[[], int]:
    def call() -> int:
        body = {"email": email, "password": password}
        return int(Api().call("POST", "/auth/token", body, REMOTE_ADDR=ip).status_code)

    return call


def test_parallel_wrong_guesses_from_many_addresses_reach_few_password_checks(compliance, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_ACCOUNT = 5
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    settings.PASSWORD_HASHERS = ["tests.support.CountingPasswordHasher"]
    CountingPasswordHasher.calls = 0
    guesses = [token_call(compliance.email, "wrong", f"203.0.113.{n}") for n in range(40)]
    statuses = at_once(*guesses)
    assert len(statuses) == 40
    assert CountingPasswordHasher.calls <= 5
    assert statuses.count(401) <= 5
    assert statuses.count(429) == 40 - statuses.count(401)


def test_parallel_logins_with_the_right_password_all_get_in(compliance, support, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 5
    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 5
    statuses = at_once(*[token_call(compliance.email, PASSWORD, "198.51.100.7")] * 12)
    assert statuses == [200] * 12
    page = HttpClient().post(
        "/login/", {"email": support.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert page.status_code == 302
