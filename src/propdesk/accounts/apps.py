from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_noop


class AccountsConfig(AppConfig):
    name = "propdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from propdesk.accounts import housekeeping, permissions  # noqa: F401  (registers the codes)
        from propdesk.accounts.roles import ensure_default_roles

        post_migrate.connect(ensure_default_roles, sender=self)
        housekeeping.register()
        _menus()
        _referrals()


def _menus() -> None:
    from propdesk.accounts.permissions import (
        AUDIT_VIEW,
        CLIENTS_GROUPS,
        CLIENTS_VIEW,
        STAFF_MANAGE,
    )
    from propdesk.core import menu

    menu.section("clients", "Clients", order=20)
    office = menu.BACKOFFICE
    menu.link(
        office,
        section="clients",
        label="Clients",
        url="backoffice:clients",
        order=10,
        permission=CLIENTS_VIEW,
    )
    menu.link(
        office,
        section="settings",
        label="Client groups",
        url="backoffice:client_groups",
        order=55,
        permission=CLIENTS_GROUPS,
    )
    menu.link(
        office,
        section="settings",
        label="Staff users",
        url="backoffice:staff",
        order=60,
        permission=STAFF_MANAGE,
    )
    menu.link(
        office,
        section="settings",
        label="Roles",
        url="backoffice:roles",
        order=70,
        permission=STAFF_MANAGE,
    )
    menu.link(
        office,
        section="settings",
        label="Audit log",
        url="backoffice:audit",
        order=80,
        permission=AUDIT_VIEW,
    )
    menu.link(menu.PORTAL, label=gettext_noop("Home"), url="portal:home", order=10)
    menu.link(menu.PORTAL, label=gettext_noop("Profile"), url="portal:profile", order=80)


def _referrals() -> None:
    from propdesk.accounts.backoffice import referrals
    from propdesk.accounts.permissions import CLIENTS_VIEW
    from propdesk.core import menu, panels

    # The referral tree: on the client's page, and the tops of the trees under Growth.
    panels.register(
        panels.CLIENT,
        key="referrals",
        template="accounts/client_referrals_panel.html",
        context=referrals.client_panel,
        order=60,
        permission=CLIENTS_VIEW,
        title="Referrals",
    )
    menu.section("growth", "Growth", order=45)
    menu.link(
        menu.BACKOFFICE,
        section="growth",
        label="Referral tree",
        url="backoffice:referral_tree",
        order=20,
        permission=CLIENTS_VIEW,
    )
