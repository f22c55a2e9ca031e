from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from propdesk.platforms import natslog

# The NATS server the event log's tests use (CI runs one; without it those tests fail).
NATS_URL = os.environ.get("PROPDESK_TEST_NATS", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_log(settings: Any) -> Iterator[str]:
    """The account-event log on NATS, in a stream of this test's own (deleted after it): the
    stream's name."""
    settings.EVENT_LOG = NATS_URL
    settings.EVENT_PARTITIONS = 8
    settings.EVENT_STREAM = f"T_{uuid.uuid4().hex[:16].upper()}"
    natslog.ensure_stream()
    yield settings.EVENT_STREAM
    natslog.delete_stream(settings.EVENT_STREAM)
