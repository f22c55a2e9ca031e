"""How a trading bot proves who it is: a bearer token got once for the account's login and
password, or HTTP Basic whose verified credentials the server remembers; both throttled only on
real failures. The terminal's login shares the per-(login, address) throttle."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.accounts.models import LoginAttempt
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox.models import Account, TradingToken
from tests.support import CountingPasswordHasher

pytestmark = pytest.mark.django_db

OFFICE = "198.51.100.7"
ELSEWHERE = "203.0.113.9"


@pytest.fixture
def trading() -> tuple[Account, str]:
    return sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance="100000"
    )


@pytest.fixture
def counting(settings):
    settings.PASSWORD_HASHERS = ["tests.support.CountingPasswordHasher"]
    CountingPasswordHasher.calls = 0
    return CountingPasswordHasher


def basic(login: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {pair}"}


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def get(path: str, auth: dict[str, str], ip: str = OFFICE):
    return HttpClient().get(f"/api/v1/sandbox{path}", REMOTE_ADDR=ip, **auth)


def ask_token(body, ip: str = OFFICE):
    data = body if isinstance(body, str) else json.dumps(body)
    return HttpClient().post(
        "/api/v1/sandbox/token", data=data, content_type="application/json", REMOTE_ADDR=ip
    )


def issued(account: Account, password: str) -> str:
    response = ask_token({"login": account.login, "password": password})
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def change_password(account: Account, password: str) -> None:
    # What a password reset does to the account (the demo sets its traders' passwords so).
    Account.objects.filter(pk=account.pk).update(password=make_password(password))


# --- bearer tokens -------------------------------------------------------------------------------


def test_a_token_got_once_opens_the_trading_api(trading, settings):
    account, password = trading
    response = ask_token({"login": account.login, "password": password})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    lifetime = timedelta(days=settings.TRADING_TOKEN_DAYS)
    expires = TradingToken.objects.get().expires_at
    assert timezone.now() + lifetime - timedelta(minutes=5) < expires <= timezone.now() + lifetime
    seen = get("/account", bearer(body["token"]))
    assert seen.status_code == 200
    assert seen.json()["login"] == account.login


def test_only_the_tokens_hash_is_stored(trading):
    raw = issued(*trading)
    stored = TradingToken.objects.get()
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert all(raw not in str(v) for v in TradingToken.objects.values().get().values())


def test_a_token_opens_only_its_own_account(trading):
    other, other_password = sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance="5000"
    )
    raw = issued(other, other_password)
    assert get("/account", bearer(raw)).json()["login"] == other.login


def test_an_expired_token_is_refused(trading):
    raw = issued(*trading)
    TradingToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = get("/account", bearer(raw))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_revoked_token_is_refused(trading):
    raw = issued(*trading)
    response = HttpClient().delete("/api/v1/sandbox/token", **bearer(raw))
    assert response.status_code == 204
    assert get("/account", bearer(raw)).status_code == 401
    assert TradingToken.objects.get().revoked_at is not None


def test_revoking_asks_for_the_token_itself(trading):
    account, password = trading
    raw = issued(account, password)
    response = HttpClient().delete("/api/v1/sandbox/token", **basic(account.login, password))
    assert response.status_code == 422
    assert get("/account", bearer(raw)).status_code == 200


def test_an_account_keeps_at_most_twenty_live_tokens(trading):
    tokens = [issued(*trading) for _ in range(21)]
    assert get("/account", bearer(tokens[0])).status_code == 401
    assert all(get("/account", bearer(t)).status_code == 200 for t in tokens[1:])
    issued(*trading)  # the revoked one goes for good
    assert TradingToken.objects.count() == 21


def test_a_password_change_ends_the_tokens_and_the_remembered_credentials(trading):
    account, password = trading
    raw = issued(account, password)
    assert get("/account", basic(account.login, password)).status_code == 200
    change_password(account, "a-new-long-password")
    assert get("/account", bearer(raw)).status_code == 401
    assert get("/account", basic(account.login, password)).status_code == 401
    assert get("/account", basic(account.login, "a-new-long-password")).status_code == 200


def test_a_token_call_checks_no_password(trading, counting):
    raw = issued(*trading)
    counting.calls = 0
    for _ in range(5):
        assert get("/account", bearer(raw)).status_code == 200
    assert counting.calls == 0


def test_wrong_credentials_get_no_token_and_count_as_a_failure(trading):
    account, _ = trading
    response = ask_token({"login": account.login, "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not TradingToken.objects.exists()
    assert LoginAttempt.objects.get().email == account.login


def test_the_token_endpoint_slows_down_repeated_failures(trading, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 2
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    account, password = trading
    for _ in range(2):
        ask_token({"login": account.login, "password": "wrong-password"})
    refused = ask_token({"login": account.login, "password": password})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert (
        ask_token({"login": account.login, "password": password}, ip=ELSEWHERE).status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "login"),
        ({"login": "700001"}, "password"),
        ({"password": "secret-password"}, "login"),
        ({"login": 700001, "password": "secret-password"}, "login"),
        ({"login": ["700001"], "password": "secret-password"}, "login"),
        ({"login": None, "password": None}, "login"),
        ({"login": "700001", "password": {"a": 1}}, "password"),
        ({"login": "700001", "password": True}, "password"),
        ({"login": "7" * 5000, "password": "secret-password"}, "login"),
        ({"login": "700001", "password": "p" * 100_000}, "password"),
        ({"login": "7000\x0001", "password": "secret-password"}, "login"),
        ({"login": "700001", "password": "secret\x00password"}, "password"),
        ({"login": "\u202e700001", "password": "secret-password"}, "login"),
    ],
)
def test_hostile_token_requests_get_clear_errors_and_change_nothing(trading, counting, body, field):
    response = ask_token(body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]
    assert not TradingToken.objects.exists()
    assert not LoginAttempt.objects.exists()
    assert counting.calls == 0


@pytest.mark.parametrize("body", ["not json", "[]", '"700001"', "null"])
def test_a_token_request_that_is_not_an_object_is_refused(trading, body):
    response = ask_token(body)
    assert 400 <= response.status_code < 500
    assert "code" in response.json()
    assert not TradingToken.objects.exists()


def test_an_unknown_token_is_401_without_a_password_check(trading, counting):
    response = get("/account", bearer("pdt_" + "x" * 43))
    assert response.status_code == 401
    assert get("/account", bearer("y" * 5000)).status_code == 401
    assert counting.calls == 0


# --- HTTP Basic ----------------------------------------------------------------------------------


def test_repeated_basic_calls_check_the_password_once(trading, counting):
    account, password = trading
    counting.calls = 0
    for _ in range(5):
        assert get("/account", basic(account.login, password)).status_code == 200
    assert counting.calls == 1
    assert not LoginAttempt.objects.exists()


def test_a_wrong_basic_password_is_not_remembered_as_right(trading, counting):
    account, password = trading
    assert get("/account", basic(account.login, password)).status_code == 200
    for _ in range(2):
        assert get("/account", basic(account.login, password + "x")).status_code == 401
    assert LoginAttempt.objects.filter(email=account.login).count() == 2


def test_a_remembered_password_is_no_way_around_a_back_off(trading, settings):
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    account, password = trading
    assert get("/account", basic(account.login, password)).status_code == 200  # remembered
    for _ in range(5):
        assert get("/account", basic(account.login, "guess")).status_code == 401
    assert get("/account", basic(account.login, password)).status_code == 429
    assert get("/account", basic(account.login, password), ip=ELSEWHERE).status_code == 200


def test_a_token_is_not_slowed_by_failures_at_its_address(trading, settings):
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 3
    account, password = trading
    raw = issued(account, password)
    for n in range(5):
        get("/account", basic(f"70{n}", "guess"))
    assert get("/account", basic(account.login, password)).status_code == 429
    assert get("/account", bearer(raw)).status_code == 200


def test_basic_failures_do_not_slow_peoples_logins_from_that_address(trading, compliance, settings):
    from tests.conftest import PASSWORD

    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 3
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    account, _ = trading
    for _ in range(5):  # a bot with a stale password, hammering from the office
        get("/account", basic(account.login, "stale-password"))
    page = HttpClient().post(
        "/login/", {"email": compliance.email, "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )
    assert page.status_code == 302


# --- the terminal's login ------------------------------------------------------------------------


def terminal_log_in(http: HttpClient, login: str, password: str, ip: str = OFFICE):
    return http.post("/terminal/login/", {"login": login, "password": password}, REMOTE_ADDR=ip)


def test_the_terminal_slows_down_failures_per_login_and_address(trading, settings):
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    account, password = trading
    for _ in range(5):
        assert (
            terminal_log_in(HttpClient(), account.login, "wrong", ip=ELSEWHERE).status_code == 401
        )
    refused = terminal_log_in(HttpClient(), account.login, password, ip=ELSEWHERE)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert terminal_log_in(HttpClient(), account.login, password, ip=OFFICE).status_code == 302


def test_the_terminal_knows_its_traders_device(trading, settings):
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    account, password = trading
    trader = HttpClient()
    assert terminal_log_in(trader, account.login, password).status_code == 302
    trader.post("/terminal/logout/")
    for _ in range(6):  # someone else behind the same address
        terminal_log_in(HttpClient(), account.login, "wrong")
    assert terminal_log_in(HttpClient(), account.login, password).status_code == 429
    assert terminal_log_in(trader, account.login, password).status_code == 302


@pytest.mark.parametrize(("login", "password"), [("7000\x0001", "pw"), ("\x00", "pw")])
def test_a_nul_in_the_basic_credentials_is_a_plain_refusal(login, password):
    response = HttpClient().get("/api/v1/sandbox/account", **basic(login, password))
    assert response.status_code == 401
