"""The image's health check (`python -m propdesk.ops.probe`), run as Docker runs it, against a
server that answers as told and notes what it was asked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.ops.compose_processes import free_port


class Site:
    def __init__(self) -> None:
        self.status = 200
        self.location = ""
        self.seen: list[dict[str, str]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.seen.append({"path": self.path, **dict(self.headers.items())})
                self.send_response(site.status)
                if site.location:
                    self.send_header("Location", site.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def site() -> Iterator[Site]:
    running = Site()
    yield running
    running.server.shutdown()
    running.server.server_close()


def probe(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROPDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "propdesk.ops.probe", url],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_probe_asks_healthz_plainly_and_passes_on_200(site):
    result = probe(site.url, PROPDESK_ALLOWED_HOSTS="crm.firm.example", PROPDESK_HTTPS="1")
    assert result.returncode == 0, result.stderr
    [asked] = site.seen
    assert asked["path"] == "/healthz"
    assert asked["Host"] == site.url.split("/")[2]  # the address: /healthz needs no host name


def test_the_probe_does_not_follow_a_redirect_and_fails_on_it(site):
    site.status = 301
    site.location = "/login/"
    result = probe(site.url)
    assert result.returncode == 1
    assert f"unhealthy: {site.url}" in result.stderr
    assert "301" in result.stderr
    assert [asked["path"] for asked in site.seen] == ["/healthz"]  # /login/ never asked


@pytest.mark.parametrize("status", [302, 404, 500, 503])
def test_the_probe_fails_on_any_other_answer_and_says_why(site, status):
    site.status = status
    result = probe(site.url)
    assert result.returncode == 1
    assert f"unhealthy: {site.url}" in result.stderr
    assert str(status) in result.stderr


def test_the_probe_fails_when_nothing_listens():
    url = f"http://127.0.0.1:{free_port()}/healthz"
    result = probe(url)
    assert result.returncode == 1
    assert "unhealthy" in result.stderr
    assert "Traceback" not in result.stderr
