"""The demo's MetaTrader 5 server: the fake MT5 Web API, which `propdesk demo` starts beside the
site (`propdesk fake-platform mt5`), set up as the trading server "MetaTrader 5 (demo)" as staff
would on Settings > Trading platforms: its address, its manager's login and password (sealed),
and its groups mapped to the fake's MT5 groups. A challenge put on it opens its accounts there.
"""

from __future__ import annotations

from propdesk.accounts.models import User
from propdesk.platforms import servers
from propdesk.platforms.models import TradingServer

SERVER_NAME = "MetaTrader 5 (demo)"
PORT = 8011
MANAGER_LOGIN = "1000"  # the manager the demo's fake is started with
MANAGER_PASSWORD = "DemoManager2026"
GROUPS = {"mt5-challenge": "demo\\challenge", "mt5-funded": "real\\funded"}  # the fake's groups


def url_for(port: int) -> str:
    """The fake's address: on this machine, whatever address the site is served on."""
    return f"http://127.0.0.1:{port}"


def ensure_server(admin_email: str, url: str) -> TradingServer | None:
    """The demo's MT5 server, made the first time, moved to `url` when the demo starts with
    another --mt5-port (a new address takes its password again); None without the demo's
    staff."""
    admin = User.objects.filter(email=admin_email).first()
    if admin is None:
        return None
    server = TradingServer.objects.filter(name=SERVER_NAME).first()
    if server is not None and server.base_url == url:
        return server
    return servers.save_server(
        server.pk if server else None,
        name=SERVER_NAME,
        kind=TradingServer.Kind.MT5,
        demo_groups=["mt5-challenge"],
        live_groups=["mt5-funded"],
        enabled=True,
        base_url=url,
        manager_login=MANAGER_LOGIN,
        api_key=MANAGER_PASSWORD,
        offers=GROUPS,
        actor=admin,
    )
