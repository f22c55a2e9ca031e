from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "propdesk.wallet"
    label = "wallet"

    def ready(self) -> None:
        from propdesk.jobs import housekeeping
        from propdesk.wallet import (  # noqa: F401  (registers the codes and the types)
            deposits,
            permissions,
            request_types,
            sandbox_payments,
        )

        lapse = housekeeping.register("wallet.lapse_unpaid_deposits", every=housekeeping.MINUTE)
        lapse(deposits.lapse_unpaid)
        prune = housekeeping.register("wallet.prune_webhook_events", every=housekeeping.HOUR)
        prune(sandbox_payments.prune_events)
