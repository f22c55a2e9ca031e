"""What tests/ops/test_compose_processes.py needs to run compose.yaml's services as processes
on this machine: the compose file, the env file and the image's Dockerfile read as Docker reads
them; a database of the test's own; the processes started and stopped as containers are; and a
stand-in for the firm's TLS proxy."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"


# --- the files, as Docker reads them --------------------------------------------------------------


def compose_services(path: Path = COMPOSE) -> dict[str, dict[str, Any]]:
    """The services of the compose file, with its `x-` extension merged in (YAML's `<<`)."""
    services: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text())["services"]
    return services


def env_files(service: Mapping[str, Any], base: Path = ROOT) -> list[Path]:
    """The env files a service names (a path, or a list of paths or of {path: ...})."""
    named = service.get("env_file") or []
    entries = [named] if isinstance(named, str | dict) else list(named)
    return [base / (e["path"] if isinstance(e, dict) else e) for e in entries]


def service_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's own `environment` (a mapping or a list of NAME=value), which Compose puts
    over its env files."""
    given = service.get("environment") or {}
    if isinstance(given, list):
        given = dict(item.split("=", 1) for item in given)
    return {name: str(value) for name, value in given.items()}


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_env_file(path: Path) -> dict[str, str]:
    """An env file as Compose reads it, for the forms an operator's file uses: NAME=value,
    `#` comments, blank lines, a value in quotes, a comment after a space. A line outside these
    (or a `$`, which Compose would interpolate) is an error naming it: the test must not run
    with settings other than the ones Compose would give."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        where = f"{path.name} line {number}"
        if not equals or not _NAME.fullmatch(name):
            raise ValueError(f"{where} is not NAME=value: {raw!r}")
        if len(value) >= 2 and value[0] in "\"'" and value.endswith(value[0]):
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        if "$" in value:
            raise ValueError(f"{where}: Compose would interpolate the $ in {raw!r}")
        values[name] = value
    return values


@dataclass
class Image:
    """What the Dockerfile's final stage gives every container: its environment, entrypoint
    and health check."""

    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


def read_image(path: Path = DOCKERFILE) -> Image:
    text = re.sub(r"\\\n", " ", path.read_text())  # continuation lines joined
    instructions = [
        tuple(line.strip().split(None, 1))
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    last_from = max(i for i, (word, *_) in enumerate(instructions) if word.upper() == "FROM")
    image = Image()
    for word, *rest in instructions[last_from:]:
        argument = rest[0] if rest else ""
        if word.upper() == "ENV":
            for pair in shlex.split(argument):
                name, _, value = pair.partition("=")
                image.env[name] = value
        elif word.upper() == "ENTRYPOINT":
            image.entrypoint = json.loads(argument)
        elif word.upper() == "HEALTHCHECK":
            image.healthcheck = json.loads(argument.split(" CMD ", 1)[1])
    return image


def with_option(argv: Sequence[str], option: str, value: str) -> list[str]:
    """`argv` with the value after `option` replaced (which must be there)."""
    found = list(argv)
    at = found.index(option)
    found[at + 1] = value
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a database of the test's own -----------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(folder: Path) -> Iterator[str]:
    """A new, empty database on the server the suite runs on (its DATABASE_URL), dropped after;
    without one, an SQLite file that the processes share as the demo's do."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{folder / 'propdesk.sqlite3'}"
        return
    import psycopg

    name = f"propdesk_compose_{uuid.uuid4().hex[:12]}"
    parts = urllib.parse.urlsplit(url)
    server = psycopg.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")))
    server.autocommit = True
    try:
        server.execute(f'CREATE DATABASE "{name}"')
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.close()


def count_rows(database_url: str, sql: str) -> int:
    """One count from the processes' database, on a connection of its own (the test's Django
    connection is to the suite's database, not theirs)."""
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(database_url[len("sqlite:///") :])) as db:
            return int(db.execute(sql).fetchone()[0])
    import psycopg

    with psycopg.connect(database_url) as db:
        row = db.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


