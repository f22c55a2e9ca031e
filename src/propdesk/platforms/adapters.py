"""Which code speaks to which kind of trading server. A new platform registers its kind here."""

from __future__ import annotations

from collections.abc import Callable

from propdesk.core.errors import NotFound
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import TradingPlatform

_KINDS: dict[str, Callable[[TradingServer], TradingPlatform]] = {}


def register(kind: str, factory: Callable[[TradingServer], TradingPlatform]) -> None:
    _KINDS[kind] = factory


def platform(server: TradingServer) -> TradingPlatform:
    """The adapter for a configured server."""
    try:
        factory = _KINDS[server.kind]
    except KeyError:
        raise NotFound(f"No adapter for trading servers of kind {server.kind!r}.") from None
    return factory(server)


def platform_named(name: str) -> TradingPlatform:
    server = TradingServer.objects.filter(name=name, enabled=True).first()
    if server is None:
        raise NotFound(f"No enabled trading server named {name!r}.")
    return platform(server)
