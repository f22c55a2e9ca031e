from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "propdesk.notifications"
    label = "notifications"

    def ready(self) -> None:
        from propdesk.accounts import services as accounts
        from propdesk.core import menu, panels, vault
        from propdesk.jobs import housekeeping
        from propdesk.notifications import portal, services, webhooks
        from propdesk.notifications.permissions import WEBHOOKS_MANAGE

        accounts.add_notifier(services.notify)  # suspending or reactivating a client tells them
        vault.register("notifications.WebhookEndpoint", "secret")
        vault.register("notifications.WebhookEndpoint", "previous_secret")
        housekeeping.register("notifications.webhooks", every=housekeeping.MINUTE)(webhooks.sweep)
        menu.link(
            menu.BACKOFFICE,
            section="settings",
            label="Webhooks",
            url="backoffice:webhooks",
            order=85,
            permission=WEBHOOKS_MANAGE,
        )
        menu.link(
            menu.PORTAL,
            label="Notifications",
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
