from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "propdesk.notifications"
    label = "notifications"
