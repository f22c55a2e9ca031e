"""`propdesk backup --to DIR` and `propdesk restore --from DIR`: the database and the KYC
documents, with a manifest that says what they are (docs/backups.md).

A backup is a folder: the database (PostgreSQL's `pg_dump --format=custom`, or a consistent copy
of the SQLite file made with SQLite's backup API while propdesk runs), the documents of the
`kyc_documents` storage as a tar, and `manifest.json` (the version, the migrations applied, the
time, the database's kind, a SHA-256 of every file). The keys are not in it on purpose: a backup
that carries the keys that open it is a leak waiting to happen. Restoring checks the files against
the manifest, the database file's readability and every member of the documents' tar before it
changes anything, refuses a database that already has tables unless told to replace it, refuses a
backup made by a newer propdesk, and brings an older one up to date. On PostgreSQL the tables are
replaced in one transaction that commits only once the whole dump has been read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from propdesk.ops import archive, pg_backup
from propdesk.ops.archive import many as _many
from propdesk.ops.pg_backup import PG_DUMP_FILE
from propdesk.processes import setup_django

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
DOCUMENTS_FILE = "documents.tar"
DATABASE_FILES = {"postgresql": PG_DUMP_FILE, "sqlite": SQLITE_FILE}
DOCUMENTS_STORAGE = "kyc_documents"
MANIFEST_SHAPE: dict[str, type] = {
    **dict.fromkeys(("files", "database", "migrations", "documents"), dict),
    **dict.fromkeys(("propdesk_version", "created_at"), str),
}
NOT_INCLUDED = [
    "the vault keys (PROPDESK_VAULT_KEYS or var/vault_keys): they open the trading passwords",
    "the secret key (PROPDESK_SECRET_KEY or var/secret_key)",
    "the environment (deploy/propdesk.env or wherever the settings are kept)",
]
CHUNK = 1024 * 1024

Say = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = sub.add_parser(
        "backup", help="copy the database and the KYC documents into a new folder"
    )
    backup.add_argument(
        "--to", required=True, metavar="DIR", help="a folder that does not exist yet (or empty)"
    )
    backup.set_defaults(func=run_backup)
    restore = sub.add_parser(
        "restore", help="put a backup back into this install's database and document storage"
    )
    restore.add_argument("--from", dest="source", required=True, metavar="DIR")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database that already has tables (everything in it is lost)",
    )
    restore.set_defaults(func=run_restore)


def run_backup(ns: argparse.Namespace) -> int:
    setup_django()
    return _reported(lambda: backup(Path(ns.to), say=_print))


def run_restore(ns: argparse.Namespace) -> int:
    setup_django()
    return _reported(lambda: restore(Path(ns.source), force=ns.force, say=_print))


def _print(line: str) -> None:
    print(line, flush=True)


def _reported(work: Callable[[], object]) -> int:
    from django.db import Error as DatabaseError

    try:
        work()
    except (BackupError, pg_backup.PostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DatabaseError, sqlite3.Error) as exc:
        print(f"error: the database refused or could not be reached: {exc}", file=sys.stderr)
        return 2
    return 0


# --- backup ----------------------------------------------------------------------------------


def backup(target: Path, *, say: Say) -> dict[str, Any]:
    """Write a backup into `target` (a new or empty folder); its manifest.

    The files are written into a hidden folder beside it that takes the final name only when
    everything is in, so a folder with the name is always a whole backup."""
    from django.db import connections

    import propdesk

    target = target.absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not empty: a backup goes into a new folder.")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700)
    try:
        connection = connections["default"]
        migrations = _migration_state(connection)
        if not migrations:
            raise BackupError("the database has no propdesk tables: there is nothing to back up.")
        if connection.vendor == "postgresql":
            database = pg_backup.dump(connection, work / PG_DUMP_FILE)
        elif connection.vendor == "sqlite":
            database = _sqlite_copy(connection, work / SQLITE_FILE)
        else:
            raise BackupError(f"propdesk backs up PostgreSQL and SQLite, not {connection.vendor}.")
        say(f"database: {database['summary']}")
        documents = _pack_documents(work / DOCUMENTS_FILE)
        say(f"documents: {documents['summary']}")
        files: dict[str, dict[str, Any]] = {
            path.name: {"sha256": _sha256(path), "bytes": path.stat().st_size}
            for path in sorted(work.iterdir())
        }
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "propdesk_version": propdesk.__version__,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "database": {k: v for k, v in database.items() if k != "summary"},
            "migrations": migrations,
            "documents": {k: v for k, v in documents.items() if k != "summary"},
            "files": files,
            "not_included": NOT_INCLUDED,
        }
        _write_private(work / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        if target.exists():
            target.rmdir()
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    written = [path.stat().st_size for path in target.iterdir()]
    say(f"backup written to {target} ({_many(len(written), 'file')}, {sum(written)} bytes)")
    say(
        "not in the backup: the vault keys and the secret key; keep them apart from it "
        "(docs/backups.md)"
    )
    return manifest


def _migration_state(connection: Any) -> dict[str, str]:
    """The last migration applied in each app (their names are numbered, so the largest)."""
    if "django_migrations" not in connection.introspection.table_names():
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, MAX(name) FROM django_migrations GROUP BY app ORDER BY app")
        return {app: name for app, name in cursor.fetchall()}


def _sqlite_copy(connection: Any, out: Path) -> dict[str, Any]:
    """SQLite's backup API copies a consistent state of the database while others write."""
    connection.ensure_connection()
    copy = sqlite3.connect(out)
    try:
        connection.connection.backup(copy)
    finally:
        copy.close()
    os.chmod(out, 0o600)
    return {
        "kind": "sqlite",
        "file": SQLITE_FILE,
        "summary": f"SQLite database {connection.settings_dict['NAME']} copied ({SQLITE_FILE})",
    }


