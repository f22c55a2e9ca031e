"""The `propdesk` command, run as a firm's operator runs it: a real process on a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "first-admin-passphrase"


def propdesk(*args: str, var: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROPDESK_VAR_DIR": str(var)}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "propdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("var")
    migrated = propdesk("manage", "migrate", "--verbosity", "0", var=path)
    assert migrated.returncode == 0, migrated.stderr
    return path


def test_staff_create_makes_the_first_administrator(var):
    result = propdesk(
        "staff",
        "create",
        "--email",
        "Boss@Firm.test",
        "--role",
        "administrator",
        "--password",
        PASSWORD,
        var=var,
    )
    assert result.returncode == 0, result.stderr
    assert "created staff user boss@firm.test with role Administrator" in result.stdout
    shell = propdesk(
        "manage",
        "shell",
        "-v",
        "0",
        "-c",
        "from propdesk.accounts.models import User; u = User.objects.get(email='boss@firm.test');"
        "print(u.role.name, u.password.startswith('argon2'))",
        var=var,
    )
    assert shell.stdout.split() == ["Administrator", "True"]


def test_staff_create_refuses_bad_input_with_a_clear_message(var):
    result = propdesk(
        "staff",
        "create",
        "--email",
        "not-an-email",
        "--role",
        "Janitor",
        "--password",
        "123",
        var=var,
    )
    assert result.returncode == 2
    assert "email: Enter a valid email address." in result.stderr
    assert "role: Unknown role" in result.stderr
    assert "password:" in result.stderr
    assert "Traceback" not in result.stderr


def test_staff_create_prompts_for_the_password_when_not_given(var):
    result = propdesk(
        "staff",
        "create",
        "--email",
        "ops@firm.test",
        "--role",
        "Support",
        var=var,
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    # getpass reads the terminal; without one it falls back to standard input.
    assert result.returncode == 0, result.stderr


def test_manage_passes_everything_to_django(var):
    result = propdesk("manage", "check", var=var)
    assert result.returncode == 0
    assert "no issues" in result.stdout


def test_unknown_command_is_a_usage_error(var):
    result = propdesk("fly", var=var)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
