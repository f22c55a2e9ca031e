from __future__ import annotations

from collections.abc import Iterator

import pytest

from propdesk.platforms.models import TradingServer
from propdesk.platforms.mt5.fake import FakeMT5
from tests.platforms.mt5.factories import server_for, start_fake


@pytest.fixture
def fake() -> Iterator[FakeMT5]:
    running = start_fake()
    yield running
    running.stop()


@pytest.fixture
def server(db: None, fake: FakeMT5) -> TradingServer:
    return server_for(fake)
