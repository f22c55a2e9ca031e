from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "propdesk.platforms"
    label = "platforms"

    def ready(self) -> None:
        from propdesk.core import menu
        from propdesk.jobs import housekeeping
        from propdesk.platforms import adapters, outbox
        from propdesk.platforms.matchtrader.adapter import MatchTraderPlatform
        from propdesk.platforms.permissions import PLATFORMS_VIEW

        office = menu.BACKOFFICE
        menu.section("trading", "Trading", order=30)
        menu.link(
            office,
            section="trading",
            label="Trading accounts",
            url="backoffice:trading_accounts",
            order=10,
            permission=PLATFORMS_VIEW,
        )
        menu.link(
            office,
            section="settings",
            label="Trading platforms",
            url="backoffice:trading_servers",
            order=40,
            permission=PLATFORMS_VIEW,
        )
        menu.link(
            office,
            section="settings",
            label="Sandbox instruments",
            url="backoffice:sandbox_instruments",
            order=50,
            permission=PLATFORMS_VIEW,
        )
        menu.link(menu.PORTAL, label="Trading terminal", url="terminal:home", order=50)
        adapters.register("match_trader", MatchTraderPlatform)
        # The worker carries out the platform commands between its jobs (platforms.outbox).
        housekeeping.register("platforms.commands", every=0.2)(outbox.sweep)
