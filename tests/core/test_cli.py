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


def test_staff_reset_2fa_lets_a_locked_out_sole_administrator_in_again(var):
    created = propdesk(
        "staff", "create", "--email", "sole@firm.test", "--role", "Administrator",
        "--password", PASSWORD, var=var,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    enrolled = propdesk(
        "manage",
        "shell",
        "-v",
        "0",
        "-c",
        "from django_otp.oath import totp; from propdesk.accounts import two_factor;"
        "from propdesk.accounts.models import User; u = User.objects.get(email='sole@firm.test');"
        "d = two_factor.begin_enrolment(actor=u);"
        "two_factor.confirm_enrolment(actor=u, code='%06d' % totp(d.bin_key));"
        "print(two_factor.is_enrolled(u))",
        var=var,
    )
    assert enrolled.stdout.split() == ["True"], enrolled.stderr

    result = propdesk(
        "staff", "reset-2fa", "--email", "Sole@Firm.test", "--reason", "Phone in the lake",
        var=var,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "two-factor login of sole@firm.test reset" in result.stdout
    shell = propdesk(
        "manage",
        "shell",
        "-v",
        "0",
        "-c",
        "from propdesk.accounts import two_factor; from propdesk.accounts.models import User;"
        "from propdesk.core.audit import AuditAction; from propdesk.core.models import AuditRecord;"
        "r = AuditRecord.objects.get(action=AuditAction.STAFF_RESET_TWO_FACTOR);"
        "print(two_factor.is_enrolled(User.objects.get(email='sole@firm.test')), r.actor_label,"
        "r.after['reason'].replace(' ', '_'))",
        var=var,
    )
    assert shell.stdout.split() == ["False", "system", "Phone_in_the_lake"], shell.stderr


def test_staff_reset_2fa_refuses_an_unknown_email_or_nothing_to_reset(var):
    unknown = propdesk("staff", "reset-2fa", "--email", "ghost@firm.test", var=var)
    assert unknown.returncode == 2
    assert "no staff user with the email ghost@firm.test" in unknown.stderr
    propdesk(
        "staff", "create", "--email", "plain@firm.test", "--role", "Support",
        "--password", PASSWORD, var=var,
    )  # fmt: skip
    nothing = propdesk("staff", "reset-2fa", "--email", "plain@firm.test", var=var)
    assert nothing.returncode == 2
    assert "has no two-factor login to reset" in nothing.stderr
    assert "Traceback" not in nothing.stderr


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


NEWER = ("accounts", "9999_from_a_newer_propdesk")


@pytest.mark.parametrize(
    "command",
    [("serve", "--port", "8799"), ("worker",), ("monitor",), ("manage", "migrate")],
    ids=["serve", "worker", "monitor", "migrate"],
)
def test_an_older_propdesk_refuses_a_database_a_newer_one_migrated(var, command):
    """After an upgrade fell back to the older image: nothing of it runs on the newer schema."""
    import sqlite3

    database = sqlite3.connect(var / "propdesk.sqlite3")
    with database:
        database.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (?, ?, '2026-12-06')", NEWER
        )
    try:
        result = propdesk(*command, var=var)
    finally:
        with database:
            database.execute("DELETE FROM django_migrations WHERE app = ? AND name = ?", NEWER)
        database.close()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the database was migrated by a newer propdesk" in result.stderr
    assert "accounts.9999_from_a_newer_propdesk" in result.stderr
    assert "run that version's image" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
def test_the_newer_database_check_reads_the_suites_database_and_ignores_other_apps():
    """The same check on the database the suite runs on (PostgreSQL or SQLite): a migration of
    propdesk's that this code lacks refuses, one of an app that is not propdesk's does not."""
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from propdesk.processes import newer_database

    recorder = MigrationRecorder(connection)
    assert newer_database() is None
    recorder.record_applied("some_removed_plugin", "0001_initial")
    assert newer_database() is None
    recorder.record_applied(*NEWER)
    problem = newer_database()
    assert problem is not None
    assert "the database was migrated by a newer propdesk" in problem
    assert "accounts.9999_from_a_newer_propdesk" in problem


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


def shell(code: str, *, var: Path) -> str:
    result = propdesk("manage", "shell", "-v", "0", "-c", code, var=var)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_jobs_list_shows_a_job_that_gave_up_and_retry_puts_it_back(var):
    job_id = shell("from tests.jobs.factories import refuse; print(refuse.enqueue().id)", var=var)
    assert propdesk("jobs", "run", var=var).returncode == 0
    listed = propdesk("jobs", "list", var=var)
    assert listed.returncode == 0
    line = next(x for x in listed.stdout.splitlines() if job_id in x)
    assert "tests.jobs.factories.refuse  attempts 1/8" in line
    assert "PermanentFailure: the other side said no for good" in line
    retried = propdesk("jobs", "retry", job_id, var=var)
    assert retried.returncode == 0, retried.stderr
    assert "runs again" in retried.stdout
    audited = shell(
        "from propdesk.core.audit import AuditAction; from propdesk.core.models import AuditRecord;"
        "print(AuditRecord.objects.filter(action=AuditAction.JOB_RETRY).last().actor_label)",
        var=var,
    )
    assert audited == "system"
    unknown = propdesk("jobs", "retry", "not-a-job", var=var)
    assert unknown.returncode == 2
    assert "No such job." in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_the_worker_runs_jobs_until_told_to_stop_and_signs_out(var):
    import signal
    import sqlite3
    import time

    job_id = shell("from tests.jobs.factories import add; print(add.enqueue(2, 3).id)", var=var)
    env = {**os.environ, "PROPDESK_VAR_DIR": str(var)}
    env.pop("DATABASE_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "propdesk.cli", "worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = sqlite3.connect(var / "propdesk.sqlite3", timeout=20)
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and status != "SUCCESSFUL":
            time.sleep(0.2)
            row = database.execute(
                "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = ?",
                (job_id.replace("-", ""),),
            ).fetchone()
            status = row[0] if row else None
        assert status == "SUCCESSFUL"
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    assert code == 0
    assert database.execute("SELECT count(*) FROM jobs_workerprocess").fetchone() == (0,)
    database.close()


@pytest.mark.parametrize(
    "args",
    [
        ("worker", "--interval", "nan"),
        ("worker", "--interval", "0"),
        ("jobs", "list", "--limit", "-1"),
    ],
)
def test_worker_and_jobs_refuse_bad_numbers_with_a_usage_error(var, args):
    result = propdesk(*args, var=var)
    assert result.returncode == 2
    assert "more than 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_runs_a_fake_match_trader_where_its_participant_trades(tmp_path):
    """`propdesk demo` starts the fake Match-Trader beside the site: the worker opens the demo
    participant's account there, and the demo's trader opens his positions on it. The fake
    Stripe and NOWPayments run too, configured as the demo's payment providers."""
    import contextlib
    import json
    import signal
    import sqlite3
    import time
    import urllib.request

    port, fake_port, mt5_port = free_port(), free_port(), free_port()
    stripe_port, nowpayments_port, sumsub_port = free_port(), free_port(), free_port()
    env = {**os.environ, "PROPDESK_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "propdesk.cli",
            "demo",
            "--port",
            str(port),
            "--match-trader-port",
            str(fake_port),
            "--mt5-port",
            str(mt5_port),
            "--stripe-port",
            str(stripe_port),
            "--nowpayments-port",
            str(nowpayments_port),
            "--sumsub-port",
            str(sumsub_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    fake = f"http://127.0.0.1:{fake_port}"

    def positions() -> list[str]:
        request = urllib.request.Request(
            f"{fake}/v1/trading-accounts/trading-data/open-positions",
            data=json.dumps({"logins": ["410001"]}).encode(),
            headers={
                "Authorization": "Bearer demo-match-trader-key-2026",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=2) as answer:
            found = json.loads(answer.read())
        return sorted(p["symbol"] for row in found for p in row["positions"])

    try:
        held: list[str] = []
        # Only a guard against a hang: a first start sets the whole demo up (migrations, demo
        # data, five fakes), which took over two minutes on a machine loaded past its cores.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not {"EURUSD", "XAUUSD"} <= set(held):
            with contextlib.suppress(OSError):  # not listening yet
                held = positions()
            time.sleep(0.5)
        assert {"EURUSD", "XAUUSD"} <= set(held)
    finally:
        demo.send_signal(signal.SIGTERM)
        printed, _ = demo.communicate(timeout=60)
    assert f"fake Match-Trader server (Broker API v2) at {fake}" in printed
    assert f"fake MetaTrader 5 (Web API) at http://127.0.0.1:{mt5_port}" in printed
    assert f"fake Stripe at http://127.0.0.1:{stripe_port}" in printed
    assert "card 4242 4242 4242 4242" in printed
    assert f"fake NOWPayments at http://127.0.0.1:{nowpayments_port}" in printed
    # The fakes ran and kept their books beside the demo's database.
    assert f"fake Stripe on http://127.0.0.1:{stripe_port}" in printed
    assert f"events to http://127.0.0.1:{port}/webhooks/payments/stripe/" in printed
    assert f"fake NOWPayments on http://127.0.0.1:{nowpayments_port}" in printed
    assert (tmp_path / "fake-match-trader.json").exists()  # its books, for the next start
    database = sqlite3.connect(tmp_path / "propdesk.sqlite3")
    providers = database.execute(
        'SELECT kind, enabled, "values" FROM wallet_provideraccount'
        " WHERE kind IN ('stripe', 'nowpayments') ORDER BY kind"
    ).fetchall()
    assert [(kind, enabled, json.loads(values)) for kind, enabled, values in providers] == [
        ("nowpayments", 1, {"api_url": f"http://127.0.0.1:{nowpayments_port}"}),
        ("stripe", 1, {"api_base": f"http://127.0.0.1:{stripe_port}"}),
    ]
    methods = database.execute(
        "SELECT name, provider, enabled FROM wallet_paymentmethod"
        " WHERE provider IN ('stripe', 'nowpayments') ORDER BY name"
    ).fetchall()
    assert methods == [("Card (Stripe)", "stripe", 1), ("Crypto (NOWPayments)", "nowpayments", 1)]
    database.close()
    with pytest.raises(OSError):
        positions()
