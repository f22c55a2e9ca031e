"""The client's notifications in the portal; Settings > Webhooks in the back office."""

from django.urls import path

from propdesk.notifications import portal
from propdesk.notifications import webhooks_backoffice as wb

# Under /portal/.
portal_urls = [
    path("notifications/", portal.notifications, name="notifications"),
    path("notifications/read/", portal.notifications_read, name="notifications_read"),
]


# Under /backoffice/.
webhook_backoffice_urls = [
    path("settings/webhooks/", wb.webhooks, name="webhooks"),
    path("settings/webhooks/new/", wb.webhook_new, name="webhook_new"),
    path("settings/webhooks/<int:endpoint_id>/", wb.webhook, name="webhook"),
    path("settings/webhooks/<int:endpoint_id>/edit/", wb.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<int:endpoint_id>/rotate/", wb.webhook_rotate, name="webhook_rotate"),
    path("settings/webhooks/<int:endpoint_id>/test/", wb.webhook_test, name="webhook_test"),
    path(
        "settings/webhooks/deliveries/<int:delivery_id>/",
        wb.webhook_delivery,
        name="webhook_delivery",
    ),
    path(
        "settings/webhooks/deliveries/<int:delivery_id>/redeliver/",
        wb.webhook_redeliver,
        name="webhook_redeliver",
    ),
]