def _documents_folder() -> tuple[Path | None, str]:
    """The folder of the documents' storage, or None and why there is none."""
    from django.core.files.storage import FileSystemStorage, storages

    storage = storages[DOCUMENTS_STORAGE]
    if isinstance(storage, FileSystemStorage):
        return Path(storage.location), ""
    kind = f"{type(storage).__module__}.{type(storage).__qualname__}"
    return None, (
        f"the {DOCUMENTS_STORAGE} storage is {kind}, not a folder: back its bucket up with the "
        "store's own versioning or replication (docs/backups.md)"
    )


def _pack_documents(out: Path) -> dict[str, Any]:
    folder, why_not = _documents_folder()
    if folder is None:
        return {"kind": "skipped", "reason": why_not, "summary": f"skipped, {why_not}"}
    count = archive.pack(folder, out)
    return {
        "kind": "tar",
        "file": DOCUMENTS_FILE,
        "storage": DOCUMENTS_STORAGE,
        "count": count,
        "summary": f"{_many(count, 'file')} from {folder} ({DOCUMENTS_FILE})",
    }


# --- restore ---------------------------------------------------------------------------------


def restore(source: Path, *, force: bool, say: Say) -> dict[str, Any]:
    """Put the backup in `source` back; its manifest. Every check comes before any change: the
    manifest and its files, the database file's readability, every member of the documents'
    tar, the migrations and the target database."""
    from django.db import connections

    from propdesk.processes import unapplied_migrations

    source = source.absolute()
    manifest = read_manifest(source)
    connection = connections["default"]
    kind = manifest["database"].get("kind")
    if kind != connection.vendor:
        raise BackupError(
            f"this is a {kind} backup and this install's database is {connection.vendor}: "
            f"restore it into a {kind} database (DATABASE_URL)."
        )
    if kind not in DATABASE_FILES:
        raise BackupError(f"propdesk restores PostgreSQL and SQLite, not {kind}.")
    _verify_files(source, manifest)
    say(f"checked {_many(len(manifest['files']), 'file')} against the manifest's SHA-256 sums")
    database_file = source / DATABASE_FILES[kind]
    if kind == "postgresql":
        pg_backup.check_dump(database_file, manifest["database"].get("dumped_with"))
    else:
        _check_sqlite(database_file)
    documents = manifest["documents"]
    folder, why_not = _documents_folder()
    if documents["kind"] == "tar":
        _check_documents(source, folder)
    _refuse_unknown_migrations(manifest)
    tables = connection.introspection.table_names()
    if tables and not force:
        raise BackupError(
            f"the database {connection.settings_dict['NAME']} already has {len(tables)} tables: "
            "restoring replaces everything in it. Restore into a new, empty database, or run "
            "again with --force to replace it."
        )
    connection.close()
    if kind == "postgresql":
        pg_backup.restore(connection, database_file, drop=tables)
    else:
        _sqlite_restore(connection, database_file)
    say(
        f"database: {connection.settings_dict['NAME']} restored from the backup of "
        f"{manifest['created_at']} (propdesk {manifest['propdesk_version']})"
    )
    if documents["kind"] == "skipped":
        say(f"documents: not in the backup ({documents.get('reason')})")
    elif folder is None:
        say(
            f"documents: NOT restored, {why_not}; copy the files in {DOCUMENTS_FILE} into it "
            "under the same names"
        )
    else:
        try:
            count = archive.unpack(source / DOCUMENTS_FILE, folder)
        except (tarfile.TarError, archive.ArchiveError, OSError) as exc:
            raise BackupError(
                f"the database was restored but the documents were not: {exc}. Fix that and "
                "run the restore again with --force."
            ) from None
        say(f"documents: {_many(count, 'file')} restored into {folder}")
    pending = unapplied_migrations()
    if pending:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        applied = _many(pending, "migration")
        say(f"migrations: the backup is older than this propdesk; applied {applied}")
    else:
        say("migrations: the backup matches this propdesk's migrations")
    _check_vault(say)
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} is not a propdesk backup: it has no {MANIFEST}.")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{path} is not readable JSON: the backup is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            f"{path} is not a manifest this propdesk reads (format {FORMAT} expected)."
        )
    for key, shape in MANIFEST_SHAPE.items():
        if not isinstance(manifest.get(key), shape):
            raise BackupError(f"{path} has no {key!r}: the backup is damaged.")
    if not all(isinstance(name, str) for name in manifest["migrations"].values()):
        raise BackupError(f"{path} names its migrations wrongly: the backup is damaged.")
    return manifest


