"""The trading platforms' staff permissions (registered with the catalogue when the app loads)."""

from __future__ import annotations

from propdesk.core.permissions import register

PLATFORMS_VIEW = register("platforms.view", "See trading servers and trading accounts")
PLATFORMS_MANAGE = register(
    "platforms.manage",
    "Edit trading servers; enable or disable trading; balance operations on trading accounts",
)
