from django.apps import AppConfig
from django.utils.translation import gettext_noop


class NotificationsConfig(AppConfig):
    name = "propdesk.notifications"
    label = "notifications"

    def ready(self) -> None:
        from propdesk.accounts import services as accounts
        from propdesk.core import menu, panels
        from propdesk.notifications import portal, services

        accounts.add_notifier(services.notify)  # suspending or reactivating a client tells them
        menu.link(
            menu.PORTAL,
            label=gettext_noop("Notifications"),
            url="portal:notifications",
            order=70,
            count=lambda user: services.unread_count(user) if user.is_client else None,
            count_id="unread-count",
        )
        panels.register(
            panels.PORTAL_HOME,
            key="notifications",
            template="notifications/home_panel.html",
            context=portal.home_panel,
            order=10,
        )
