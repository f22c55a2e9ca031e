from django.apps import AppConfig
from django.utils.translation import gettext_noop


class WalletConfig(AppConfig):
    name = "propdesk.wallet"
    label = "wallet"

    def ready(self) -> None:
        from propdesk.core import vault
        from propdesk.jobs import housekeeping
        from propdesk.wallet import (  # noqa: F401  (registers the codes and the types)
            deposits,
            payment_deposits,
            payments,
            permissions,
            refunds,
            request_types,
            sandbox_payments,
        )

        lapse = housekeeping.register("wallet.lapse_unpaid_deposits", every=housekeeping.MINUTE)
        lapse(deposits.lapse_unpaid)
        prune = housekeeping.register("wallet.prune_webhook_events", every=housekeeping.HOUR)
        prune(sandbox_payments.prune_events)
        sweep = housekeeping.register("wallet.sweep_payments", every=housekeeping.MINUTE)
        sweep(payments.sweep)
        ask_refunds = housekeeping.register("wallet.sweep_refunds", every=housekeeping.MINUTE)
        ask_refunds(refunds.sweep)
        vault.register("wallet.ProviderAccount", "sealed_secrets")
        _references()
        _menus()


def _references() -> None:
    from propdesk.core import references as kinds
    from propdesk.wallet import references
    from propdesk.wallet.models import Deposit, Withdrawal

    references.register(kinds.DEPOSIT, Deposit, "entry")
    references.register(kinds.WITHDRAWAL, Withdrawal, "hold_entry", "settle_entry", "release_entry")


def _menus() -> None:
    from propdesk.approvals.permissions import APPROVALS_VIEW
    from propdesk.core import menu, panels
    from propdesk.core.permissions import SETTINGS_MANAGE
    from propdesk.wallet import backoffice, payments_backoffice
    from propdesk.wallet.permissions import PAYMENTS_VIEW, WALLET_VIEW

    menu.link(
        menu.BACKOFFICE,
        section="settings",
        label="Payment methods",
        url="backoffice:payment_methods",
        order=30,
        permission=APPROVALS_VIEW,
    )
    menu.link(
        menu.BACKOFFICE,
        section="settings",
        label="Payment providers",
        url="backoffice:payment_providers",
        order=31,
        permission=SETTINGS_MANAGE,
    )
    menu.section("finance", "Finance", order=35)
    menu.link(
        menu.BACKOFFICE,
        section="finance",
        label="Payments",
        url="backoffice:payments",
        order=10,
        permission=PAYMENTS_VIEW,
    )
    menu.link(menu.PORTAL, label=gettext_noop("Wallet"), url="portal:wallet", order=20)
    panels.register(
        panels.CLIENT,
        key="wallet",
        template="wallet/client_panel.html",
        context=backoffice.client_panel,
        order=10,
        permission=WALLET_VIEW,
        title="Wallet",
    )
    panels.register(
        panels.CLIENT,
        key="payments",
        template="wallet/client_payments_panel.html",
        context=payments_backoffice.client_panel,
        order=12,
        permission=PAYMENTS_VIEW,
        title="Online payments",
    )
    panels.register(
        panels.CLIENT_SUMMARY,
        key="balance",
        template="wallet/client_summary.html",
        context=backoffice.client_summary,
        order=10,
        permission=WALLET_VIEW,
    )
