"""What the monitor asks of a platform when idle: its own cheap look and waiter if it offers
them (`ForIdleReaders`), else one event read from the stream, and no waiter (it polls)."""

from __future__ import annotations

from propdesk.platforms import adapters
from propdesk.platforms.protocol import AccountEvent


class Plain:
    """A platform with the protocol's `events` only."""

    def __init__(self, newest: int) -> None:
        self.newest = newest
        self.asked: list[tuple[int, int]] = []

    def events(self, *, after=0, limit=1000, login=None):
        self.asked.append((after, limit))
        if after >= self.newest:
            return []
        return [AccountEvent(cursor=after + 1, login="1", payload={})]


def test_a_platform_without_a_cheap_look_is_asked_for_one_event_after_the_cursor():
    platform = Plain(newest=7)
    assert adapters.has_events(platform, after=6) is True
    assert adapters.has_events(platform, after=7) is False
    assert platform.asked == [(6, 1), (7, 1)]


def test_a_platform_without_a_waiter_leaves_its_readers_to_poll():
    assert adapters.event_waiter(Plain(newest=0)) is None
