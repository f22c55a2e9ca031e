from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "propdesk.challenges"
    label = "challenges"
    verbose_name = "Prop trading"

    def ready(self) -> None:
        from propdesk.challenges import (  # noqa: F401  (registers the codes and the types)
            permissions,
            request_types,
        )
        from propdesk.challenges.participation import checkout, lapse_unpaid
        from propdesk.jobs import housekeeping
        from propdesk.wallet import sandbox_payments

        sandbox_payments.register(checkout)  # direct purchases are paid at its checkout
        lapse = housekeeping.register(
            "challenges.lapse_unpaid_purchases", every=housekeeping.MINUTE
        )
        lapse(lapse_unpaid)
