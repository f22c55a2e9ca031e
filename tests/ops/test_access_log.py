"""The web server (gunicorn, as `propdesk serve` starts it) writes its own lines in propdesk's
format: each request's access line carries the request's id, as the application's lines do."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from propdesk.ops.access_log import access_level
from propdesk.processes import gunicorn_argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers["X-Request-ID"]
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["X-Request-ID"]


def test_the_web_servers_lines_are_json_and_its_access_line_carries_the_request_id(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROPDESK_", "DATABASE_"))}
    env.update(PROPDESK_VAR_DIR=str(tmp_path), PROPDESK_LOG_FORMAT="json")
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            gunicorn_argv("127.0.0.1", port, 1), env=env, stdout=out, stderr=out, cwd=tmp_path
        )
    try:
        answer = None
        deadline = time.monotonic() + 60
        while answer is None and time.monotonic() < deadline:
            try:
                answer = get(f"http://127.0.0.1:{port}/no-such-page/", **{"X-Request-ID": "lb-9"})
            except urllib.error.URLError as failed:
                if not isinstance(failed.reason, ConnectionRefusedError):
                    raise
                # Not yet listening. (Not a timeout: a slow answer asked again would be logged
                # twice.)
                time.sleep(0.3)
        assert answer == (404, "lb-9")
        status, made = get(f"http://127.0.0.1:{port}/no-such-page/")
        assert status == 404
        assert len(made) == 32
        # The access line is written once the answer is sent: wait for the second one.
        deadline = time.monotonic() + 30
        while log.read_text().count("gunicorn.access") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in lines)
    access = [e for e in lines if e["logger"] == "gunicorn.access"]
    # Each written once its answer is sent, by the thread that answered: in either order.
    assert sorted((e["request_id"], e["message"], e["path"], e["status"]) for e in access) == (
        sorted([("lb-9", "GET", "/no-such-page/", 404), (made, "GET", "/no-such-page/", 404)])
    )
    assert all(e["duration_ms"] >= 0 and e["remote"] == "127.0.0.1" for e in access)
    assert [e["logger"] for e in lines if e.get("request_id") == "lb-9"] == [
        "django.request",
        "gunicorn.access",
    ]


def start(tmp_path: Path, port: int, **settings: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROPDESK_", "DATABASE_"))}
    env.update(PROPDESK_VAR_DIR=str(tmp_path), **settings)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            gunicorn_argv("127.0.0.1", port, 1), env=env, stdout=out, stderr=out, cwd=tmp_path
        )
    return server, log


def test_a_path_cannot_forge_fields_or_reach_the_terminal_and_debug_shows_the_probes(
    tmp_path: Path,
) -> None:
    """Readable lines at DEBUG: a path made to look like an actor and a status, with a
    terminal escape, is one quoted field with the escape written out; the load balancer's
    /healthz, a DEBUG line, is there (gunicorn's own level for its access lines is not)."""
    port = free_port()
    server, log = start(tmp_path, port, PROPDESK_LOG_LEVEL="DEBUG")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
                break
            except OSError:
                time.sleep(0.3)
        forged = "/x%20actor=staff:1%20status=200%1b[2J"
        assert get(f"http://127.0.0.1:{port}{forged}")[0] == 404
        deadline = time.monotonic() + 30
        while log.read_text().count("gunicorn.access") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    text = log.read_text()
    assert "\x1b" not in text
    access = [line for line in text.splitlines() if " gunicorn.access " in line]
    assert any(" DEBUG gunicorn.access " in line and "path=/healthz " in line for line in access)
    [line] = [line for line in access if "/x" in line]
    assert ' GET path="/x actor=staff:1 status=200\\x1b[2J" status=404 ' in line
    assert "actor=" not in line.split(" GET ")[0]  # the request had no actor


def test_probes_answered_well_are_debug_lines_and_their_failures_are_not() -> None:
    assert access_level("/readyz", 200) == logging.DEBUG
    assert access_level("/metrics", 200) == logging.DEBUG
    assert access_level("/readyz", 503) == logging.INFO
    assert access_level("/backoffice/", 200) == logging.INFO
