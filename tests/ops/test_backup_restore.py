"""`propdesk backup` and `propdesk restore`: a backup of a real install (a client with a KYC
submission and its documents, an approved deposit in the books, a trading server whose API key
is sealed in the vault) restored into a fresh database and a fresh documents folder is a working
install, checked by separate processes against it; a damaged, newer, misdirected or hostile
backup (a documents' tar whose members would write, link or change permissions outside the
documents' folder) is refused before anything changes, and a restore over an install that fails
part-way leaves that install's database as it was.

The backup is taken in this process, of the test database (on PostgreSQL with pg_dump, on SQLite
with SQLite's backup API); the restores and the checks run as `propdesk` processes against a
database these tests create and drop themselves, so they never fight pytest-django's."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.cli import main as propdesk
from propdesk.core import vault
from propdesk.onboarding import kyc
from propdesk.wallet import deposits
from propdesk.wallet.models import JournalEntry
from tests.conftest import PASSWORD
from tests.onboarding.factories import PDF, answers, documents, png_bytes
from tests.platforms.factories import API_KEY, remote_server

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
POSTGRES = connection.vendor == "postgresql"
DATABASE_FILE = "database.dump" if POSTGRES else "database.sqlite3"


@dataclass
class Install:
    email: str
    password: str
    kyc_reference: str
    entries: int
    document_sha256: dict[str, str]


@pytest.fixture
def install(active_client, kyc_form, bank_transfer, finance, admin) -> Install:
    """What a firm's install holds after a day's work, made through the use cases."""
    submission = kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    deposit = deposits.request_deposit(
        active_client, method=bank_transfer.pk, amount="500.00", currency="USD"
    )
    request = ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=deposit.pk)
    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "FT-500"})
    remote_server(admin)
    return Install(
        email=active_client.user.email,
        password=PASSWORD,
        kyc_reference=submission.reference,
        entries=JournalEntry.objects.count(),
        document_sha256={
            "passport.png": hashlib.sha256(png_bytes()).hexdigest(),
            "bill.pdf": hashlib.sha256(PDF).hexdigest(),
        },
    )


@dataclass
class Target:
    """A fresh install to restore into: its own database, folder and keys."""

    database_url: str
    var: Path
    vault_keys: str

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "PROPDESK_VAR_DIR": str(self.var),
            "PROPDESK_PRIVATE_DIR": str(self.var / "private"),
            "PROPDESK_VAULT_KEYS": self.vault_keys,
            "PYTHONPATH": str(ROOT),
        }
        for name in ("PROPDESK_KYC_STORAGE_BACKEND", "PROPDESK_KYC_STORAGE_OPTIONS"):
            env.pop(name, None)
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def propdesk(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "propdesk.cli", *args)

    def tables(self) -> list[str]:
        if self.database_url.startswith("sqlite"):
            path = Path(self.database_url.removeprefix("sqlite:///"))
            if not path.exists():
                return []
            with sqlite3.connect(path) as db:
                rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                return [name for (name,) in rows]
        with psycopg.connect(self.database_url) as db:
            rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return [name for (name,) in rows]

    def documents(self) -> list[Path]:
        return [p for p in (self.var / "private").rglob("*") if p.is_file()]

    def sql(self, *statements: str) -> list[tuple[object, ...]]:
        """Run the statements against this install's database; the last one's rows."""
        rows: list[tuple[object, ...]] = []
        if self.database_url.startswith("sqlite"):
            with sqlite3.connect(self.database_url.removeprefix("sqlite:///")) as db:
                for statement in statements:
                    rows = db.execute(statement).fetchall()
            return rows
        with psycopg.connect(self.database_url) as db:
            for statement in statements:
                found = db.execute(statement)
                rows = found.fetchall() if found.description else []
        return rows

    def change_after_the_backup(self) -> None:
        """A row and a table the backup does not have."""
        self.sql(
            "INSERT INTO auth_group (name) VALUES ('added after the backup')",
            "CREATE TABLE added_after_the_backup (id integer)",
        )

    def changes_after_the_backup(self) -> tuple[list[tuple[object, ...]], bool]:
        rows = self.sql("SELECT name FROM auth_group WHERE name = 'added after the backup'")
        return rows, "added_after_the_backup" in self.tables()


def _server_url(name: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{name}"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Callable[[], Target]]:
    """New, empty installs of the suite's database kind, dropped afterwards."""
    made: list[str] = []
    keys = ",".join(_this_installs_vault_keys())

    def make() -> Target:
        n = len(made) + 1
        var = tmp_path / f"restored-{n}"
        if not POSTGRES:
            made.append(str(var))
            return Target(f"sqlite:///{var / 'propdesk.sqlite3'}", var, keys)
        name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return Target(_server_url(name), var, keys)

    yield make
    if POSTGRES:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
            for name in made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _this_installs_vault_keys() -> list[str]:
    from django.conf import settings

    return list(settings.VAULT_KEYS)