def _verify_files(source: Path, manifest: dict[str, Any]) -> None:
    """The manifest lists exactly the files a backup of its kind has (restore reads those names,
    so a manifest that names others would leave the real ones unchecked), and each is there with
    its SHA-256: a damaged or altered backup is refused before anything is changed."""
    files = manifest["files"]
    database, documents = manifest["database"], manifest["documents"]
    expected = {DATABASE_FILES[database["kind"]]}
    if documents.get("kind") == "tar":
        expected.add(DOCUMENTS_FILE)
    elif documents.get("kind") != "skipped":
        raise BackupError(f"the manifest's documents are of no kind propdesk knows: {documents}")
    named = {database.get("file"), *([documents.get("file")] if len(expected) > 1 else [])}
    if set(files) != expected or named != expected:
        listed = ", ".join(sorted(map(str, {*files, *named})))
        raise BackupError(
            f"the manifest names {listed}, not {', '.join(sorted(expected))}: the backup is "
            "damaged or was altered. Nothing was restored; use another backup."
        )
    for name, facts in files.items():
        path = source / name
        if not path.is_file():
            raise BackupError(f"{name} is missing from {source}: the backup is incomplete.")
        if not isinstance(facts, dict) or _sha256(path) != facts.get("sha256"):
            raise BackupError(
                f"{name} does not match its SHA-256 in the manifest: the file was changed or "
                "damaged after the backup. Nothing was restored; use another backup."
            )


def _check_sqlite(copy: Path) -> None:
    """The copy opens as a SQLite database, passes SQLite's own check, and is propdesk's."""
    try:
        database = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
        try:
            verdict = database.execute("PRAGMA quick_check").fetchone()[0]
            database.execute("SELECT COUNT(*) FROM django_migrations").fetchone()
        finally:
            database.close()
    except sqlite3.Error as exc:
        verdict = str(exc)
    if verdict != "ok":
        raise BackupError(
            f"{SQLITE_FILE} is not a readable propdesk database ({verdict}): the backup is "
            "damaged. Nothing was restored; use another backup."
        )


def _check_documents(source: Path, folder: Path | None) -> None:
    """Every member of the documents' tar is a regular file or folder whose name stays inside
    the storage's folder: checked before the database is touched, so a hostile archive changes
    nothing (ops/archive.py)."""
    try:
        archive.check(source / DOCUMENTS_FILE, folder)
    except archive.ArchiveError as exc:
        raise BackupError(
            f"{DOCUMENTS_FILE} is refused: {exc}. A backup's archive holds only the documents' "
            "files under their own folder. Nothing was restored; use another backup."
        ) from None


def _refuse_unknown_migrations(manifest: dict[str, Any]) -> None:
    """A backup that has migrations this code does not know was made by a newer propdesk: its
    tables are not the ones this code expects, and no migration can take them back."""
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(
        f"{app}.{name}" for app, name in manifest["migrations"].items() if (app, name) not in known
    )
    if unknown:
        import propdesk

        raise BackupError(
            f"this backup was made by a newer propdesk ({manifest['propdesk_version']}; this is "
            f"{propdesk.__version__}): it has migrations this code does not know "
            f"({', '.join(unknown)}). Install that version or a later one, then restore."
        )


def _sqlite_restore(connection: Any, copy: Path) -> None:
    """SQLite's backup API writes the whole database into the target in one step (a target
    that had tables is replaced page by page, its WAL included)."""
    target = Path(connection.settings_dict["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def _check_vault(say: Say) -> None:
    """The trading passwords are sealed under the vault keys, which no backup carries: say at
    once when this install's keys do not open what was restored."""
    from django.conf import settings

    from propdesk.core import vault

    if not settings.VAULT_KEYS:
        say("vault: no vault keys set (sealed under the secret key); not checked")
        return
    done = vault.reseal(dry_run=True)
    sealed = done.current + done.resealed + done.unreadable
    if done.unreadable:
        say(
            f"vault: WARNING {done.unreadable} of {sealed} sealed secrets do not open with this "
            "install's vault keys: set PROPDESK_VAULT_KEYS to the keys of the backed-up install "
            "(docs/backups.md)"
        )
    else:
        say(f"vault: all {sealed} sealed secrets open with this install's keys")


# --- shared ----------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
