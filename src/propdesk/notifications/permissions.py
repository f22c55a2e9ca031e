"""The notifications' staff permissions (registered with the catalogue when the app loads)."""

from __future__ import annotations

from propdesk.core.permissions import register

WEBHOOKS_MANAGE = register(
    "webhooks.manage",
    "Manage webhook endpoints: add, change, rotate secrets, see the delivery log, redeliver",
)
