from django.apps import AppConfig
from django.utils.translation import gettext_noop


class NotificationsConfig(AppConfig):
    name = "propdesk.notifications"
    label = "notifications"

    def ready(self) -> None:
        from propdesk.accounts import mail as account_mail
        from propdesk.accounts import services as accounts
        from propdesk.core import menu, panels, vault
        from propdesk.jobs import housekeeping
        from propdesk.notifications import events, portal, services, webhooks
        from propdesk.notifications.permissions import NOTIFICATIONS_VIEW, WEBHOOKS_MANAGE

        accounts.add_announcer(events.emit)  # suspending or reactivating a client tells them
        account_mail.add_mailer(services.send_account_email)  # reset and verification links
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
            label=gettext_noop("Notifications"),
            url="portal:notifications",
            order=70,
            count=lambda user: services.unread_count(user) if user.is_client else None,
            count_id="unread-count",
        )
        menu.link(
            menu.BACKOFFICE,
            section="settings",
            label="Notifications",
            url="backoffice:notification_templates",
            order=57,
            permission=NOTIFICATIONS_VIEW,
        )
        panels.register(
            panels.PORTAL_LAYOUT,
            key="notification_popup",
            template="notifications/_popup.html",
            context=portal.popup,
            order=10,
            permission=lambda user: bool(getattr(user, "is_client", False)),
        )
        panels.register(
            panels.PORTAL_HOME,
            key="notifications",
            template="notifications/home_panel.html",
            context=portal.home_panel,
            order=10,
        )
