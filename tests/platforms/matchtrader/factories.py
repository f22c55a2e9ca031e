"""Helpers for the Match-Trader tests: the fake platform on a free port, a trading server row
pointing at it, its controls and its raw API, and a check that logged events are valid input
for the rule evaluator."""

from __future__ import annotations

import hashlib
import itertools
import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from propdesk.core import vault
from propdesk.platforms import adapters, eventlog
from propdesk.platforms.matchtrader.adapter import MatchTraderPlatform
from propdesk.platforms.matchtrader.fake import DEFAULT_OFFERS, FakeMatchTrader
from propdesk.platforms.matchtrader.ingestor import MatchTraderIngestor
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import AccountOwner, Credentials
from propdesk.rules import Evaluator, Rules, parse_event

CHALLENGE, FUNDED = DEFAULT_OFFERS  # the fake's offers: "Challenge 100K" (demo), "Funded" (live)
_keys = itertools.count(1)


def start_fake(**options: Any) -> FakeMatchTrader:
    """The fake on a free port, its prices still unless a test moves them."""
    options.setdefault("tick_rate", 0)
    options.setdefault("seed", 7)
    return FakeMatchTrader(**options).start()


def server_for(
    fake: FakeMatchTrader, *, name: str = "Match-Trader", **fields: Any
) -> TradingServer:
    """A trading server for the fake, its propdesk groups mapped to the fake's offers."""
    values: dict[str, Any] = {
        "kind": TradingServer.Kind.MATCH_TRADER,
        "base_url": fake.url,
        "sealed_api_key": vault.seal(fake.api_key),
        "demo_groups": ["challenge"],
        "live_groups": ["funded"],
        "offers": {"challenge": CHALLENGE.uuid, "funded": FUNDED.uuid},
    }
    values.update(fields)
    return TradingServer.objects.create(name=name, **values)


def call(
    fake: FakeMatchTrader,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = "",
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    """The fake's API as any client calls it: (status, headers, JSON body or None). `key` is
    the Authorization header as sent; "" sends "Bearer <the fake's key>", None sends none."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = key or f"Bearer {fake.api_key}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(fake.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, dict(response.headers), json.loads(text) if text else None
    except urllib.error.HTTPError as refused:
        text = refused.read()
        return refused.code, dict(refused.headers), json.loads(text) if text else None


def control(fake: FakeMatchTrader, path: str, body: Any = None, *, method: str = "POST") -> Any:
    """A fake-only control (`/_fake/...`); its JSON answer."""
    status, _, answer = call(
        fake,
        method,
        f"/_fake/{path}",
        body if body is not None else {} if method == "POST" else None,
        key=None,
    )
    assert status < 400, (status, answer)
    return answer


def trader_opens(
    fake: FakeMatchTrader,
    login: str,
    symbol: str = "XAUUSD",
    *,
    side: str = "BUY",
    volume: str = "1",
) -> str:
    """The trader opens a position (the platform's side of trading); its id."""
    answer = control(
        fake, "positions/open", {"login": login, "symbol": symbol, "side": side, "volume": volume}
    )
    return str(answer["positionId"])


def trader_closes(fake: FakeMatchTrader, login: str, position: str, **more: Any) -> dict[str, Any]:
    return control(fake, "positions/close", {"login": login, "positionId": position, **more})


def tick(fake: FakeMatchTrader, symbol: str, bid: str) -> None:
    control(fake, "price", {"symbol": symbol, "bid": bid})


def owner(email: str = "trader@example.com") -> AccountOwner:
    return AccountOwner(email=email, first_name="Tess", last_name="Trader", country="CZ")


def open_account(
    server: TradingServer,
    *,
    key: str | None = None,
    group: str = "challenge",
    balance: str = "100000",
    email: str = "trader@example.com",
) -> Credentials:
    """An account opened through the adapter, as the outbox opens one."""
    return adapters.platform(server).create_account(
        group=group,
        leverage=100,
        balance=Decimal(balance),
        currency="USD",
        key=key or f"stage:{next(_keys)}:open",
        owner=owner(email),
        comment="Challenge 100K, stage 1",
    )


def account(fake: FakeMatchTrader, login: str) -> dict[str, Any]:
    status, _, answer = call(fake, "GET", f"/v1/trading-accounts/{login}")
    assert status == 200, answer
    return answer


def ledger(fake: FakeMatchTrader, login: str) -> list[dict[str, Any]]:
    _, _, answer = call(
        fake, "POST", "/v1/trading-accounts/trading-data/ledgers", {"logins": [login]}
    )
    return answer["operations"]


def holdings(fake: FakeMatchTrader) -> dict[str, Any]:
    """What the platform holds, read through its API: the user accounts' emails, the trading
    accounts' logins and every balance operation as (login, type, amount)."""
    users = call(fake, "GET", "/v1/user-accounts?size=100")[2]["content"]
    logins = [a["login"] for a in call(fake, "GET", "/v1/trading-accounts?size=100")[2]["content"]]
    return {
        "users": [u["email"] for u in users],
        "accounts": logins,
        "operations": [
            (e["login"], e["type"], Decimal(str(e["profit"])))
            for login in logins
            for e in ledger(fake, login)
        ],
    }


def password_opens(fake: FakeMatchTrader, email: str, password: str) -> bool:
    """Whether `password` is the one the platform keeps for the user account of `email`. The
    fake has no login of its own to try it on; it keeps a digest, as a platform would, and this
    compares with it."""
    kept = fake.book.user_by_email(email)["password"]
    return bool(password) and kept == hashlib.sha256(password.encode()).hexdigest()


def logged(server: TradingServer, login: str | None = None) -> list[dict[str, Any]]:
    """The payloads in the account-event log, oldest first."""
    return [e.payload for e in eventlog.events(server, login=login, limit=100_000)]


def kinds(payloads: list[dict[str, Any]]) -> list[str]:
    """Each event in short: "equity", "in p1", "out p1", "balance -5000.00"."""
    return [
        p["type"]
        if p["type"] == "equity"
        else f"balance {p['amount']}"
        if p["type"] == "balance"
        else f"{p['entry']} {p['position']}"
        for p in payloads
    ]


def evaluate(
    payloads: list[dict[str, Any]], initial_balance: str = "100000.00", **rules: Any
) -> Evaluator:
    """Feed one account's events to the rule evaluator (it refuses an invalid stream): a 10%
    target and a static 10% max loss unless `rules` say otherwise."""
    evaluator = Evaluator(
        Rules.parse(
            {
                "initial_balance": initial_balance,
                "timezone": "UTC",
                "profit_target_pct": "10",
                "max_loss": {"pct": "10", "mode": "static"},
                **rules,
            }
        )
    )
    for payload in payloads:
        evaluator.feed(parse_event(json.loads(json.dumps(payload))))
    return evaluator


def ingestor_for(server: TradingServer, **options: Any) -> MatchTraderIngestor:
    """The server's ingestor as its adapter makes it, polling without a pause between pulls."""
    platform = adapters.platform(server)
    assert isinstance(platform, MatchTraderPlatform)
    options.setdefault("interval", 0)
    return MatchTraderIngestor(server, platform.api, **options)
