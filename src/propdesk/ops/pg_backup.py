"""PostgreSQL's side of `propdesk backup` and `propdesk restore` (ops/backup.py), done by its own
client programs found on PATH: pg_dump writes the dump; on restore, pg_restore first reads the
dump's table of contents (before anything changes), then turns the dump into SQL that psql runs
in one transaction together with the DROP of the tables a `--force` replaces."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

PG_DUMP_FILE = "database.dump"
CHUNK = 1024 * 1024


class PostgresError(Exception):
    """A dump or restore that cannot go on; the message says why and what to do."""


def dump(connection: Any, out: Path) -> dict[str, Any]:
    tool = _tool("pg_dump")
    server = connection.pg_version // 10000
    version = _tool_version(tool)
    if int(version.split(".")[0]) < server:
        raise PostgresError(
            f"pg_dump {version} is older than the database server (PostgreSQL {server}) and "
            f"cannot dump it: install pg_dump {server} or newer (postgresql-client-{server})."
        )
    settings_dict = connection.settings_dict
    _run(
        [tool, "--format=custom", "--no-password", f"--file={out}"],
        _environment(settings_dict),
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


def check_dump(dump: Path, dumped_with: object) -> None:
    """pg_restore (and psql, which runs what it reads) are there, pg_restore is new enough for
    the dump (`dumped_with` is the manifest's "pg_dump 15.20") and reads its table of contents.
    """
    tool = _tool("pg_restore")
    _tool("psql")
    version = _tool_version(tool)
    dumped = re.fullmatch(r"pg_dump (\d+)(?:\.\d+)*", str(dumped_with or "pg_dump 0"))
    if dumped is None:
        raise PostgresError(
            f"the manifest's dumped_with {dumped_with!r} names no pg_dump version: the backup "
            "is damaged. Nothing was restored; use another backup."
        )
    if int(version.split(".")[0]) < int(dumped.group(1)):
        raise PostgresError(
            f"pg_restore {version} cannot read a dump made by {dumped.group(0)}: install "
            f"pg_restore {dumped.group(1)} or newer."
        )
    argv = [tool, "--list", str(dump)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise PostgresError(
            f"{PG_DUMP_FILE} cannot be read by pg_restore ({done.stderr.strip()}): the backup "
            "is damaged. Nothing was restored; use another backup."
        )


def restore(connection: Any, dump: Path, drop: list[str]) -> None:
    """pg_restore turns the dump into SQL, which psql runs after a DROP of the tables the
    database has now (with --force: tables made by later migrations would stay behind and clash
    with the migrations run after the restore), all in one transaction. The COMMIT is sent only
    once pg_restore has read the whole dump: a damaged dump or a failed statement leaves the
    database as it was."""
    env = _environment(connection.settings_dict)
    head = "BEGIN;\nSET client_min_messages = warning;\n"
    if drop:
        quoted = ", ".join(connection.ops.quote_name(name) for name in drop)
        head += f"DROP TABLE IF EXISTS {quoted} CASCADE;\n"
    reader_argv = [
        _tool("pg_restore"),
        *("--no-owner", "--no-privileges", "--clean", "--if-exists", "--exit-on-error"),
        "--file=-",
        str(dump),
    ]
    psql_argv = [_tool("psql"), "--no-psqlrc", "--quiet", "--no-password"]
    with tempfile.TemporaryFile() as reader_err, tempfile.TemporaryFile() as psql_err:
        # PostgreSQL's own programs, found on PATH, with arguments of our making; no shell.
        psql = subprocess.Popen(  # noqa: S603
            [*psql_argv, "--set=ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        reader = subprocess.Popen(reader_argv, stdout=subprocess.PIPE, stderr=reader_err)  # noqa: S603
        assert psql.stdin is not None
        assert reader.stdout is not None
        try:
            psql.stdin.write(head.encode())
            while chunk := reader.stdout.read(CHUNK):
                psql.stdin.write(chunk)
            if reader.wait() == 0:
                psql.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error: its own message says which
        finally:
            reader.stdout.close()
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
            reader.wait()
            psql.wait()
        failed = psql_err if psql.returncode != 0 else reader_err
        if psql.returncode != 0 or reader.returncode != 0:
            failed.seek(0)
            said = failed.read().decode(errors="replace").strip()
            raise PostgresError(
                f"restoring the database failed and was rolled back, so the database is as it "
                f"was: {said or 'no message'}. Nothing was restored."
            )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PostgresError(
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
        raise PostgresError(f"cannot tell the version of {tool} from {out.strip()!r}")
    return found.group(1)


def _environment(settings_dict: dict[str, Any]) -> dict[str, str]:
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
        raise PostgresError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")
