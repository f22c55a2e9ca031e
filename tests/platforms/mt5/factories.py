"""Helpers for the MetaTrader 5 tests: the fake MT5 Web API on a free port, a trading server row
pointing at it, its controls, its raw API (the handshake done as any client does it), and the
account events as the rule evaluator reads them."""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from propdesk.core import vault
from propdesk.platforms import adapters, eventlog
from propdesk.platforms.models import TradingServer
from propdesk.platforms.mt5.adapter import MT5Platform
from propdesk.platforms.mt5.fake import FakeMT5
from propdesk.platforms.mt5.ingestor import MT5Ingestor
from propdesk.platforms.protocol import AccountOwner, Credentials
from propdesk.rules import Evaluator, Rules, parse_event

CHALLENGE_GROUP = "demo\\challenge"
FUNDED_GROUP = "real\\funded"
_keys = itertools.count(1)


def start_fake(**options: Any) -> FakeMT5:
    """The fake on a free port, its prices still unless a test moves them."""
    options.setdefault("tick_rate", 0)
    options.setdefault("seed", 7)
    return FakeMT5(**options).start()


def server_for(fake: FakeMT5, *, name: str = "MetaTrader 5", **fields: Any) -> TradingServer:
    """A trading server for the fake, its propdesk groups mapped to the fake's MT5 groups."""
    values: dict[str, Any] = {
        "kind": TradingServer.Kind.MT5,
        "base_url": fake.url,
        "manager_login": fake.login,
        "sealed_api_key": vault.seal(fake.password),
        "demo_groups": ["challenge"],
        "live_groups": ["funded"],
        "offers": {"challenge": CHALLENGE_GROUP, "funded": FUNDED_GROUP},
    }
    values.update(fields)
    return TradingServer.objects.create(name=name, **values)


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


class Raw:
    """The fake's Web API as any client calls it: a cookie jar, the handshake by hand."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake
        self.cookie = ""

    def request(self, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        """(HTTP status, the JSON answer)."""
        url = self.fake.url + path + ("?" + urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Cookie": f"MT5WebAPI={self.cookie}"} if self.cookie else {}
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                for part in (response.headers.get("Set-Cookie") or "").split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == "MT5WebAPI":
                        self.cookie = value
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"null")

    def login(self, password: str | None = None, login: str | None = None) -> dict[str, Any]:
        """The handshake; auth/answer's answer."""
        _, start = self.request(
            "/api/auth/start",
            {
                "version": "484",
                "agent": "tests",
                "login": login or self.fake.login,
                "type": "manager",
            },
        )
        if start["retcode"] != "0 Done":
            return start
        hashed = _md5(_md5((password or self.fake.password).encode("utf-16-le")) + b"WebAPI")
        cli_rand = secrets.token_bytes(16)
        _, answer = self.request(
            "/api/auth/answer",
            {
                "srv_rand_answer": _md5(hashed + bytes.fromhex(start["srv_rand"])).hex(),
                "cli_rand": cli_rand.hex(),
            },
        )
        if answer["retcode"] == "0 Done":
            assert answer["cli_rand_answer"] == _md5(hashed + cli_rand).hex()
        return answer

    def get(self, path: str, **query: Any) -> Any:
        status, answer = self.request(path, query)
        assert status == 200, (status, answer)
        assert answer["retcode"] == "0 Done", answer
        return answer.get("answer")


def raw(fake: FakeMT5) -> Raw:
    client = Raw(fake)
    assert client.login()["retcode"] == "0 Done"
    return client


def control(fake: FakeMT5, path: str, body: Any = None, *, method: str = "POST") -> Any:
    """A fake-only control (`/_fake/...`); its JSON answer."""
    data = json.dumps(body or {}).encode() if method == "POST" else None
    request = urllib.request.Request(fake.url + f"/_fake/{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def trader_opens(
    fake: FakeMT5, login: str, symbol: str = "XAUUSD", *, side: str = "buy", volume: str = "1"
) -> str:
    """The trader opens a position (the platform's side of trading); its ticket."""
    answer = control(
        fake, "positions/open", {"login": login, "symbol": symbol, "side": side, "volume": volume}
    )
    return str(answer["Position"])


def trader_closes(fake: FakeMT5, login: str, position: str, **more: Any) -> dict[str, Any]:
    return control(fake, "positions/close", {"login": login, "position": position, **more})


def tick(fake: FakeMT5, symbol: str, bid: str) -> None:
    control(fake, "price", {"symbol": symbol, "bid": bid})


def owner(email: str = "trader@example.com") -> AccountOwner:
    return AccountOwner(email=email, first_name="Tess", last_name="Trader", country="CZ")


def open_account(
    server: TradingServer,
    *,
    key: str | None = None,
    group: str = "challenge",
    balance: str = "100000",
) -> Credentials:
    """An account opened through the adapter, as the outbox opens one."""
    return adapters.platform(server).create_account(
        group=group,
        leverage=100,
        balance=Decimal(balance),
        currency="USD",
        key=key or f"stage:{next(_keys)}:open",
        owner=owner(),
        comment="Challenge 100K, stage 1",
    )


def user(fake: FakeMT5, login: str) -> dict[str, Any]:
    return raw(fake).get("/api/user/get", login=login)


def balance_deals(fake: FakeMT5, login: str) -> list[Decimal]:
    deals = raw(fake).get("/api/deal/get_batch", login=login, **{"from": 0, "to": 2**40})
    return [Decimal(d["Profit"]) for d in deals if d["Action"] == "2"]


def holdings(fake: FakeMT5) -> dict[str, Any]:
    """What the platform holds: every user's login and group, and every balance deal as
    (login, amount)."""
    with fake.book.lock:
        users = [(u["Login"], u["Group"]) for u in fake.book.users.values()]
        deals = [(d["Login"], Decimal(d["Profit"])) for d in fake.book.deals if d["Action"] == "2"]
    return {"users": users, "deals": deals}


def logged(server: TradingServer, login: str | None = None) -> list[dict[str, Any]]:
    return [e.payload for e in eventlog.events(server, login=login, limit=100_000)]


def kinds(payloads: list[dict[str, Any]]) -> list[str]:
    return [
        p["type"]
        if p["type"] == "equity"
        else f"balance {p['amount']}"
        if p["type"] == "balance"
        else f"{p['entry']} {p['position']}"
        for p in payloads
    ]


def evaluate(payloads: list[dict[str, Any]], initial_balance: str = "100000.00") -> Evaluator:
    """Feed one account's events to the rule evaluator (it refuses an invalid stream)."""
    evaluator = Evaluator(
        Rules.parse(
            {
                "initial_balance": initial_balance,
                "timezone": "UTC",
                "profit_target_pct": "10",
                "max_loss": {"pct": "10", "mode": "static"},
            }
        )
    )
    for payload in payloads:
        evaluator.feed(parse_event(json.loads(json.dumps(payload))))
    return evaluator


def ingestor_for(server: TradingServer, **options: Any) -> MT5Ingestor:
    """The server's ingestor as its adapter makes it, polling without a pause between pulls."""
    platform = adapters.platform(server)
    assert isinstance(platform, MT5Platform)
    options.setdefault("interval", 0)
    return MT5Ingestor(server, platform.api, **options)
