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


def test_serve_refuses_an_unmigrated_database(tmp_path):
    result = propdesk("serve", "--port", "8799", var=tmp_path)
    assert result.returncode == 2
    assert "unapplied migrations" in result.stderr
    assert "propdesk manage migrate" in result.stderr


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_and_stops_with_its_children(var):
    import signal
    import time
    import urllib.request

    port = free_port()
    env = {**os.environ, "PROPDESK_VAR_DIR": str(var)}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "propdesk.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.3)
        assert status == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    time.sleep(0.5)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)
