"""The HTTPS settings come from the environment: `PROPDESK_HTTPS=1` turns the safe ones on
together, each has its own variable, and with them `propdesk manage check --deploy` is clean.
Settings are read once per process, so each case runs in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

YEAR = 365 * 24 * 60 * 60
PRODUCTION = {
    "PROPDESK_HTTPS": "1",
    "PROPDESK_DEBUG": "0",
    "PROPDESK_SECRET_KEY": "k3y-" + "Zq8rT2vLw9" * 6,
    "PROPDESK_ALLOWED_HOSTS": "crm.firm.example",
    "PROPDESK_SITE_URL": "https://crm.firm.example",
    "PROPDESK_VAULT_KEYS": "Dx3uV0kq0Yl1mW3CqXq0cJ1wqv9ZP1zK8H1yB3c5d7E=",
}
SHOWN = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
]


def _environment(tmp_path: Path, given: dict[str, str]) -> dict[str, str]:
    """This process's environment without any PROPDESK_*, DJANGO_* (the suite's own
    DJANGO_ALLOW_ASYNC_UNSAFE) or DATABASE_URL, plus `given`."""
    ours = ("PROPDESK_", "DJANGO_", "DATABASE_URL")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {**kept, "PROPDESK_VAR_DIR": str(tmp_path), **given}


def _run(tmp_path: Path, given: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=_environment(tmp_path, given),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_under(tmp_path: Path, **given: str) -> dict[str, Any]:
    script = (
        "import json, propdesk.settings as s; "
        f"print(json.dumps({{name: getattr(s, name) for name in {SHOWN!r}}}))"
    )
    done = _run(tmp_path, given, "-c", script)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def check_deploy(tmp_path: Path, given: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(
        tmp_path,
        given,
        "-m",
        "propdesk.cli",
        "manage",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    done = check_deploy(tmp_path, PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_warns_without_them(tmp_path):
    done = check_deploy(tmp_path, {})
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr


def test_the_demo_on_plain_http_changes_nothing(tmp_path):
    assert settings_under(tmp_path) == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "CSRF_TRUSTED_ORIGINS": [],
    }


def test_https_turns_on_secure_cookies_the_redirect_and_a_year_of_hsts(tmp_path):
    shown = settings_under(tmp_path, PROPDESK_HTTPS="1")
    assert shown["SESSION_COOKIE_SECURE"] is True
    assert shown["CSRF_COOKIE_SECURE"] is True
    assert shown["SECURE_SSL_REDIRECT"] is True
    assert shown["SECURE_HSTS_SECONDS"] == YEAR
    assert shown["SECURE_HSTS_PRELOAD"] is False  # the domain owner's decision, never a default
    assert shown["SECURE_PROXY_SSL_HEADER"] is None  # trusting a header is never implied


def test_each_https_setting_can_be_set_on_its_own(tmp_path):
    shown = settings_under(
        tmp_path,
        PROPDESK_HTTPS="1",
        PROPDESK_SSL_REDIRECT="0",
        PROPDESK_HSTS_SECONDS="600",
        PROPDESK_HSTS_INCLUDE_SUBDOMAINS="0",
        PROPDESK_HSTS_PRELOAD="1",
        PROPDESK_SECURE_COOKIES="0",
    )
    assert shown["SECURE_SSL_REDIRECT"] is False
    assert shown["SECURE_HSTS_SECONDS"] == 600
    assert shown["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert shown["SECURE_HSTS_PRELOAD"] is True
    assert shown["SESSION_COOKIE_SECURE"] is False
    assert shown["CSRF_COOKIE_SECURE"] is False


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("X-Forwarded-Proto", ["HTTP_X_FORWARDED_PROTO", "https"]),
        (" x-forwarded-proto ", ["HTTP_X_FORWARDED_PROTO", "https"]),
        ("X-Forwarded-Ssl=on", ["HTTP_X_FORWARDED_SSL", "on"]),
    ],
)
def test_the_proxy_header_names_what_the_proxy_sets_on_https_requests(tmp_path, given, expected):
    shown = settings_under(tmp_path, PROPDESK_PROXY_SSL_HEADER=given)
    assert shown["SECURE_PROXY_SSL_HEADER"] == expected


def test_csrf_trusted_origins_are_a_comma_separated_list(tmp_path):
    given = "https://crm.firm.example, https://portal.firm.example"
    shown = settings_under(tmp_path, PROPDESK_CSRF_TRUSTED_ORIGINS=given)
    assert shown["CSRF_TRUSTED_ORIGINS"] == [
        "https://crm.firm.example",
        "https://portal.firm.example",
    ]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PROPDESK_HSTS_SECONDS", "a year", "PROPDESK_HSTS_SECONDS"),
        ("PROPDESK_HSTS_SECONDS", "-1", "PROPDESK_HSTS_SECONDS"),
        ("PROPDESK_PROXY_SSL_HEADER", "X-Forwarded-Proto: https", "PROPDESK_PROXY_SSL_HEADER"),
        ("PROPDESK_PROXY_SSL_HEADER", "X-Forwarded-Proto=", "PROPDESK_PROXY_SSL_HEADER"),
        ("PROPDESK_HTTPS", "maybe", "PROPDESK_HTTPS"),
    ],
)
def test_a_bad_value_stops_the_start_and_names_the_variable(tmp_path, name, value, says):
    done = _run(tmp_path, {name: value}, "-c", "import propdesk.settings")
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert says in done.stderr


def test_check_deploy_warns_when_the_site_url_is_not_the_https_site(tmp_path):
    given = {**PRODUCTION, "PROPDESK_SITE_URL": "http://127.0.0.1:8000"}
    done = check_deploy(tmp_path, given)
    assert done.returncode != 0
    assert "propdesk.W001" in done.stderr  # webhooks to http:// would be redirected
    assert "propdesk.W002" in done.stderr  # and 127.0.0.1 is not a host the site answers to


def test_csrf_trusted_origins_without_a_scheme_fail_the_check(tmp_path):
    done = check_deploy(
        tmp_path, {**PRODUCTION, "PROPDESK_CSRF_TRUSTED_ORIGINS": "crm.firm.example"}
    )
    assert done.returncode != 0
    assert "4_0.E001" in done.stderr
