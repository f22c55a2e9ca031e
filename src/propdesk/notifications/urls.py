"""The client's notifications in the portal."""

from django.urls import path

from propdesk.notifications import portal

# Under /portal/.
portal_urls = [
    path("notifications/", portal.notifications, name="notifications"),
    path("notifications/read/", portal.notifications_read, name="notifications_read"),
]
