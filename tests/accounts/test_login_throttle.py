"""People's login throttle: only real failures count, each limit slows down instead of locking
out, a known device keeps its owner in, and old failures are pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client as HttpClient

from propdesk.accounts import services as accounts
from propdesk.accounts import throttle
from propdesk.accounts.models import LoginAttempt
from propdesk.core.errors import InvalidCredentials, Throttled
from tests.api.conftest import Api
from tests.conftest import PASSWORD
from tests.support import CountingPasswordHasher

pytestmark = pytest.mark.django_db

OFFICE = "198.51.100.7"  # the owner's address (or the proxy everyone comes through)
ELSEWHERE = "203.0.113.9"


@pytest.fixture
def api(db: None) -> Api:
    return Api()


@pytest.fixture
def slow(settings):
    """A back-off long enough that no test outruns it by being slow."""
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    return settings


def log_in(http: HttpClient, email: str, password: str, ip: str = OFFICE):
    return http.post("/login/", {"email": email, "password": password}, REMOTE_ADDR=ip)


def token(api, email: str, password: str, ip: str = OFFICE):
    return api.call("POST", "/auth/token", {"email": email, "password": password}, REMOTE_ADDR=ip)


def age_failures(seconds: int) -> None:
    """Let time pass for the throttle: every failure written down happened `seconds` earlier."""
    LoginAttempt.objects.update(at=F("at") - timedelta(seconds=seconds))


def test_wrong_passwords_from_elsewhere_do_not_keep_the_owner_out(api, compliance, slow):
    for _ in range(6):
        assert token(api, compliance.email, "wrong", ip=ELSEWHERE).status_code in {401, 429}
    assert token(api, compliance.email, PASSWORD, ip=OFFICE).status_code == 200


def test_an_administrator_is_not_locked_out_by_guesses_either(api, admin, slow):
    for n in range(6):
        token(api, admin.email, "wrong", ip=f"203.0.113.{n}")
    assert token(api, admin.email, PASSWORD, ip=OFFICE).status_code == 200


def test_a_known_device_gets_in_while_strangers_at_its_address_are_slowed(compliance, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 3
    slow.LOGIN_THROTTLE_MAX_FAILURES_PER_ACCOUNT = 5
    owner = HttpClient()
    assert log_in(owner, compliance.email, PASSWORD).status_code == 302
    owner.post("/logout/")
    attacker = HttpClient()
    for _ in range(6):  # from the owner's own address: the proxy everyone shares
        log_in(attacker, compliance.email, "wrong", ip=OFFICE)
    for n in range(6):  # and from everywhere else
        log_in(HttpClient(), compliance.email, "wrong", ip=f"203.0.113.{n}")
    assert log_in(HttpClient(), compliance.email, PASSWORD).status_code == 429
    assert log_in(owner, compliance.email, PASSWORD).status_code == 302


def test_failures_made_with_a_known_device_slow_that_device(compliance, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 3
    owner = HttpClient()
    assert log_in(owner, compliance.email, PASSWORD).status_code == 302
    owner.post("/logout/")
    for n in range(3):
        assert log_in(owner, compliance.email, "wrong", ip=f"203.0.113.{n}").status_code == 401
    assert log_in(owner, compliance.email, PASSWORD).status_code == 429


def test_a_forged_device_cookie_is_no_known_device(compliance, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 3
    for _ in range(3):
        log_in(HttpClient(), compliance.email, "wrong")
    forger = HttpClient()
    forger.cookies["propdesk_device"] = "anything:forged:cookie"
    assert log_in(forger, compliance.email, PASSWORD).status_code == 429


def test_a_device_known_for_one_account_is_a_stranger_for_another(compliance, support, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 3
    browser = HttpClient()
    assert log_in(browser, support.email, PASSWORD).status_code == 302
    browser.post("/logout/")
    for _ in range(3):
        log_in(HttpClient(), compliance.email, "wrong")
    assert log_in(browser, compliance.email, PASSWORD).status_code == 429


def test_the_device_cookie_is_signed_and_http_only(compliance):
    owner = HttpClient()
    log_in(owner, compliance.email, PASSWORD)
    cookie = owner.cookies["propdesk_device"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert compliance.email not in cookie.value


def test_attempts_refused_by_the_address_limit_do_not_count_against_the_email(
    api, compliance, slow
):
    slow.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 3
    for n in range(3):
        assert token(api, f"guess{n}@example.com", "wrong", ip=ELSEWHERE).status_code == 401
    for _ in range(8):
        assert token(api, compliance.email, "wrong", ip=ELSEWHERE).status_code == 429
    assert not LoginAttempt.objects.filter(email=compliance.email).exists()
    assert token(api, compliance.email, PASSWORD, ip=OFFICE).status_code == 200


def test_a_refused_attempt_checks_no_password(api, compliance, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 2
    slow.PASSWORD_HASHERS = ["tests.support.CountingPasswordHasher"]
    for _ in range(2):
        token(api, compliance.email, "wrong")
    CountingPasswordHasher.calls = 0
    for password in ("wrong", PASSWORD, "x" * 100):
        assert token(api, compliance.email, password).status_code == 429
    assert CountingPasswordHasher.calls == 0


def test_successful_logins_write_nothing_and_feed_no_limit(api, compliance, support, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 2
    slow.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 2
    for _ in range(5):
        assert token(api, compliance.email, PASSWORD).status_code == 200
    assert not LoginAttempt.objects.exists()
    assert token(api, support.email, PASSWORD).status_code == 200


def test_an_unknown_email_is_a_failure(api):
    assert token(api, "nobody@example.com", "wrong").status_code == 401
    failure = LoginAttempt.objects.get()
    assert (failure.email, failure.ip) == ("nobody@example.com", OFFICE)


def test_the_back_off_grows_with_each_failure_and_ends(api, compliance, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 3
    slow.LOGIN_THROTTLE_WINDOW_SECONDS = 900
    for _ in range(3):
        assert token(api, compliance.email, "wrong").status_code == 401
    first = token(api, compliance.email, PASSWORD)
    assert first.status_code == 429
    assert first.json()["code"] == "too_many_attempts"
    assert 0 < first.json()["retry_after"] <= 60
    assert first["Retry-After"] == str(first.json()["retry_after"])

    age_failures(60)  # waited: one more try is let through, and it fails
    assert token(api, compliance.email, "wrong").status_code == 401
    second = token(api, compliance.email, PASSWORD)
    assert second.status_code == 429
    assert 60 < second.json()["retry_after"] <= 120

    age_failures(900)  # the window has passed: the slow-down is over
    assert token(api, compliance.email, PASSWORD).status_code == 200


def test_the_login_page_says_when_to_try_again(compliance, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES = 2
    for _ in range(2):
        log_in(HttpClient(), compliance.email, "wrong")
    response = log_in(HttpClient(), compliance.email, PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert b"Too many failed logins" in response.content


def test_a_second_factor_waives_the_limit_on_guesses_from_everywhere(compliance, slow):
    slow.LOGIN_THROTTLE_MAX_FAILURES_PER_ACCOUNT = 3
    for n in range(3):
        with pytest.raises(InvalidCredentials):
            accounts.authenticate(email=compliance.email, password="wrong", ip=f"203.0.113.{n}")
    owner = throttle.Attempt(account=compliance.email, ip=OFFICE)
    with pytest.raises(Throttled):
        throttle.check(owner)
    throttle.check(throttle.Attempt(account=compliance.email, ip=OFFICE, second_factor=True))


def test_pruning_deletes_only_failures_older_than_the_window(api, slow):
    slow.LOGIN_THROTTLE_WINDOW_SECONDS = 900
    token(api, "old1@example.com", "wrong")
    token(api, "old2@example.com", "wrong")
    age_failures(901)
    token(api, "new@example.com", "wrong")
    assert throttle.prune() == 2
    assert list(LoginAttempt.objects.values_list("email", flat=True)) == ["new@example.com"]


def test_a_failure_prunes_old_failures_when_a_pruning_is_due(api, slow):
    slow.LOGIN_THROTTLE_PRUNE_SECONDS = 0
    token(api, "old@example.com", "wrong")
    age_failures(slow.LOGIN_THROTTLE_WINDOW_SECONDS + 1)
    token(api, "new@example.com", "wrong")
    assert list(LoginAttempt.objects.values_list("email", flat=True)) == ["new@example.com"]


def test_one_ipv6_network_counts_as_one_address(settings):
    """A subscriber's /64 holds more addresses than anyone could try: it is one address here."""
    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 3
    statuses = [
        Api()
        .call(
            "POST",
            "/auth/token",
            {"email": f"u{n}@example.com", "password": "Summer2024!"},
            REMOTE_ADDR=f"2001:db8:1:2::{n:x}",
        )
        .status_code
        for n in range(1, 8)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses
    other = Api().call(
        "POST",
        "/auth/token",
        {"email": "u1@example.com", "password": "Summer2024!"},
        REMOTE_ADDR="2001:db8:1:3::1",  # the next /64 is someone else
    )
    assert other.status_code == 401


@pytest.mark.parametrize(
    ("given", "counted"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        (None, None),
    ],
)
def test_addresses_are_counted_by_ipv4_address_or_ipv6_network(given, counted):
    assert throttle.Attempt(account="a@b.test", ip=given).ip == counted


def test_emails_stored_before_the_cleaning_are_rewritten_so_their_owners_log_in(register):
    """An address stored as typed (full-width letters from an input method) is rewritten to the
    form logins look up; two that meet in one form are left for staff."""
    import importlib

    from django.apps import apps

    from propdesk.accounts.models import User

    typed = "taro@\uff45\uff58\uff41\uff4d\uff50le.jp"
    client, _ = register()
    User.objects.filter(pk=client.user.pk).update(email=typed)
    with pytest.raises(InvalidCredentials):  # looked up as "taro@example.jp": not found
        accounts.authenticate(email=typed, password=PASSWORD, ip="192.0.2.1")
    one, _ = register()
    two, _ = register()
    User.objects.filter(pk=one.user.pk).update(email="Twin@Example.com")
    User.objects.filter(pk=two.user.pk).update(email="twin@\uff45xample.com")
    migration = importlib.import_module("propdesk.accounts.migrations.0008_normalise_emails")
    migration.normalise(apps, None)
    assert User.objects.get(pk=client.user.pk).email == "taro@example.jp"
    with pytest.raises(accounts.RegistrationPending):  # found: the password was right
        accounts.authenticate(email=typed, password=PASSWORD, ip="192.0.2.1")
    assert User.objects.get(pk=one.user.pk).email == "Twin@Example.com"
    assert User.objects.get(pk=two.user.pk).email == "twin@\uff45xample.com"
