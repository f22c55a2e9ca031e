from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "propdesk.approvals"
    label = "approvals"

    def ready(self) -> None:
        from propdesk.approvals import backoffice
        from propdesk.approvals.permissions import APPROVALS_VIEW
        from propdesk.core import menu, panels

        menu.section("approvals", "Approvals", order=10)
        menu.links(
            menu.BACKOFFICE,
            key="approvals",
            section="approvals",
            order=10,
            make=backoffice.menu_links,
            permission=APPROVALS_VIEW,
        )
        menu.link(
            menu.BACKOFFICE,
            section="settings",
            label="Approval methods",
            url="backoffice:policies",
            order=10,
            permission=APPROVALS_VIEW,
        )
        panels.register(
            panels.CLIENT,
            key="requests",
            template="approvals/client_panel.html",
            context=backoffice.client_panel,
            order=50,
            permission=APPROVALS_VIEW,
            title="Requests",
        )
