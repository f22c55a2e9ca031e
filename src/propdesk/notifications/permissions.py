"""The notifications' staff permissions (registered with the catalogue when the app loads)."""

from __future__ import annotations

from propdesk.core.permissions import register

WEBHOOKS_MANAGE = register(
    "webhooks.manage",
    "Manage webhook endpoints: add, change, rotate secrets, see the delivery log, redeliver",
)
# Settings > Notifications: the wording of what the firm tells its clients.
NOTIFICATIONS_VIEW = register(
    "notifications.view", "See the notification templates (Settings > Notifications)"
)
NOTIFICATIONS_MANAGE = register(
    "notifications.manage", "Edit and reset the notification templates (Settings > Notifications)"
)
