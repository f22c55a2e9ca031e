"""Match-Trader behind the trading-platform protocol, through its Broker API v2
(https://app.theneo.io/match-trade/broker-api-v2/introduction).

How propdesk's asks map to the platform:

- An account is a *trading account* of a *user account* found by the owner's email
  (https://app.theneo.io/match-trade/broker-api-v2/user-accounts). It is opened in the trading
  group of the offer configured for propdesk's group (`TradingServer.offers`, {group: offer
  uuid}; offers: https://app.theneo.io/match-trade/broker-api/branches-offers-roles/get-offers),
  DEMO or REAL as the offer is, or, with no offer configured, in the group of that name. Its
  starting balance is a deposit (https://app.theneo.io/match-trade/broker-api-v2/balance-operations).
- Opening is safe to repeat under its key: the key goes into the trading account's `remarks`
  and the deposit's comment, and both are looked for before anything is created. The user
  account's password is derived from the key (the same on a retry); it is given back only
  when the user account holds nothing but this key's account (a user account that existed
  with other accounts keeps its password, and "" is returned).
- Access levels are the account's `accessRight`, changed with the optimistic-locking
  `version` the platform requires (read, then write; a stale version is read again):
  https://app.theneo.io/match-trade/broker-api-v2/trading-accounts
- Leverage: the platform's `leverageRatioPercent` is taken as the ratio in percent (1:100 is
  10000) — the documentation names the field without saying more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from propdesk.core import vault
from propdesk.platforms.matchtrader.client import TIMEOUT, ApiError, BrokerApi, segment
from propdesk.platforms.matchtrader.ingestor import (
    BALANCE_TYPES,
    MatchTraderIngestor,
    ledger_entries,
    open_positions,
    stamp,
)
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import (
    Access,
    AccountOwner,
    AccountState,
    Credentials,
    DealRecord,
    Ingestor,
    OpenPosition,
    PlatformError,
)

ACCESS_RIGHTS = {
    Access.FULL: "FULL",
    Access.CLOSE_ONLY: "CLOSE_ONLY",
    Access.NO_TRADING: "TRADING_DISABLED",
    Access.NO_LOGIN: "TRADING_AND_LOGIN_DISABLED",
}
LEVERAGE_PERCENT = 100  # leverageRatioPercent for 1:1
VERSION_RETRIES = 5
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Offer:
    """One of the platform's offers, for the settings page's group → offer mapping."""

    uuid: str
    name: str
    currency: str
    demo: bool
    group: str


def marker(key: str) -> str:
    """What marks this key's work at the platform (in remarks and comments)."""
    return f"[propdesk {key}]"


