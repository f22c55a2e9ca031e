from django.apps import AppConfig
from django.utils.translation import gettext_noop


class ChallengesConfig(AppConfig):
    name = "propdesk.challenges"
    label = "challenges"
    verbose_name = "Prop trading"

    def ready(self) -> None:
        from propdesk.accounts import services as accounts
        from propdesk.challenges import permissions  # noqa: F401  (registers the codes)
        from propdesk.challenges.growth import (  # noqa: F401  (registers the type)
            request_types as commission_types,
        )
        from propdesk.challenges.models import Participation, Payout, StageAttempt
        from propdesk.challenges.participation import (  # noqa: F401  (registers the types)  # noqa: F401  (registers the purpose)
            paid_online,
            request_types,
            stage_accounts,
            suspension,
        )
        from propdesk.challenges.participation.services import account_owner, lapse_unpaid
        from propdesk.challenges.payouts import (  # noqa: F401  (registers the type)
            request_types as payout_types,
        )
        from propdesk.challenges.payouts import services as payouts
        from propdesk.core import references as kinds
        from propdesk.core import vault
        from propdesk.jobs import housekeeping
        from propdesk.platforms import outbox, owners
        from propdesk.wallet import references

        outbox.on_done(stage_accounts.OPENED, stage_accounts.account_opened)
        outbox.on_done(payouts.TAKEN, payouts.taken)  # the profit is off: the share is paid
        outbox.on_cancelled(payouts.TAKEN, payouts.untaken)  # never taken off: nothing paid
        accounts.on_client_status(suspension.on_client_status)  # a suspended client's stages
        owners.register(account_owner)  # a stage's owner may be stopped trading (KYC policy)

        _client_groups()
        vault.register("challenges.StageAttempt", "sealed_password")
        # The fee and its refund carry the participation's reference (PTP-…) in the ledger.
        references.register(kinds.PARTICIPATION, Participation, "fee_entry", "refund_entry")
        # A stage's paid reset bears the reference of its participation.
        references.register(
            kinds.PARTICIPATION, StageAttempt, "reset_fee_entry", number="participation_id"
        )
        references.register(kinds.PAYOUT, Payout, "entry")
        lapse = housekeeping.register(
            "challenges.lapse_unpaid_purchases", every=housekeeping.MINUTE
        )
        lapse(lapse_unpaid)
        _menus()
        _panels()
        _commission_pages()


def _commission_pages() -> None:
    from propdesk.challenges.growth import commission_backoffice
    from propdesk.challenges.growth.commission import COMMISSION_MANAGE, COMMISSION_VIEW
    from propdesk.core import menu, panels

    menu.link(
        menu.BACKOFFICE,
        section="settings",
        label="Commission schemes",
        url="backoffice:commission_schemes",
        order=35,
        permission=COMMISSION_MANAGE,
    )
    menu.link(
        menu.BACKOFFICE,
        section="prop_trading",
        label="IB Commission Settlements",
        url="backoffice:commission_settlements",
        order=50,
        permission=COMMISSION_MANAGE,
    )
    panels.register(
        panels.CLIENT,
        key="commission",
        template="challenges/commission/client_panel.html",
        context=commission_backoffice.client_panel,
        order=35,
        permission=COMMISSION_VIEW,
        title="IB commission",
    )


def _panels() -> None:
    from propdesk.challenges.participation import portal_home
    from propdesk.core import panels

    # First on the portal's home: the next thing to do and where each challenge stands.
    panels.register(
        panels.PORTAL_HOME,
        key="prop_trading",
        template="challenges/portal_home_panel.html",
        context=portal_home.panel,
        order=0,
    )


def _menus() -> None:
    from propdesk.challenges.participation import backoffice
    from propdesk.challenges.permissions import CHALLENGES_VIEW
    from propdesk.core import menu, panels
    from propdesk.platforms.permissions import PLATFORMS_VIEW

    # The client's page in the back office: their challenges and the accounts they trade on.
    panels.register(
        panels.CLIENT,
        key="challenges",
        template="challenges/client_panel.html",
        context=backoffice.client_challenges,
        order=20,
        permission=CHALLENGES_VIEW,
        title="Challenges",
    )
    panels.register(
        panels.CLIENT,
        key="trading-accounts",
        template="challenges/client_trading_accounts.html",
        context=backoffice.client_trading_accounts,
        order=30,
        permission=PLATFORMS_VIEW,
        title="Trading accounts",
    )
    panels.register(
        panels.CLIENT_SUMMARY,
        key="challenges",
        template="challenges/client_summary.html",
        context=backoffice.client_summary,
        order=20,
        permission=CHALLENGES_VIEW,
    )

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
    menu.link(
        office,
        section="prop_trading",
        label="Monitor",
        url="backoffice:monitor_status",
        order=40,
        permission=CHALLENGES_VIEW,
    )
    _growth_menu()
    menu.link(menu.PORTAL, label=gettext_noop("Prop Trading"), url="portal:challenges", order=30)
    menu.link(
        menu.PORTAL, label=gettext_noop("My challenges"), url="portal:my_challenges", order=40
    )
    menu.link(menu.PORTAL, label=gettext_noop("Referrals"), url="portal:referrals", order=65)


def _growth_menu() -> None:
    from propdesk.challenges.permissions import COUPONS_MANAGE, GROWTH_LINKS
    from propdesk.core import menu

    menu.link(
        menu.BACKOFFICE,
        section="growth",
        label="Promotional links",
        url="backoffice:promo_links",
        order=40,
        permission=GROWTH_LINKS,
    )
    menu.link(
        menu.BACKOFFICE,
        section="growth",
        label="Coupons",
        url="backoffice:coupons",
        order=30,
        permission=COUPONS_MANAGE,
    )


def _client_groups() -> None:
    """A client group named by a challenge (or a coupon) is not deleted."""
    from propdesk.accounts import groups
    from propdesk.challenges.catalogue.offering import group_use

    groups.register_use(group_use)
