from __future__ import annotations

from collections.abc import Iterator

import pytest

from propdesk.platforms.matchtrader.fake import FakeMatchTrader
from propdesk.platforms.models import TradingServer
from tests.platforms.matchtrader.factories import server_for, start_fake


@pytest.fixture
def fake() -> Iterator[FakeMatchTrader]:
    running = start_fake()
    yield running
    running.stop()


@pytest.fixture
def server(db: None, fake: FakeMatchTrader) -> TradingServer:
    return server_for(fake)
