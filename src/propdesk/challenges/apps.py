from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "propdesk.challenges"
    label = "challenges"
    verbose_name = "Prop trading"

    def ready(self) -> None:
        from propdesk.accounts import services as accounts
        from propdesk.challenges import permissions  # noqa: F401  (registers the codes)
        from propdesk.challenges.models import Participation
        from propdesk.challenges.participation import (  # noqa: F401  (registers the types)
            request_types,
            suspension,
        )
        from propdesk.challenges.participation.services import checkout, lapse_unpaid
        from propdesk.core import references as kinds
        from propdesk.core import vault
        from propdesk.jobs import housekeeping
        from propdesk.wallet import references, sandbox_payments

        accounts.on_client_status(suspension.on_client_status)  # a suspended client's stages

        sandbox_payments.register(checkout)  # direct purchases are paid at its checkout
        vault.register("challenges.StageAttempt", "sealed_password")
        # The fee and its refund carry the participation's reference (PTP-…) in the ledger.
        references.register(kinds.PARTICIPATION, Participation, "fee_entry", "refund_entry")
        lapse = housekeeping.register(
            "challenges.lapse_unpaid_purchases", every=housekeeping.MINUTE
        )
        lapse(lapse_unpaid)
        _menus()


def _menus() -> None:
    from propdesk.challenges.permissions import CHALLENGES_VIEW
    from propdesk.core import menu

    office = menu.BACKOFFICE
    menu.section("prop_trading", "Prop Trading", order=40)
    menu.link(
        office,
        section="prop_trading",
        label="Challenge Settings",
        url="backoffice:challenges",
        order=20,
        permission=CHALLENGES_VIEW,
    )
    menu.link(
        office,
        section="prop_trading",
        label="Participants",
        url="backoffice:participants",
        order=30,
        permission=CHALLENGES_VIEW,
    )
    menu.link(menu.PORTAL, label="Prop Trading", url="portal:challenges", order=30)
    menu.link(menu.PORTAL, label="My challenges", url="portal:my_challenges", order=40)