def derived_password(key: str) -> str:
    """The user account's password for an account opened under `key`: the same on every
    attempt (a retry after a lost answer gives the trader the password that was set), and
    unguessable without the firm's secret. Meets the platform's rule (upper, lower, digit,
    8 or more)."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"match-trader-password:{key}".encode(), hashlib.sha256
    ).digest()
    return "Pd" + base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=") + "7"


class MatchTraderPlatform:
    def __init__(self, server: TradingServer) -> None:
        self.server = server
        key = vault.open_sealed(server.sealed_api_key) if server.sealed_api_key else None
        if not key:
            raise PlatformError(
                f"The API key of {server.name} is not set or can no longer be opened: "
                "enter it again (Settings > Trading platforms).",
                transient=False,
            )
        timeout = float(getattr(settings, "MATCH_TRADER_TIMEOUT", TIMEOUT))
        self.api = BrokerApi(server.base_url, key, timeout=timeout)

    # --- offers and the connection test ------------------------------------------------------

    def offers(self) -> list[Offer]:
        answer = self.api.get("/v1/offers") or {}
        return [
            Offer(
                uuid=str(o.get("uuid", "")),
                name=str(o.get("name", "")),
                currency=str(o.get("currency", "")),
                demo=bool(o.get("demo")),
                group=str(o.get("groupName", "")),
            )
            for o in answer.get("offers", [])
        ]

    def check_connection(self) -> str:
        offers = self.offers()
        names = ", ".join(o.name for o in offers)
        return f"Match-Trader answered: {len(offers)} offer(s)" + (f" ({names})" if names else "")

    def _placement(self, group: str, currency: str) -> tuple[str, str]:
        """(the platform's group, DEMO or REAL) for propdesk's group."""
        wanted = (self.server.offers or {}).get(group)
        if not wanted:
            return group, "DEMO" if group in self.server.demo_groups else "REAL"
        offers = self.offers()
        offer = next((o for o in offers if o.uuid == wanted), None)
        if offer is None:
            raise PlatformError(
                f"The offer {wanted} configured for group {group} is not among the platform's "
                "offers.",
                transient=False,
                answer="The platform's offers: "
                + "; ".join(f"{o.name} ({o.uuid})" for o in offers),
            )
        if offer.currency and offer.currency != currency:
            raise PlatformError(
                f"The offer {offer.name} is in {offer.currency}, the account in {currency}.",
                transient=False,
            )
        return offer.group, "DEMO" if offer.demo else "REAL"

    # --- opening an account ------------------------------------------------------------------

    def create_account(
        self,
        *,
        group: str,
        leverage: int,
        balance: Decimal,
        currency: str,
        key: str,
        owner: AccountOwner | None = None,
        comment: str = "",
    ) -> Credentials:
        if owner is None or not owner.email:
            raise PlatformError(
                "Match-Trader opens accounts for a user account found by email: the owner's "
                "email is needed.",
                transient=False,
            )
        platform_group, account_type = self._placement(group, currency)
        tag = marker(key)
        password = derived_password(key)
        user, created = self._user(owner.email, password)
        listed = self.api.get(f"/v1/user-accounts/{segment(user['uuid'])}/trading-accounts")
        # A list, or a page of one (the documentation shows neither): both are read.
        accounts = list((listed.get("content", []) if isinstance(listed, dict) else listed) or [])
        mine = next((a for a in accounts if tag in str(a.get("remarks") or "")), None)
        if created:
            given = password
        elif all(tag in str(a.get("remarks") or "") for a in accounts):
            # Nothing in this user account but what this key opened (or nothing at all): an
            # earlier attempt made it and lost the answer. Its password is set again to the
            # key's, so the trader is told the one that works.
            self.api.post(
                f"/v1/user-accounts/{segment(user['uuid'])}/change-password",
                {"newPassword": password},
            )
            given = password
        else:
            given = ""  # the trader's user account already existed: its password stands
        if mine is None:
            mine = self.api.post(
                f"/v1/user-accounts/{segment(user['uuid'])}/trading-accounts",
                {
                    "group": platform_group,
                    "leverageRatioPercent": int(leverage) * LEVERAGE_PERCENT,
                    "accessRight": ACCESS_RIGHTS[Access.FULL],
                    "accountType": account_type,
                    "accountDetails": _details(owner),
                    "remarks": f"{tag} {comment}".strip(),  # the key first: never cut off
                },
            )
        login = str(mine["login"])
        if balance > 0:
            self._deposit_once(login, balance, comment or "Starting balance", f"{key}:start")
        return Credentials(login=login, password=given, server=self.server.name)

    def _user(self, email: str, password: str) -> tuple[dict[str, Any], bool]:
        """The user account of `email` and whether this call created it."""
        try:
            return self.api.get(f"/v1/user-accounts/email/{segment(email)}"), False
        except ApiError as missing:
            if missing.status not in (400, 404):
                raise
        try:
            return self.api.post("/v1/user-accounts", {"email": email, "password": password}), True
        except ApiError as taken:
            if taken.status != 409:
                raise
        return self.api.get(f"/v1/user-accounts/email/{segment(email)}"), False

    # --- money -------------------------------------------------------------------------------

    def balance_operation(
        self, login: str, amount: Decimal, comment: str, *, key: str
    ) -> DealRecord:
        if not amount:
            raise PlatformError("A balance operation of 0 changes nothing.", transient=False)
        if amount > 0:
            entry = self._deposit_once(login, amount, comment, key)
        else:
            entry = self._once(login, "withdraw", -amount, comment, key)
        if entry is None:  # done, but not listed yet: the platform's ledger lags
            return DealRecord(
                deal=key,
                at=timezone.now(),
                kind="balance",
                entry="",
                position="",
                symbol="",
                volume=Decimal(0),
                price=Decimal(0),
                profit=amount,
                comment=comment,
            )
        return _balance_record(entry)

    def _deposit_once(
        self, login: str, amount: Decimal, comment: str, key: str
    ) -> dict[str, Any] | None:
        return self._once(login, "deposit", amount, comment, key)

    def _once(
        self, login: str, kind: str, amount: Decimal, comment: str, key: str
    ) -> dict[str, Any] | None:
        """Post a deposit or withdrawal unless one carrying the key's marker is in the ledger
        already; the ledger entry (None if the platform does not list it yet)."""
        tag = marker(key)
        found = self._ledger_entry(login, tag)
        if found is None:
            self.api.post(
                f"/v1/trading-accounts/{segment(login)}/{kind}",
                {"amount": amount, "comment": f"{tag} {comment}".strip()},
            )
            found = self._ledger_entry(login, tag)
        return found

    def _ledger_entry(self, login: str, tag: str) -> dict[str, Any] | None:
        for entry in self._ledger(login, BALANCE_TYPES):
            if tag in str(entry.get("comment") or ""):
                return entry
        return None

    def _ledger(self, login: str, types: Sequence[str]) -> list[dict[str, Any]]:
        return ledger_entries(self.api, [login], types).get(login, [])

    # --- access and positions ----------------------------------------------------------------

    def set_access(self, login: str, access: Access, *, reason: str = "") -> None:
        right = ACCESS_RIGHTS[Access(access)]
        for _ in range(VERSION_RETRIES):
            account = self.api.get(f"/v1/trading-accounts/{segment(login)}")
            if account.get("accessRight") == right:
                return
            try:
                self.api.patch(
                    f"/v1/trading-accounts/{segment(login)}",
                    {"accessRight": right, "version": account["version"]},
                )
                return
            except ApiError as stale:
                if stale.status != 409:
                    raise
        raise PlatformError(
            f"Account {login} kept changing while its access was being set; trying again.",
            transient=True,
        )

    def close_positions(self, login: str, *, reason: str = "") -> int:
        before = open_positions(self.api, [login]).get(login, [])
        if not before:
            return 0
        answer = self.api.post(
            "/v1/trading-accounts/positions/close-all",
            {"logins": [login], "comment": reason or "Closed by propdesk"},
        )
        refused = [
            r
            for r in (answer or {}).get("responses", [])
            if str(r.get("status", "")).upper() in ("REJECTED", "FAILURE")
        ]
        after = open_positions(self.api, [login]).get(login, [])
        if refused and after:
            raise PlatformError(
                f"Match-Trader did not close every position of {login}.",
                transient=True,
                answer=str(refused),
            )
        return len(before) - len(after)

    def account_state(self, login: str) -> AccountState:
        account = self.api.get(f"/v1/trading-accounts/{segment(login)}")
        finance = account.get("financeInfo") or {}
        places = Decimal(1).scaleb(-int(finance.get("currencyPrecision", 2)))
        money = lambda name: Decimal(str(finance.get(name) or 0)).quantize(places)  # noqa: E731
        positions = [
            OpenPosition(
                position=str(p["id"]),
                symbol=str(p["symbol"]),
                side=str(p["side"]).lower(),
                volume=Decimal(str(p["volume"])),
                open_price=Decimal(str(p["openPrice"])),
                current_price=Decimal(str(p.get("currentPrice") or 0)),
                sl=Decimal(str(p["stopLoss"])) if p.get("stopLoss") else None,
                tp=Decimal(str(p["takeProfit"])) if p.get("takeProfit") else None,
                profit=Decimal(str(p.get("netProfit") or 0)).quantize(places),
                opened_at=_time(p["openTime"]),
            )
            for p in open_positions(self.api, [login]).get(login, [])
        ]
        return AccountState(
            login=str(account["login"]),
            currency=str(finance.get("currency", "")),
            balance=money("balance"),
            equity=money("equity"),
            margin=money("margin"),
            free_margin=money("freeMargin"),
            trading_enabled=account.get("accessRight") == ACCESS_RIGHTS[Access.FULL],
            positions=tuple(positions),
        )

    def trade_history(self, login: str) -> Sequence[DealRecord]:
        """Every deal of the account: balance operations, each position's `in`, each close."""
        account = self.api.get(f"/v1/trading-accounts/{segment(login)}")
        since = (
            _time(account["created"]) - timedelta(minutes=1)
            if account.get("created")
            else BEGINNING
        )
        records = [_balance_record(e) for e in self._ledger(login, BALANCE_TYPES)]
        closed = self.api.post(
            "/v1/trading-accounts/trading-data/closed-positions",
            {
                "logins": [login],
                "from": stamp(since),
                "to": stamp(timezone.now() + timedelta(days=1)),
            },
        )
        parts = list((closed or {}).get("closedPositions", []))
        opened: dict[str, dict[str, Any]] = {}
        for part in parts:
            opened.setdefault(str(part["id"]), {**part, "volume": Decimal(0)})
            opened[str(part["id"])]["volume"] += Decimal(str(part["volume"]))
            records.append(_deal(part, "out"))
        for position in open_positions(self.api, [login]).get(login, []):
            held = opened.get(str(position["id"]))
            volume = Decimal(str(position["volume"])) + (held["volume"] if held else 0)
            opened[str(position["id"])] = {**position, "volume": volume}
        records += [_deal(position, "in") for position in opened.values()]
        return sorted(records, key=lambda r: (r.at, r.entry != "in"))

    def ingestor(self) -> Ingestor:
        return MatchTraderIngestor(self.server, self.api)


def _details(owner: AccountOwner) -> dict[str, str]:
    details = {
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        "country": owner.country,
        "email": owner.email,
    }
    return {k: v for k, v in details.items() if v}


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _balance_record(entry: dict[str, Any]) -> DealRecord:
    return DealRecord(
        deal=str(entry.get("id", "")),
        at=_time(entry["time"]),
        kind="balance",
        entry="",
        position="",
        symbol="",
        volume=Decimal(0),
        price=Decimal(0),
        profit=Decimal(str(entry.get("profit") or 0)),
        comment=str(entry.get("comment") or ""),
    )


def _deal(row: dict[str, Any], entry: str) -> DealRecord:
    side = str(row.get("side", "BUY")).lower()
    closing = {"buy": "sell", "sell": "buy"}
    return DealRecord(
        deal=f"{row['id']}:in" if entry == "in" else str(row.get("uid") or f"{row['id']}:out"),
        at=_time(row["openTime"] if entry == "in" else row["closeTime"]),
        kind=side if entry == "in" else closing.get(side, side),
        entry=entry,
        position=str(row["id"]),
        symbol=str(row.get("symbol", "")),
        volume=Decimal(str(row.get("volume") or 0)),
        price=Decimal(str(row.get("openPrice" if entry == "in" else "closePrice") or 0)),
        profit=Decimal(0) if entry == "in" else Decimal(str(row.get("netProfit") or 0)),
        comment="",
    )
