"""The demo's challenge on another vendor's platform: the fake Match-Trader server, which
`propdesk demo` starts beside the site (`propdesk fake-platform match-trader`), as the trading
server "Match-Trader (demo)", a published challenge on it, and Tomas, who bought it.

The seed runs before the demo's processes start, so it only writes the command that opens
Tomas's account (platforms.outbox); the worker carries it out once the fake listens (until
then the refused connection is a transient fault, tried again). The fake has no trader terminal,
so nobody would ever trade that account: `trade_when_open`, one of the demo's processes, plays
Tomas once his account is open and opens positions on the fake through its trader's controls;
the fake's prices walk on their own, so his equity, curve and figures move.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Any

from propdesk.accounts.models import User
from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.core.errors import DomainError
from propdesk.platforms import adapters, servers
from propdesk.platforms.matchtrader.fake import DEFAULT_OFFERS
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import PlatformError

logger = logging.getLogger(__name__)

SERVER_NAME = "Match-Trader (demo)"
API_KEY = "demo-match-trader-key-2026"  # the key the demo's fake is started with
PORT = 8010
CHALLENGE_NAME = "1-Step 100K on Match-Trader"
TRADER_EMAIL = "tomas@example.com"
CHALLENGE_OFFER, FUNDED_OFFER = DEFAULT_OFFERS  # the fake's own two offers (stable UUIDs)
# Tomas's positions: about 25 USD of equity for each step of the fake's prices (one a second).
POSITIONS = (("XAUUSD", "BUY", "0.50"), ("EURUSD", "SELL", "1.00"))
QUICK_TRADE = ("GBPUSD", "BUY", "1.00")  # opened, then closed: a trade with its result
QUICK_TRADE_SECONDS = 20.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def url_for(port: int) -> str:
    """The fake's address: on this machine, whatever address the site is served on."""
    return f"http://127.0.0.1:{port}"


def seed_server(admin: User, url: str) -> TradingServer:
    """The trading server of the demo's fake, set up as staff would on Settings > Trading
    platforms: its address, its API key (sealed), and its groups mapped to the fake's offers."""
    return servers.save_server(
        None,
        name=SERVER_NAME,
        kind=TradingServer.Kind.MATCH_TRADER,
        demo_groups=["challenge"],
        live_groups=["funded"],
        base_url=url,
        api_key=API_KEY,
        offers={"challenge": CHALLENGE_OFFER.uuid, "funded": FUNDED_OFFER.uuid},
        actor=admin,
    )


def definition(rules: dict[str, Any]) -> dict[str, Any]:
    """A 1-step challenge on the fake: a demo stage to +10%, then a funded (live) one."""
    return {
        "name": CHALLENGE_NAME,
        "currency": "USD",
        "tags": ["1-step", "match-trader"],
        "time_zone": "UTC",
        "fee": "399.00",
        "payment_ways": ["wallet", "direct"],
        "progression": "automatic",
        "platform": SERVER_NAME,
        "stages": [
            {
                "name": "Challenge",
                "kind": StageKind.DEMO,
                "balance": "100000",
                "leverage": 100,
                "rules": {**rules, "profit_target_pct": "10", "min_trading_days": 4},
            },
            {
                "name": "Funded",
                "kind": StageKind.LIVE,
                "balance": "100000",
                "leverage": 100,
                "profit_share_pct": "80",
                "rules": rules,
            },
        ],
    }


def point_at(url: str, admin_email: str) -> None:
    """A demo started again with another --match-trader-port: its server follows the fake."""
    server = TradingServer.objects.filter(name=SERVER_NAME).first()
    admin = User.objects.filter(email=admin_email).first()
    if server is None or admin is None or server.base_url == url:
        return
    servers.save_server(
        server.pk,
        name=server.name,
        kind=server.kind,
        demo_groups=server.demo_groups,
        live_groups=server.live_groups,
        enabled=server.enabled,
        base_url=url,
        api_key=API_KEY,  # a new address takes its key again (a kept key never goes elsewhere)
        actor=admin,
    )


# --- playing Tomas on the fake (one of the demo's processes) ------------------------------------


def tomas_account() -> StageAttempt | None:
    """Tomas's running stage once its account is open on the fake (None before)."""
    joined = Participation.objects.filter(client__user__email=TRADER_EMAIL).first()
    attempt = joined.current_attempt() if joined else None
    if attempt is None or not attempt.login:
        return None
    return StageAttempt.objects.select_related("server").get(pk=attempt.pk)


def trade_when_open(
    stop: threading.Event, *, every: float = 1.0, hold: float = QUICK_TRADE_SECONDS
) -> None:
    """Wait for Tomas's account to be open, then trade it once: the positions of `POSITIONS`
    stay open (the fake's prices move them), `QUICK_TRADE` is closed `hold` seconds later. An
    account that traded already (a demo started again) is left as it is."""
    while not stop.is_set():
        attempt = tomas_account()
        if attempt is not None:
            try:
                if not _traded(attempt):
                    _trade(attempt, stop, hold)
                return
            except (PlatformError, DomainError, OSError) as exc:
                logger.warning("demo trader: the fake Match-Trader did not answer: %s", exc)
        stop.wait(every)


def _traded(attempt: StageAttempt) -> bool:
    deals = adapters.platform(attempt.server).trade_history(attempt.login)
    return any(deal.entry for deal in deals)  # a position's deal (balance operations have none)


def _trade(attempt: StageAttempt, stop: threading.Event, hold: float) -> None:
    url, login = attempt.server.base_url, attempt.login
    for symbol, side, volume in POSITIONS:
        _control(url, "positions/open", login=login, symbol=symbol, side=side, volume=volume)
    symbol, side, volume = QUICK_TRADE
    quick = _control(url, "positions/open", login=login, symbol=symbol, side=side, volume=volume)
    print(f"demo trader: opened Tomas's positions on {url} (login {login})", flush=True)
    if not stop.wait(hold) and quick.get("positionId"):
        _control(url, "positions/close", login=login, positionId=quick["positionId"])


def _control(url: str, path: str, **body: str) -> dict[str, Any]:
    """One of the fake's trader controls (`/_fake/...`, not part of Match-Trader's API)."""
    request = urllib.request.Request(  # noqa: S310  (the demo's own fake, over http)
        f"{url}/_fake/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with _NO_PROXY.open(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as refused:  # 403: the account may no longer trade
        logger.warning("demo trader: %s refused (%s)", path, refused.code)
        return {}
