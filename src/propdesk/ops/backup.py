"""`propdesk backup --to DIR` and `propdesk restore --from DIR`: the database and the KYC
documents, with a manifest that says what they are (docs/backups.md).

A backup is a folder: the database (PostgreSQL's `pg_dump --format=custom`, or a consistent copy
of the SQLite file made with SQLite's backup API while propdesk runs), the documents of the
`kyc_documents` storage as a tar, and `manifest.json` (the version, the migrations applied, the
time, the database's kind, a SHA-256 of every file). The keys are not in it on purpose: a backup
that carries the keys that open it is a leak waiting to happen. Restoring checks the files against
the manifest before it changes anything, refuses a database that already has tables unless told
to replace it, refuses a backup made by a newer propdesk, and brings an older one up to date.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from propdesk.processes import setup_django

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.dump"
SQLITE_FILE = "database.sqlite3"
DOCUMENTS_FILE = "documents.tar"
DOCUMENTS_STORAGE = "kyc_documents"
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
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
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
            database = _pg_dump(connection, work / PG_DUMP_FILE)
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
    total = sum(facts["bytes"] for facts in files.values())
    say(f"backup written to {target} ({_many(len(files), 'file')}, {total} bytes)")
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


def _pg_dump(connection: Any, out: Path) -> dict[str, Any]:
    tool = _pg_tool("pg_dump")
    server = connection.pg_version // 10000
    version = _tool_version(tool)
    if int(version.split(".")[0]) < server:
        raise BackupError(
            f"pg_dump {version} is older than the database server (PostgreSQL {server}) and "
            f"cannot dump it: install pg_dump {server} or newer (postgresql-client-{server})."
        )
    settings_dict = connection.settings_dict
    _run(
        [tool, "--format=custom", "--no-password", f"--file={out}"],
        _pg_environment(settings_dict),
        "pg_dump",
    )
    os.chmod(out, 0o600)
    name = settings_dict["NAME"]
    return {
        "kind": "postgresql",
        "file": PG_DUMP_FILE,
        "server_major": server,
        "dumped_with": f"pg_dump {version}",
        "summary": f"PostgreSQL database {name} dumped with pg_dump {version} ({PG_DUMP_FILE})",
    }


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
    count = 0
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for path in _files_under(folder):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
            count += 1
    return {
        "kind": "tar",
        "file": DOCUMENTS_FILE,
        "storage": DOCUMENTS_STORAGE,
        "count": count,
        "summary": f"{_many(count, 'file')} from {folder} ({DOCUMENTS_FILE})",
    }


def _files_under(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


# --- restore ---------------------------------------------------------------------------------


def restore(source: Path, *, force: bool, say: Say) -> dict[str, Any]:
    """Put the backup in `source` back; its manifest. Every check comes before any change."""
    from django.db import connections

    from propdesk.processes import unapplied_migrations

    source = source.absolute()
    manifest = read_manifest(source)
    _verify_files(source, manifest)
    say(f"checked {_many(len(manifest['files']), 'file')} against the manifest's SHA-256 sums")
    connection = connections["default"]
    kind = manifest["database"]["kind"]
    if kind != connection.vendor:
        raise BackupError(
            f"this is a {kind} backup and this install's database is {connection.vendor}: "
            f"restore it into a {kind} database (DATABASE_URL)."
        )
    _refuse_unknown_migrations(manifest)
    tables = connection.introspection.table_names()
    if tables and not force:
        raise BackupError(
            f"the database {connection.settings_dict['NAME']} already has {len(tables)} tables: "
            "restoring replaces everything in it. Restore into a new, empty database, or run "
            "again with --force to replace it."
        )
    documents = manifest["documents"]
    folder, why_not = _documents_folder()
    connection.close()
    if kind == "postgresql":
        _pg_restore(connection, source / PG_DUMP_FILE, manifest, drop=tables)
    else:
        _sqlite_restore(connection, source / SQLITE_FILE)
    say(
        f"database: {connection.settings_dict['NAME']} restored from the backup of "
        f"{manifest['created_at']} (propdesk {manifest['propdesk_version']})"
    )
    if documents["kind"] == "skipped":
        say(f"documents: not in the backup ({documents['reason']})")
    elif folder is None:
        say(
            f"documents: NOT restored, {why_not}; copy the files in {DOCUMENTS_FILE} into it "
            "under the same names"
        )
    else:
        try:
            count = _unpack_documents(source / DOCUMENTS_FILE, folder)
        except (tarfile.TarError, OSError) as exc:
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
    for key in ("files", "database", "migrations", "documents"):
        if not isinstance(manifest.get(key), dict):
            raise BackupError(f"{path} has no {key!r}: the backup is damaged.")
    if not all(isinstance(name, str) for name in manifest["migrations"].values()):
        raise BackupError(f"{path} names its migrations wrongly: the backup is damaged.")
    return manifest


def _verify_files(source: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists is there with its SHA-256, and the files restore needs are
    listed: a damaged or altered backup is refused before anything is changed."""
    files = manifest["files"]
    needed = [manifest["database"].get("file")]
    if manifest["documents"].get("kind") != "skipped":
        needed.append(manifest["documents"].get("file"))
    for name in needed:
        if name not in files:
            raise BackupError(f"the manifest lists no {name}: the backup is damaged.")
    for name, facts in files.items():
        path = source / name
        if Path(name).name != name or not path.is_file():
            raise BackupError(f"{name} is missing from {source}: the backup is incomplete.")
        if _sha256(path) != facts.get("sha256"):
            raise BackupError(
                f"{name} does not match its SHA-256 in the manifest: the file was changed or "
                "damaged after the backup. Nothing was restored; use another backup."
            )


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


