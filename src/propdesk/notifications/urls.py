"""The client's notifications in the portal; Settings > Notifications and Settings > Webhooks
in the back office."""

from django.urls import path

from propdesk.notifications import portal, template_pages
from propdesk.notifications import webhooks_backoffice as wb

# Under /portal/.
portal_urls = [
    path("notifications/", portal.notifications, name="notifications"),
    path("notifications/read/", portal.notifications_read, name="notifications_read"),
    path("notifications/seen/", portal.notifications_seen, name="notifications_seen"),
]

# Under /backoffice/.
backoffice_urls = [
    path(
        "settings/notifications/",
        template_pages.templates,
        name="notification_templates",
    ),
    path(
        "settings/notifications/<str:key>/<str:language>/",
        template_pages.template_edit,
        name="notification_template",
    ),
    path(
        "settings/notifications/<str:key>/<str:language>/preview/",
        template_pages.template_preview,
        name="notification_template_preview",
    ),
    path(
        "settings/notifications/<str:key>/<str:language>/reset/",
        template_pages.template_reset,
        name="notification_template_reset",
    ),
    # Settings > Webhooks
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
