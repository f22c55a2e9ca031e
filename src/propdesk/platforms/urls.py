"""Trading platforms: Settings > Trading platforms (servers, sandbox instruments), Trading >
Trading accounts and Platform commands, and the trader's web terminal."""

from django.urls import path, re_path

from propdesk.platforms import backoffice, terminal, terminal_chart

# Under /backoffice/.
backoffice_urls = [
    path("settings/trading-platforms/", backoffice.trading_servers, name="trading_servers"),
    path(
        "settings/trading-platforms/new/",
        backoffice.trading_server_edit,
        name="trading_server_new",
    ),
    path(
        "settings/trading-platforms/<int:server_id>/",
        backoffice.trading_server_edit,
        name="trading_server_edit",
    ),
    path(
        "settings/trading-platforms/<int:server_id>/test-connection/",
        backoffice.trading_server_check,
        name="trading_server_check",
    ),
    path(
        "settings/trading-platforms/sandbox-instruments/",
        backoffice.sandbox_instruments,
        name="sandbox_instruments",
    ),
    path(
        "settings/trading-platforms/sandbox-instruments/<str:symbol>/",
        backoffice.sandbox_instrument_edit,
        name="sandbox_instrument_edit",
    ),
    path("trading/accounts/", backoffice.trading_accounts, name="trading_accounts"),
    path("trading/accounts/<str:login>/", backoffice.trading_account, name="trading_account"),
    re_path(
        r"^trading/accounts/(?P<login>[^/]+)/(?P<action>disable|enable)/$",
        backoffice.trading_account_status,
        name="trading_account_status",
    ),
    path(
        "trading/accounts/<str:login>/balance/",
        backoffice.trading_account_balance,
        name="trading_account_balance",
    ),
    path("trading/platform-commands/", backoffice.platform_commands, name="platform_commands"),
    path(
        "trading/platform-commands/<int:command_id>/",
        backoffice.platform_command,
        name="platform_command",
    ),
    path(
        "trading/platform-commands/<int:command_id>/retry/",
        backoffice.platform_command_retry,
        name="platform_command_retry",
    ),
    path(
        "trading/platform-commands/<int:command_id>/cancel/",
        backoffice.platform_command_cancel,
        name="platform_command_cancel",
    ),
]

# Under /terminal/, in the "terminal" namespace.
terminal_urls = [
    path("", terminal.terminal, name="home"),
    path("login/", terminal.login, name="login"),
    path("logout/", terminal.logout, name="logout"),
    path("state/", terminal.live_state, name="state"),
    path("tables/", terminal.tables, name="tables"),
    path("chart/", terminal_chart.chart, name="chart"),
    path("positions/<int:position_id>/close/", terminal.close, name="close"),
]
