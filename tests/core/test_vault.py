"""The vault seals trading passwords under keys of its own: rotating the site's secret key
leaves them readable, vault keys rotate (a new key in front, reseal, drop the old one), and
values sealed under the old secret-key-derived key still open until they are resealed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import checks
from django.test import override_settings

from propdesk.challenges.models import StageAttempt
from propdesk.core import vault
from tests.challenges.factories import running, stage

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_rotating_the_secret_key_leaves_sealed_secrets_readable(settings):
    with override_settings(VAULT_KEYS=[OLD]):
        token = vault.seal("trader-password")
        with override_settings(SECRET_KEY="a-brand-new-secret-key-" + "x" * 40):
            assert vault.open_sealed(token) == "trader-password"


def test_a_new_vault_key_opens_old_values_and_reseal_moves_them_under_it(
    active_client, finance, admin
):
    with override_settings(VAULT_KEYS=[OLD]):
        _, attempt = running(active_client, finance, admin, stages=[stage()])
        sealed = StageAttempt.objects.get(pk=attempt.pk).sealed_password
        password = vault.open_sealed(sealed)
        assert password
    with override_settings(VAULT_KEYS=[NEW, OLD]):
        assert vault.open_sealed(sealed) == password  # the old key still opens
        done = vault.reseal()
        assert (done.resealed, done.unreadable) == (1, 0)
        again = vault.reseal()
        assert (again.resealed, again.current) == (0, 1)
    resealed = StageAttempt.objects.get(pk=attempt.pk).sealed_password
    assert resealed != sealed
    with override_settings(VAULT_KEYS=[NEW]):  # the old key dropped after the reseal
        assert vault.open_sealed(resealed) == password
        assert vault.open_sealed(sealed) is None


def test_values_sealed_under_the_secret_key_open_until_resealed(
    active_client, finance, admin, settings
):
    """Before the vault had keys of its own it sealed under a key derived from SECRET_KEY."""
    _, attempt = running(active_client, finance, admin, stages=[stage()])
    legacy = vault._derived(settings.SECRET_KEY).encrypt(b"from-before").decode()
    StageAttempt.objects.filter(pk=attempt.pk).update(sealed_password=legacy)
    assert vault.open_sealed(legacy) == "from-before"
    old_secret = settings.SECRET_KEY
    with override_settings(SECRET_KEY="rotated-" + "y" * 50, SECRET_KEY_FALLBACKS=[old_secret]):
        assert vault.open_sealed(legacy) == "from-before"  # the old secret as a fallback
        assert vault.reseal().resealed == 1
    with override_settings(SECRET_KEY="rotated-" + "y" * 50, SECRET_KEY_FALLBACKS=[]):
        resealed = StageAttempt.objects.get(pk=attempt.pk).sealed_password
        assert vault.open_sealed(resealed) == "from-before"


def test_a_value_no_key_opens_is_counted_and_left_as_it_is(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage()])
    lost = Fernet(Fernet.generate_key()).encrypt(b"lost").decode()
    StageAttempt.objects.filter(pk=attempt.pk).update(sealed_password=lost)
    done = vault.reseal()
    assert done.unreadable == 1
    assert StageAttempt.objects.get(pk=attempt.pk).sealed_password == lost


def test_a_bad_vault_key_is_a_check_error():
    with override_settings(VAULT_KEYS=["not-a-key"]):
        found = [m for m in checks.run_checks() if m.id == "propdesk.E001"]
    assert len(found) == 1
    assert "Vault key 1 is not a Fernet key" in found[0].msg
    with override_settings(VAULT_KEYS=[OLD]):
        assert not [m for m in checks.run_checks() if m.id == "propdesk.E001"]


def propdesk(*args: str, var: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PROPDESK_VAR_DIR": str(var), **env}
    environment.pop("DATABASE_URL", None)
    environment.pop("PROPDESK_VAULT_KEYS", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "propdesk.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=False)
def test_the_vault_commands_add_a_key_and_reseal(tmp_path):
    assert propdesk("manage", "migrate", "--verbosity", "0", var=tmp_path).returncode == 0
    keys = tmp_path / "vault_keys"
    first = keys.read_text().split()
    assert len(first) == 1
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    added = propdesk("vault", "new-key", var=tmp_path)
    assert added.returncode == 0, added.stderr
    now = keys.read_text().split()
    assert len(now) == 2
    assert now[1] == first[0]
    resealed = propdesk("vault", "reseal", var=tmp_path)
    assert resealed.returncode == 0, resealed.stderr
    assert "resealed 0, already under the newest key 0, unreadable 0" in resealed.stdout
    bad = propdesk("vault", "reseal", var=tmp_path, PROPDESK_VAULT_KEYS="nonsense")
    assert bad.returncode == 1
    assert "not a Fernet key" in bad.stderr


def test_an_install_with_its_secret_key_in_the_environment_and_no_vault_keys_seals_as_before(
    tmp_path,
):
    """Every host of such an install shares the secret key, not a var/ folder: the vault seals
    under the secret-key-derived key (readable on every host) and the deployment check warns."""
    secret = "s" * 60
    sealed = propdesk(
        "manage",
        "shell",
        "-c",
        "from propdesk.core import vault; print(vault.seal('pw'))",
        "-v",
        "0",
        var=tmp_path / "host-a",
        PROPDESK_SECRET_KEY=secret,
    )
    assert sealed.returncode == 0, sealed.stderr
    assert not (tmp_path / "host-a" / "vault_keys").exists()
    opened = propdesk(
        "manage",
        "shell",
        "-c",
        f"from propdesk.core import vault; print(vault.open_sealed({sealed.stdout.strip()!r}))",
        "-v",
        "0",
        var=tmp_path / "host-b",
        PROPDESK_SECRET_KEY=secret,
    )
    assert opened.stdout.strip().splitlines()[-1] == "pw", opened.stderr
    check = propdesk(
        "manage", "check", "--deploy", var=tmp_path / "host-a", PROPDESK_SECRET_KEY=secret
    )
    assert "propdesk.W003" in check.stderr + check.stdout


def test_a_malformed_vault_key_stops_the_start(tmp_path):
    bad = propdesk("manage", "check", var=tmp_path, PROPDESK_VAULT_KEYS=f"{OLD},not-a-key")
    assert bad.returncode != 0
    assert "Vault key 2 is not a Fernet key" in bad.stderr


def test_keys_generated_under_var_keep_opening_what_they_sealed_once_a_secret_key_is_set(
    tmp_path,
):
    """A local install that later sets PROPDESK_SECRET_KEY keeps its generated vault keys."""
    sealed = propdesk(
        "manage",
        "shell",
        "-v",
        "0",
        "-c",
        "from propdesk.core import vault; print(vault.seal('pw'))",
        var=tmp_path,
    )
    assert (tmp_path / "vault_keys").exists()
    opened = propdesk(
        "manage",
        "shell",
        "-v",
        "0",
        "-c",
        f"from propdesk.core import vault; print(vault.open_sealed({sealed.stdout.strip()!r}))",
        var=tmp_path,
        PROPDESK_SECRET_KEY="s" * 60,
    )
    assert opened.stdout.strip().splitlines()[-1] == "pw", opened.stderr
