"""The notifications' staff permissions (registered with the catalogue when the app loads)."""

from __future__ import annotations

from propdesk.core.permissions import register

# Settings > Notifications: the wording of what the firm tells its clients.
NOTIFICATIONS_VIEW = register(
    "notifications.view", "See the notification templates (Settings > Notifications)"
)
NOTIFICATIONS_MANAGE = register(
    "notifications.manage", "Edit and reset the notification templates (Settings > Notifications)"
)
