"""`propdesk serve` runs a whole firm on one machine from one command: the site, the job worker
and the monitor, and the sandbox's feed when asked; each can be left out when it runs as a
service of its own (compose.yaml's web runs `serve --no-worker --no-monitor`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ops.compose_processes import free_port


def _env(var: Path) -> dict[str, str]:
    env = {**os.environ, "PROPDESK_VAR_DIR": str(var)}
    for name in (
        "DATABASE_URL",
        "PROPDESK_EVENT_LOG",
        "PROPDESK_STATIC_DIR",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        env.pop(name, None)  # SQLite and the database log: what serve starts is the point here
    return env


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("var")
    migrated = subprocess.run(
        [sys.executable, "-m", "propdesk.cli", "manage", "migrate", "--verbosity", "0"],
        env=_env(path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrated.returncode == 0, migrated.stderr
    return path


def _children(pid: int) -> list[str]:
    """What each child process of `pid` is: "site" for gunicorn, else its propdesk command."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")[:-1]
        if "gunicorn" in argv:
            found.append("site")
        else:
            found.append(" ".join(argv[argv.index("propdesk.cli") + 1 :]))
    return sorted(found)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), ["monitor", "site", "worker"]),
        (("--no-worker", "--no-monitor", "--feed"), ["sandbox feed --rate 50", "site"]),
    ],
    ids=["site-worker-monitor", "site-and-feed"],
)
def test_serve_starts_the_site_the_worker_the_monitor_and_the_feed_as_asked(var, options, expected):
    port = free_port()
    serve = [sys.executable, "-m", "propdesk.cli", "serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(
        [*serve, *options],
        env=_env(var),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while status is None:
            assert server.poll() is None, "serve stopped"
            assert time.monotonic() < deadline, "the site did not answer"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as r,
            ):
                status = r.status
            time.sleep(0.2)
        assert status == 200
        # All are started together before the site can answer.
        assert _children(server.pid) == expected
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0


def _gunicorn_env(pid: int) -> dict[str, str]:
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
        if "gunicorn" in argv:
            pairs = Path(f"/proc/{child}/environ").read_bytes().decode().split("\0")
            return dict(p.split("=", 1) for p in pairs if "=" in p)
    raise AssertionError("no gunicorn among serve's processes")


def test_serve_gives_its_gunicorn_workers_a_metrics_folder_of_their_own_and_removes_it(var):
    """Several site workers and no PROMETHEUS_MULTIPROC_DIR: each scrape would see one
    worker's counts. serve makes a fresh folder for the run, and removes it when it stops."""
    port = free_port()
    serve = [sys.executable, "-m", "propdesk.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        [*serve, "--no-worker", "--no-monitor"],
        env=_env(var),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while status is None:
            assert server.poll() is None, "serve stopped"
            assert time.monotonic() < deadline, "the site did not answer"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r,
            ):
                status = r.status
            time.sleep(0.2)
        folder = Path(_gunicorn_env(server.pid)["PROMETHEUS_MULTIPROC_DIR"])
        assert folder.is_dir()
        assert list(folder.glob("counter_*.db"))  # the request above, counted there
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0
    assert not folder.exists()


def test_serve_refuses_a_static_folder_given_without_collected_files(var, tmp_path):
    static = tmp_path / "static"
    server = subprocess.Popen(
        [sys.executable, "-m", "propdesk.cli", "serve", "--port", str(free_port())],
        env={**_env(var), "PROPDESK_STATIC_DIR": str(static)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # should it start its processes after all: all of them stopped
    )
    try:
        _, stderr = server.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode == 2
    assert f"PROPDESK_STATIC_DIR ({static}) holds no collected static files" in stderr
    assert "propdesk manage collectstatic" in stderr
    assert "Traceback" not in stderr


def _wait_for_the_site(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "serve stopped"
        assert time.monotonic() < deadline, "the site did not answer"
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)


def test_serve_with_the_site_alone_becomes_gunicorn_and_finishes_a_request_under_way(var, tmp_path):
    """compose.yaml's web (the site alone, its metrics folder given): `docker compose stop`'s
    SIGTERM reaches gunicorn itself, which lets the request under way finish (no parent in
    between to kill it early). Its processes are PROPDESK_WEB_WORKERS, not the machine's
    cores."""
    port = free_port()
    serve = [sys.executable, "-m", "propdesk.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*serve, "--no-worker", "--no-monitor"],
        env={
            **_env(var),
            "PROPDESK_WEB_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_the_site(server, port)
        argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode().split("\0")
        assert "gunicorn" in argv  # serve's own process is now gunicorn's master
        workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(workers) == 2
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            # A request whose last line is still to come: a worker has it in hand.
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(1)
            server.send_signal(signal.SIGTERM)  # as `docker compose stop` does
            time.sleep(1)  # gunicorn is stopping now
            connection.sendall(b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert b'"status"' in answer
        code = server.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
    assert code == 0


def test_serve_refuses_a_number_of_web_workers_that_is_not_one(var):
    result = subprocess.run(
        [sys.executable, "-m", "propdesk.cli", "serve", "--port", str(free_port())],
        env={**_env(var), "PROPDESK_WEB_WORKERS": "many"},
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert result.returncode == 2
    assert "PROPDESK_WEB_WORKERS must be a whole number from 1 to 64 (got 'many')" in result.stderr
    assert "Traceback" not in result.stderr
