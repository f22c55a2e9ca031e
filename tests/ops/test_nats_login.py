"""compose.yaml's NATS asks for a user and password (--user, --pass), which propdesk gives in
PROPDESK_EVENT_LOG (nats://user:password@nats:4222). A wrong password is refused, and the
message saying so does not repeat the password."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from propdesk.platforms.natsclient import Connection, NatsLogError
from tests.ops.compose_processes import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("nats-server") is None, reason="starts a nats-server of its own"
)

USER, PASSWORD = "propdesk", "s3cretNatsPassword"


@pytest.fixture
def nats_port(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    listen = ["-a", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(
        ["nats-server", "-js", *listen, "-sd", str(tmp_path), "--user", USER, "--pass", PASSWORD],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


async def _streams(nc, js) -> int:  # type: ignore[no-untyped-def]
    return int((await js.account_info()).streams)


def test_the_event_log_logs_in_to_nats_with_the_urls_user_and_password(nats_port):
    connection = Connection(f"nats://{USER}:{PASSWORD}@127.0.0.1:{nats_port}")
    assert connection.run(_streams, timeout=10) == 0


def test_a_wrong_password_is_refused_without_the_password_in_the_message(nats_port):
    connection = Connection(f"nats://{USER}:not-{PASSWORD}@127.0.0.1:{nats_port}")
    with pytest.raises(NatsLogError) as refused:
        connection.run(_streams, timeout=10)
    assert f"NATS at nats://127.0.0.1:{nats_port} is not reachable" in str(refused.value)
    assert PASSWORD not in str(refused.value)