# --- processes, started and stopped as containers are --------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Processes:
    """Long-running processes, each in a session of its own with its output in a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[Process] = []

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Process:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.running.append(process)
        return process

    def check_alive(self) -> None:
        for process in self.running:
            code = process.popen.poll()
            assert code is None, f"{process.name} exited ({code}):\n{process.tail()}"

    def with_tracebacks(self) -> dict[str, str]:
        """The output of each process that printed an error's traceback, by name."""
        return {
            process.name: process.tail()
            for process in self.running
            if "Traceback (most recent call last)" in process.log.read_text(errors="replace")
        }

    def stop(self, grace: float = 30) -> dict[str, int]:
        """SIGTERM, as `docker stop` sends; what is still there after `grace` seconds is killed
        with its children. The exit codes, by name."""
        for process in self.running:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        codes = {}
        for process in self.running:
            try:
                codes[process.name] = process.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                codes[process.name] = process.popen.wait()
        self.running = []
        return codes


# --- the firm's TLS proxy, stood in for --------------------------------------------------------

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class ProxyStandIn:
    """In front of the web service as the firm's proxy is (docs/deployment.md's nginx): every
    request passed on with the site's name as Host, X-Forwarded-Proto: https and the client's
    address in X-Real-IP, overwriting whatever the client sent in them. There is no certificate
    here: the test speaks plain HTTP to this stand-in, which marks every request as HTTPS, as
    nginx does for requests that reached it over TLS."""

    # What the nginx example sets (proxy_set_header), whatever the env file names: the test
    # checks that the env file's settings trust these.
    HEADERS = ("Host", "X-Forwarded-Proto", "X-Real-IP")

    def __init__(self, upstream: int, host: str) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _pass(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                sent = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                sent = {k: v for k, v in sent.items() if k.lower() not in proxy.lowered}
                sent.update(
                    {
                        "Host": host,
                        "X-Forwarded-Proto": "https",
                        "X-Real-IP": self.client_address[0],
                    }
                )
                upstream_connection = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
                try:
                    upstream_connection.request(self.command, self.path, body, sent)
                    answer = upstream_connection.getresponse()
                    status, reason, data = answer.status, answer.reason, answer.read()
                    passed = [h for h in answer.getheaders() if h[0].lower() not in _HOP_BY_HOP]
                except OSError:  # web not listening (yet): what nginx answers then
                    status, reason, data, passed = 502, "Bad Gateway", b"", []
                finally:
                    upstream_connection.close()
                self.send_response_only(status, reason)
                for name, value in passed:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.lowered = {name.lower() for name in self.HEADERS}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- over HTTP ----------------------------------------------------------------------------------


def page(base: str, path: str) -> tuple[int, str]:
    """GET a page: its status and text."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        connection.close()


def exchange(
    base: str, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
) -> tuple[int, list[tuple[str, str]], str]:
    """One request as given, redirects not followed: the status, the headers (a list: several
    Set-Cookie) and the text."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(method, path, body, dict(headers))
        answer = connection.getresponse()
        return answer.status, answer.getheaders(), answer.read().decode(errors="replace")
    finally:
        connection.close()


def cookies_set(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The Set-Cookie headers of an answer, by the cookie's name: the whole header."""
    found = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            found[value.split("=", 1)[0].strip()] = value
    return found


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """One JSON request: the status and the decoded body (None when it is not JSON)."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, data, headers)
        answer = connection.getresponse()
        raw = answer.read()
    finally:
        connection.close()
    try:
        return answer.status, json.loads(raw)
    except ValueError:
        return answer.status, None


def wait_for(base: str, path: str, *, processes: Processes, within: float = 90) -> Any:
    """Ask `path` until it answers 200; fail when a process exits meanwhile or after `within`
    seconds. The answer's body."""
    deadline = time.monotonic() + within
    answer: tuple[int, Any] = (0, None)
    while True:
        processes.check_alive()
        with contextlib.suppress(OSError):  # not listening yet
            answer = call(base, "GET", path)
            if answer[0] == 200:
                return answer[1]
        assert time.monotonic() < deadline, f"{path} still answers {answer} after {within:g} s"
        time.sleep(0.25)


def eventually(
    check: Callable[[], bool], *, processes: Processes, what: str, within: float = 60
) -> None:
    """Wait until `check()` holds; fail when a process exits meanwhile or after `within` s."""
    deadline = time.monotonic() + within
    while not check():
        processes.check_alive()
        assert time.monotonic() < deadline, f"still not done after {within:g} s: {what}"
        time.sleep(0.2)


def wait_for_text(log: Path, text: str, *, processes: Processes, within: float = 60) -> None:
    """Wait until a process's output holds `text`; fail when a process exits meanwhile."""
    deadline = time.monotonic() + within
    while text not in log.read_text(errors="replace"):
        processes.check_alive()
        assert time.monotonic() < deadline, f"{text!r} not in {log.name} after {within:g} s"
        time.sleep(0.25)
