from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """What the firm reads: the transactions report and the prop trading dashboard. No models:
    the reports read the wallet's and the challenges' tables."""

    name = "propdesk.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from propdesk.challenges.growth.commission import COMMISSION_VIEW
        from propdesk.challenges.permissions import CHALLENGES_VIEW
        from propdesk.core import menu
        from propdesk.wallet.permissions import WALLET_VIEW

        menu.section("reports", "Reports", order=50)
        menu.link(
            menu.BACKOFFICE,
            section="reports",
            label="Transactions",
            group="CRM Reports",
            url="backoffice:transactions_report",
            order=10,
            permission=WALLET_VIEW,
        )
        menu.link(
            menu.BACKOFFICE,
            section="reports",
            label="IB commission",
            group="CRM Reports",
            url="backoffice:commission_report",
            order=20,
            permission=COMMISSION_VIEW,
        )
        # In the Prop Trading section (the challenges app's), first.
        menu.link(
            menu.BACKOFFICE,
            section="prop_trading",
            label="Prop Trading Dashboard",
            url="backoffice:prop_dashboard",
            order=10,
            permission=CHALLENGES_VIEW,
        )
