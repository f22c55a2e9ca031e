from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "propdesk.notifications"
    label = "notifications"

    def ready(self) -> None:
        from propdesk.core import menu
        from propdesk.notifications import services

        menu.link(
            menu.PORTAL,
            label="Notifications",
            url="portal:notifications",
            order=70,
            count=lambda user: services.unread_count(user) if user.is_client else None,
            count_id="unread-count",
        )