def back_up(to: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert propdesk(["backup", "--to", str(to)]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def reseal(backup: Path, name: str) -> None:
    """The manifest's SHA-256 and size of `name` made to match the file as it is now, as whoever
    altered the file would: what restore checks next can no longer lean on the sums."""
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    data = (backup / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    path.write_text(json.dumps(manifest))


def test_a_restore_into_a_fresh_database_brings_back_a_working_install(
    install, fresh, tmp_path, capsys, settings
):
    said = back_up(tmp_path / "backup", capsys)
    assert "documents: 2 files" in said
    written = list((tmp_path / "backup").iterdir())
    assert len(written) == 3
    total = sum(path.stat().st_size for path in written)
    assert f"({len(written)} files, {total} bytes)" in said
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["database"]["kind"] == connection.vendor
    assert manifest["migrations"]["wallet"].startswith("0")
    assert manifest["documents"]["count"] == 2
    keys = [k.encode() for k in (*settings.VAULT_KEYS, settings.SECRET_KEY)]
    for path in (tmp_path / "backup").iterdir():
        assert not any(key in path.read_bytes() for key in keys), f"a key is in {path.name}"
    target = fresh()

    restored = target.propdesk("restore", "--from", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    assert "documents: 2 files restored" in restored.stdout
    assert "migrations: the backup matches" in restored.stdout
    assert "vault: all 1 sealed secrets open" in restored.stdout

    books = target.propdesk("ledger", "check")
    assert books.returncode == 0, books.stderr
    assert f"{install.entries} entries balance" in books.stdout
    assert install.entries > 0
    looked = target.run("-m", "tests.ops.restored_install", install.email, install.password)
    assert looked.returncode == 0, looked.stderr
    seen = json.loads(looked.stdout)
    assert seen["login_status"] == 302, seen
    assert seen["kyc"] == [install.kyc_reference]
    assert seen["documents"] == {
        name: {"status": 200, "sha256": digest} for name, digest in install.document_sha256.items()
    }
    assert seen["api_keys"] == [API_KEY]


def test_a_restore_without_the_vault_keys_says_the_sealed_secrets_do_not_open(
    install, fresh, tmp_path, capsys
):
    back_up(tmp_path / "backup", capsys)
    target = fresh()
    target.vault_keys = vault.new_key()  # a new machine whose keys were not brought over

    restored = target.propdesk("restore", "--from", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    assert "vault: WARNING 1 of 1 sealed secrets do not open" in restored.stdout
    looked = target.run("-m", "tests.ops.restored_install", install.email, install.password)
    assert json.loads(looked.stdout)["api_keys"] == [None]


def test_a_tampered_backup_is_refused_and_nothing_is_restored(install, fresh, tmp_path, capsys):
    back_up(tmp_path / "backup", capsys)
    archive = tmp_path / "backup" / "documents.tar"
    data = bytearray(archive.read_bytes())
    data[600] ^= 0x01  # one bit of the archive, past its first header
    archive.write_bytes(bytes(data))
    target = fresh()

    restored = target.propdesk("restore", "--from", str(tmp_path / "backup"))
    assert restored.returncode == 2
    assert "documents.tar does not match its SHA-256" in restored.stderr
    assert "Nothing was restored" in restored.stderr
    assert target.tables() == []
    assert target.documents() == []


def test_a_database_that_has_tables_is_replaced_only_with_force(install, fresh, tmp_path, capsys):
    back_up(tmp_path / "backup", capsys)
    target = fresh()
    assert target.propdesk("restore", "--from", str(tmp_path / "backup")).returncode == 0
    booked = target.propdesk("ledger", "check").stdout
    target.change_after_the_backup()
    changed = target.changes_after_the_backup()
    assert changed == ([("added after the backup",)], True)

    again = target.propdesk("restore", "--from", str(tmp_path / "backup"))
    assert again.returncode == 2
    assert "already has" in again.stderr
    assert "--force" in again.stderr
    assert target.changes_after_the_backup() == changed
    forced = target.propdesk("restore", "--from", str(tmp_path / "backup"), "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.changes_after_the_backup() == ([], False)
    assert target.propdesk("ledger", "check").stdout == booked


def test_a_forced_restore_of_a_damaged_database_file_leaves_the_database_as_it_was(
    install, fresh, tmp_path, capsys
):
    """The database file is cut short (on PostgreSQL at its very end: its table of contents
    still reads, so the damage shows only while restoring) and the manifest's sum is made to
    match: the replacement fails, and the install it was to replace keeps every table and
    row."""
    back_up(tmp_path / "backup", capsys)
    target = fresh()
    assert target.propdesk("restore", "--from", str(tmp_path / "backup")).returncode == 0
    target.change_after_the_backup()
    tables = sorted(target.tables())
    groups = target.sql("SELECT name FROM auth_group ORDER BY name")
    path = tmp_path / "backup" / DATABASE_FILE
    data = path.read_bytes()
    # PostgreSQL's dump loses its last bytes only (its table of contents still reads); a SQLite
    # file loses half its pages (its last 64 bytes may belong to a page nothing reads).
    path.write_bytes(data[:-64] if POSTGRES else data[: len(data) // 2])
    reseal(tmp_path / "backup", DATABASE_FILE)

    forced = target.propdesk("restore", "--from", str(tmp_path / "backup"), "--force")
    assert forced.returncode == 2
    assert sorted(target.tables()) == tables
    assert len(tables) > 20
    assert target.sql("SELECT name FROM auth_group ORDER BY name") == groups
    assert target.changes_after_the_backup() == ([("added after the backup",)], True)
    assert target.propdesk("ledger", "check").returncode == 0
    assert "Traceback" not in forced.stderr
    assert "Nothing was restored" in forced.stderr
    if POSTGRES:
        assert "failed and was rolled back, so the database is as it was" in forced.stderr
        assert "could not read from input file" in forced.stderr
    else:
        assert "database.sqlite3 is not a readable propdesk database" in forced.stderr


def test_a_database_file_that_is_not_a_database_is_refused_with_a_message(
    install, fresh, tmp_path, capsys
):
    back_up(tmp_path / "backup", capsys)
    (tmp_path / "backup" / DATABASE_FILE).write_bytes(b"not a database\n" * 512)
    reseal(tmp_path / "backup", DATABASE_FILE)
    target = fresh()

    restored = target.propdesk("restore", "--from", str(tmp_path / "backup"))
    assert restored.returncode == 2
    assert "Traceback" not in restored.stderr
    if POSTGRES:
        assert "error: database.dump cannot be read by pg_restore" in restored.stderr
    else:
        assert "error: database.sqlite3 is not a readable propdesk database" in restored.stderr
    assert "the backup is damaged. Nothing was restored" in restored.stderr
    assert target.tables() == []
    assert target.documents() == []


def test_a_manifest_that_names_other_files_than_restore_reads_is_refused(
    install, fresh, tmp_path, capsys
):
    """The manifest vouches for a copy under another name while the file restore reads is
    damaged: the sums would pass, so the names must be the ones restore reads."""
    backup = tmp_path / "backup"
    back_up(backup, capsys)
    name = DATABASE_FILE
    other = f"other-{name}"
    (backup / other).write_bytes((backup / name).read_bytes())
    (backup / name).write_bytes(b"damaged")
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"][other] = manifest["files"].pop(name)
    manifest["database"]["file"] = other
    path.write_text(json.dumps(manifest))
    target = fresh()

    restored = target.propdesk("restore", "--from", str(backup))
    assert restored.returncode == 2
    assert "Traceback" not in restored.stderr
    assert f"error: the manifest names documents.tar, {other}, not" in restored.stderr
    assert "Nothing was restored" in restored.stderr
    assert target.tables() == []
    assert target.documents() == []


def _hostile_members(outside: Path) -> dict[str, list[tarfile.TarInfo]]:
    victim = str(outside / "victim.txt")

    def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode = kind, linkname, 0o644
        if kind == tarfile.REGTYPE:
            info.size = len(b"written by the archive\n")
        return info

    good = member("a-client/passport.png")
    return {
        "absolute name": [good, member(victim)],
        "dot-dot": [good, member("../../escape.txt")],
        "symbolic link": [good, member("out", tarfile.SYMTYPE, str(outside)), member("out/x")],
        "relative link": [good, member("up", tarfile.SYMTYPE, "../../.."), member("up/x.txt")],
        "hard link": [good, member("hard", tarfile.LNKTYPE, victim)],
        "named pipe": [good, member("pipe", tarfile.FIFOTYPE)],
        "device": [good, member("null", tarfile.CHRTYPE)],
    }


REFUSALS = {
    "absolute name": "is an absolute name",
    "dot-dot": "'../../escape.txt' is a name that climbs out of the folder with '..'",
    "symbolic link": "'out' is a symbolic link to",
    "relative link": "'up' is a symbolic link to ../../..",
    "hard link": "'hard' is a hard link to",
    "named pipe": "'pipe' is a named pipe, not a regular file or folder",
    "device": "'null' is a device, not a regular file or folder",
}


@pytest.mark.parametrize("hostile", sorted(REFUSALS))
def test_a_documents_archive_that_reaches_outside_its_folder_is_refused_before_any_change(
    hostile, install, fresh, tmp_path, capsys
):
    """A backup folder can come from anywhere it was copied from: its tar is rebuilt with a
    member that would write, link or change permissions outside the documents' folder (the
    manifest's sum made to match), after a harmless one."""
    backup = tmp_path / "backup"
    back_up(backup, capsys)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("the operator's own file\n")
    (outside / "victim.txt").chmod(0o644)
    with tarfile.open(backup / "documents.tar", "w") as tar:
        for member in _hostile_members(outside)[hostile]:
            body = b"written by the archive\n" if member.isfile() else None
            tar.addfile(member, io.BytesIO(body) if body else None)
    reseal(backup, "documents.tar")
    target = fresh()

    restored = target.propdesk("restore", "--from", str(backup))
    assert restored.returncode == 2
    assert "Traceback" not in restored.stderr
    assert "error: documents.tar is refused: its member" in restored.stderr
    assert REFUSALS[hostile] in restored.stderr
    assert "Nothing was restored" in restored.stderr
    assert target.tables() == []
    assert target.documents() == []
    assert [p.name for p in outside.iterdir()] == ["victim.txt"]
    assert (outside / "victim.txt").read_text() == "the operator's own file\n"
    assert stat.S_IMODE((outside / "victim.txt").stat().st_mode) == 0o644
    assert not list(tmp_path.rglob("escape.txt"))
    assert not list(tmp_path.rglob("x.txt"))


def test_a_backup_made_by_a_newer_propdesk_is_refused(install, fresh, tmp_path, capsys):
    back_up(tmp_path / "backup", capsys)
    path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["migrations"]["wallet"] = "9999_from_a_later_version"
    manifest["propdesk_version"] = "99.0.0"
    path.write_text(json.dumps(manifest))
    target = fresh()

    restored = target.propdesk("restore", "--from", str(tmp_path / "backup"))
    assert restored.returncode == 2
    assert "made by a newer propdesk (99.0.0" in restored.stderr
    assert "wallet.9999_from_a_later_version" in restored.stderr
    assert target.tables() == []
    assert target.documents() == []


def test_a_backup_of_another_kind_of_database_is_refused(install, fresh, tmp_path, capsys):
    back_up(tmp_path / "backup", capsys)
    path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(path.read_text())
    other = "sqlite" if POSTGRES else "postgresql"
    manifest["database"]["kind"] = other
    path.write_text(json.dumps(manifest))
    target = fresh()

    restored = target.propdesk("restore", "--from", str(tmp_path / "backup"))
    assert restored.returncode == 2
    assert f"this is a {other} backup and this install's database is" in restored.stderr
    assert target.tables() == []


def test_a_backup_older_than_the_code_is_migrated_after_the_restore(
    install, fresh, tmp_path, capsys
):
    """An install one migration behind (its onboarding app taken back a step) is backed up by
    its own `propdesk backup` and restored: restore brings the database up to this code."""
    back_up(tmp_path / "backup", capsys)
    older = fresh()
    assert older.propdesk("restore", "--from", str(tmp_path / "backup")).returncode == 0
    back = older.propdesk("manage", "migrate", "onboarding", "0002", "--verbosity", "0")
    assert back.returncode == 0, back.stderr
    made = older.propdesk("backup", "--to", str(tmp_path / "older-backup"))
    assert made.returncode == 0, made.stderr
    manifest = json.loads((tmp_path / "older-backup" / "manifest.json").read_text())
    assert manifest["migrations"]["onboarding"] == "0002_kyc_document_checked_with"
    target = fresh()

    restored = target.propdesk("restore", "--from", str(tmp_path / "older-backup"))
    assert restored.returncode == 0, restored.stderr
    applied = re.search(
        r"the backup is older than this propdesk; applied (\d+) migration", restored.stdout
    )
    assert applied, restored.stdout
    assert int(applied.group(1)) >= 1
    plan = target.propdesk("manage", "migrate", "--plan")
    assert "No planned migration operations." in plan.stdout


def test_documents_in_a_storage_that_is_not_a_folder_are_left_to_the_store(
    install, settings, tmp_path, capsys
):
    settings.STORAGES = {
        **settings.STORAGES,
        "kyc_documents": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    said = back_up(tmp_path / "backup", capsys)
    assert "documents: skipped, the kyc_documents storage is" in said
    assert "InMemoryStorage, not a folder" in said
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["documents"]["kind"] == "skipped"
    assert sorted(manifest["files"]) == [manifest["database"]["file"]]


def test_a_backup_goes_into_a_new_folder_only(db, tmp_path, capsys):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "earlier.dump").write_text("an earlier backup")
    assert propdesk(["backup", "--to", str(tmp_path / "backup")]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["earlier.dump"]


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES, reason="pg_dump backs up PostgreSQL only")
def test_a_missing_pg_dump_is_named(db, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert propdesk(["backup", "--to", str(tmp_path / "backup")]) == 2
    assert "pg_dump is not installed on this machine" in capsys.readouterr().err
    assert not (tmp_path / "backup").exists()
    assert [p.name for p in tmp_path.iterdir()] == []