def _pg_restore(connection: Any, dump: Path, manifest: dict[str, Any], drop: list[str]) -> None:
    tool = _pg_tool("pg_restore")
    version = _tool_version(tool)
    dumped = str(manifest["database"].get("dumped_with", "pg_dump 0")).split()[-1]
    if int(version.split(".")[0]) < int(dumped.split(".")[0]):
        raise BackupError(
            f"pg_restore {version} cannot read a dump made by pg_dump {dumped}: install "
            f"pg_restore {dumped.split('.')[0]} or newer."
        )
    if drop:
        # --force: tables the backup does not have (made by later migrations) would stay
        # behind and clash with the migrations run after the restore.
        with connection.cursor() as cursor:
            quoted = ", ".join(connection.ops.quote_name(name) for name in drop)
            cursor.execute(f"DROP TABLE IF EXISTS {quoted} CASCADE")
        connection.close()
    _run(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={connection.settings_dict['NAME']}",
            str(dump),
        ],
        _pg_environment(connection.settings_dict),
        "pg_restore",
    )


def _sqlite_restore(connection: Any, copy: Path) -> None:
    """SQLite's backup API writes the whole database into the target in one step (a target
    that had tables is replaced page by page, its WAL included)."""
    target = Path(connection.settings_dict["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def _unpack_documents(archive: Path, folder: Path) -> int:
    """The documents into the storage's folder, with the storage's owner-only modes. Files of
    the same name are replaced; files the backup does not have are left where they are."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    count = 0
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        tar.extractall(folder, members=members, filter="data")
        for member in members:
            path = folder / member.name
            path.chmod(0o600)
            for parent in path.relative_to(folder).parents:
                (folder / parent).chmod(0o700)
            count += 1
    return count


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


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed on this machine: install PostgreSQL's client programs of "
            "the server's version or newer (Debian and Ubuntu: postgresql-client)."
        )
    return path


def _tool_version(tool: str) -> str:
    """`pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` -> "15.20"."""
    argv = [tool, "--version"]
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout  # noqa: S603
    found = re.search(r"\)\s*(\d+(?:\.\d+)*)", out)
    if found is None:
        raise BackupError(f"cannot tell the version of {tool} from {out.strip()!r}")
    return found.group(1)


def _pg_environment(settings_dict: dict[str, Any]) -> dict[str, str]:
    """The connection in libpq's variables: the password never shows in a process listing."""
    env = dict(os.environ)
    for key, variable in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    options = settings_dict.get("OPTIONS") or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if options.get(key):
            env[f"PG{key.upper()}"] = str(options[key])
    return env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    # PostgreSQL's own programs, found on PATH, with arguments of our making; no shell.
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _many(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"


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
