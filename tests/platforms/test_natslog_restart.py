"""The NATS event log goes on after its server restarted: the process's connection comes back
by itself, and a feed's consumer lost with the server is made again where its reader was."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from propdesk.platforms import natslog
from propdesk.platforms.natsclient import NatsLogError, disconnect
from propdesk.platforms.natsfeed import NatsFeed
from tests.platforms.factories import closed_port


def start_server(port, store):
    server = subprocess.Popen(
        ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise AssertionError("nats-server did not start")


def stop_server(server):
    server.terminate()
    server.wait(10)


def retried(call, seconds=15):
    """What an ingestor or a monitor does: try again until the server is back."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except NatsLogError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def equity(n):
    return ("1001", {"kind": "equity", "equity": str(n)}, f"eq:{n}")


@pytest.mark.skipif(shutil.which("nats-server") is None, reason="restarts a nats-server of its own")
def test_publishing_and_reading_go_on_after_the_server_restarted(settings, tmp_path):
    port = closed_port()
    server = start_server(port, tmp_path)
    settings.EVENT_LOG = f"nats://127.0.0.1:{port}"
    settings.EVENT_PARTITIONS = 8
    settings.EVENT_STREAM = "RESTARTED"
    try:
        assert natslog.publish(1, [equity(n) for n in range(5)]) == 5
        feed = NatsFeed(natslog.partition_of("1001"))
        first = feed.read(after=0, limit=3)
        stop_server(server)
        server = start_server(port, tmp_path)
        assert retried(lambda: natslog.publish(1, [equity(n) for n in range(3, 8)])) == 3
        rest = retried(lambda: feed.read(after=first[-1].position, limit=100))
        assert [e.payload["equity"] for e in first + rest] == [str(n) for n in range(8)]
        feed.close()
    finally:
        disconnect(settings.EVENT_LOG)
        stop_server(server)
