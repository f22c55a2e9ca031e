"""The client's notifications in the portal; Back office > Settings > Notifications."""

from django.urls import path

from propdesk.notifications import portal, template_pages

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
]
