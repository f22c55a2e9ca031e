from django.apps import AppConfig
from django.utils.translation import gettext_noop


class PlatformsConfig(AppConfig):
    name = "propdesk.platforms"
    label = "platforms"

    def ready(self) -> None:
        from propdesk.core import menu, vault
        from propdesk.jobs import housekeeping
        from propdesk.platforms import adapters, commands, outbox
        from propdesk.platforms.matchtrader.adapter import MatchTraderPlatform
        from propdesk.platforms.mt5.adapter import MT5Platform
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
            section="trading",
            label="Platform commands",
            url="backoffice:platform_commands",
            order=20,
            permission=PLATFORMS_VIEW,
            # The ones the platform refused, which wait for staff.
            count=lambda user: commands.failed_count(),
            count_id="nav-platform-commands-failed",
            count_title="Refused by the platform: waiting for you",
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
        menu.link(
            menu.PORTAL, label=gettext_noop("Trading terminal"), url="terminal:home", order=50
        )
        adapters.register("match_trader", MatchTraderPlatform)
        adapters.register("mt5", MT5Platform)
        vault.register("platforms.TradingServer", "sealed_api_key")
        # The worker carries out the platform commands between its jobs (platforms.outbox).
        housekeeping.register("platforms.commands", every=0.2)(outbox.sweep)
