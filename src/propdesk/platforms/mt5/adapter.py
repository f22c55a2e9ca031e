"""MetaTrader 5 behind the trading-platform protocol, through the MT5 Web API as a manager
(the handshake and the calls: platforms/mt5/client.py; what the fake follows:
platforms/mt5/fake/__init__.py).

How propdesk's asks map to the platform:

- An account is an MT5 user (`/api/user/add`) in the MT5 group mapped to propdesk's group
  (`TradingServer.offers`, {group: MT5 group name}; unmapped, the group of the same name), with
  the leverage asked and the rights of full access. Its starting balance is a balance deal
  (`/api/trade/balance`, type 2).
- Opening is safe to repeat under its key: the key's marker (`marker`, short: MT5 comments hold
  32 characters) is the user's `Comment` and starts the balance deal's comment; both are looked
  for (the group's users, the account's deals) before anything is made, the group's users only
  when an attempt may have run before (not on a command's first: the listing reads the whole
  group). The password is derived
  from the key, so a retry after a lost answer gives the trader the password that was set.
- Balance operations are balance deals marked the same way, found again on a retry (the
  account's whole history is read for it only then).
- Access levels are the user's `Rights` bits: USER_RIGHT_ENABLED (may connect) and
  USER_RIGHT_TRADE_DISABLED (may not trade); the other bits are left as they are. MT5 has no
  per-user "close only" right: CLOSE_ONLY disables trading like NO_TRADING (the firm closes
  what is open with `close_positions`).
- Closing positions is a dealer request per position (`/api/dealer/send_request`, Action 200,
  TA_DEALER_POS_EXECUTE), its outcome read with `/api/dealer/get_request_result`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from propdesk.core import vault
from propdesk.platforms.models import PlatformCommand, TradingServer
from propdesk.platforms.mt5.client import RATE_LIMIT, TIMEOUT, WebApi, WebApiError
from propdesk.platforms.mt5.ingestor import (
    ACTION_BALANCE,
    LOTS,
    MT5Ingestor,
    deals_of,
    moment,
    positions_of,
)
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

USER_RIGHT_ENABLED = 0x1
USER_RIGHT_PASSWORD = 0x2
USER_RIGHT_TRADE_DISABLED = 0x4
USER_RIGHT_TRAILING = 0x20
USER_RIGHT_EXPERT = 0x40
USER_RIGHT_REPORTS = 0x100
FULL_RIGHTS = (
    USER_RIGHT_ENABLED
    | USER_RIGHT_PASSWORD
    | USER_RIGHT_TRAILING
    | USER_RIGHT_EXPERT
    | USER_RIGHT_REPORTS
)
ACCESS_BITS = {  # (ENABLED, TRADE_DISABLED) for each access level
    Access.FULL: (True, False),
    Access.CLOSE_ONLY: (True, True),
    Access.NO_TRADING: (True, True),
    Access.NO_LOGIN: (False, True),
}
DEALER_POS_EXECUTE = 200
COMMENT_MAX = 32


def marker(key: str) -> str:
    """What marks a command's work at the platform: short, as MT5 comments are."""
    return "pd:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def derived_password(key: str, kind: str = "main") -> str:
    """The password of the account opened under `key` (the same on every attempt): upper,
    lower and digits, as MT5's password rule asks."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"mt5-password:{kind}:{key}".encode(), hashlib.sha256
    ).digest()
    return (
        "Pd"
        + base64.urlsafe_b64encode(digest[:9]).decode().replace("-", "x").replace("_", "y")
        + "7"
    )


class MT5Platform:
    def __init__(self, server: TradingServer) -> None:
        self.server = server
        password = vault.open_sealed(server.sealed_api_key) if server.sealed_api_key else None
        if not password or not server.manager_login:
            raise PlatformError(
                f"The manager login or password of {server.name} is not set or can no longer "
                "be opened: enter them again (Settings > Trading platforms).",
                transient=False,
            )
        timeout = float(getattr(settings, "MT5_TIMEOUT", TIMEOUT))
        limit = int(getattr(settings, "MT5_RATE_LIMIT", RATE_LIMIT))
        self.api = WebApi(
            server.base_url, server.manager_login, password, timeout=timeout, rate_limit=limit
        )

    # --- groups and the connection test ------------------------------------------------------

    def groups(self) -> list[dict[str, Any]]:
        total = int((self.api.get("/api/group/total") or {}).get("total") or 0)
        return [self.api.get("/api/group/next", {"index": i}) or {} for i in range(total)]

    def check_connection(self) -> str:
        groups = self.groups()
        names = ", ".join(str(g.get("Group", "")) for g in groups)
        return f"MT5 answered: {len(groups)} group(s)" + (f" ({names})" if names else "")

    def mt5_group(self, group: str) -> str:
        return (self.server.offers or {}).get(group) or group

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
        name = self.mt5_group(group)
        tag = marker(key)
        password = derived_password(key)
        # The group's users are listed (its whole size) only when an earlier attempt under the
        # key may have made the user: a first attempt of the outbox's command adds at once.
        again = _tried_before(key)
        mine = self._user_marked(name, tag) if again else None
        if mine is None:
            try:
                found = self.api.get("/api/group/get", {"group": name}) or {}
            except WebApiError as missing:
                if missing.code != "13":
                    raise
                raise PlatformError(
                    f"MT5 has no group {name} (for propdesk's group {group}): map the group to "
                    "one of the server's (Settings > Trading platforms).",
                    transient=False,
                    answer=missing.answer,
                ) from None
            if found.get("Currency") and found["Currency"] != currency:
                raise PlatformError(
                    f"The MT5 group {name} is in {found['Currency']}, the account in {currency}.",
                    transient=False,
                )
            owner = owner or AccountOwner(email="")
            record = {
                "Login": 0,
                "Group": name,
                "Leverage": int(leverage),
                "Rights": FULL_RIGHTS,
                "Name": f"{owner.first_name} {owner.last_name}".strip() or owner.email,
                "Email": owner.email,
                "Country": owner.country,
                "Comment": tag,
            }
            query = {"pass_main": password, "pass_investor": derived_password(key, "investor")}
            try:
                mine = self.api.post("/api/user/add", query, record) or {}
            except WebApiError:
                # Made meanwhile by an attempt whose answer was lost? Then it is found.
                mine = self._user_marked(name, tag)
                if mine is None:
                    raise
                again = True
        login = str(mine["Login"])
        if balance > 0:
            # A user added by this attempt has no starting deposit yet: none to look for.
            self._balance_once(
                login, balance, comment or "Starting balance", f"{key}:start", again=again
            )
        return Credentials(login=login, password=password, server=self.server.name)

    def _user_marked(self, group: str, tag: str) -> dict[str, Any] | None:
        users = self.api.get("/api/user/get_batch", {"group": group}) or []
        return next((u for u in users if str(u.get("Comment") or "").startswith(tag)), None)

    # --- money -------------------------------------------------------------------------------

    def balance_operation(
        self, login: str, amount: Decimal, comment: str, *, key: str
    ) -> DealRecord:
        if not amount:
            raise PlatformError("A balance operation of 0 changes nothing.", transient=False)
        return _record(self._balance_once(login, amount, comment, key, again=_tried_before(key)))

    def _balance_once(
        self, login: str, amount: Decimal, comment: str, key: str, *, again: bool
    ) -> dict[str, Any]:
        """The balance deal marked with `key`'s marker, made unless an earlier attempt made it
        (looked for in the account's whole history only when there may have been one: `again`)."""
        tag = marker(key)
        found = self._deal_marked(login, tag) if again else None
        if found is None:
            answer = self.api.get(
                "/api/trade/balance",
                {
                    "login": login,
                    "type": ACTION_BALANCE,
                    "balance": str(amount),
                    "comment": f"{tag} {comment}".strip()[:COMMENT_MAX],
                    "check_margin": 1,
                },
            )
            found = self._deal_marked(login, tag) if again else None
            if found is None:  # the deal as the answer's ticket names it
                found = {
                    "Deal": str((answer or {}).get("ticket") or key),
                    "Action": str(ACTION_BALANCE),
                    "Profit": str(amount),
                    "Comment": f"{tag} {comment}"[:COMMENT_MAX],
                    "TimeMsc": str(int(timezone.now().timestamp() * 1000)),
                }
        return found

    def _deal_marked(self, login: str, tag: str) -> dict[str, Any] | None:
        for deal in self._deals(login):
            if str(deal.get("Action")) == str(ACTION_BALANCE) and str(
                deal.get("Comment") or ""
            ).startswith(tag):
                return deal
        return None

    def _deals(self, login: str) -> list[dict[str, Any]]:
        until = timezone.now() + timedelta(days=1)
        return deals_of(self.api, [login], datetime(2000, 1, 1, tzinfo=UTC), until)

    # --- access and positions ----------------------------------------------------------------

    def set_access(self, login: str, access: Access, *, reason: str = "") -> None:
        enabled, trade_disabled = ACCESS_BITS[Access(access)]
        user = self.api.get("/api/user/get", {"login": login}) or {}
        rights = int(user.get("Rights") or 0)
        wanted = rights & ~(USER_RIGHT_ENABLED | USER_RIGHT_TRADE_DISABLED)
        wanted |= (USER_RIGHT_ENABLED if enabled else 0) | (
            USER_RIGHT_TRADE_DISABLED if trade_disabled else 0
        )
        if wanted != rights:
            self.api.post("/api/user/update", {"login": login}, {"Rights": wanted})

    def close_positions(self, login: str, *, reason: str = "") -> int:
        before = positions_of(self.api, [login]).get(login, [])
        refused = []
        for position in before:
            buy = str(position.get("Action")) == "0"
            sent = (
                self.api.post(
                    "/api/dealer/send_request",
                    None,
                    {
                        "Action": DEALER_POS_EXECUTE,
                        "Login": int(login),
                        "Symbol": position["Symbol"],
                        "Volume": int(position["Volume"]),
                        "Type": 1 if buy else 0,  # the opposite order closes it
                        "Position": int(position["Position"]),
                        "Comment": (reason or "Closed by propdesk")[:COMMENT_MAX],
                    },
                )
                or {}
            )
            result = self.api.get("/api/dealer/get_request_result", {"id": sent.get("id")}) or {}
            code = str((result.get("result") or {}).get("Retcode") or "")
            if not code.startswith("10009"):
                refused.append(code or str(result))
        after = positions_of(self.api, [login]).get(login, [])
        if refused and after:
            raise PlatformError(
                f"MT5 did not close every position of {login}.",
                transient=True,
                answer="; ".join(refused),
            )
        return len(before) - len(after)

    def account_state(self, login: str) -> AccountState:
        accounts = self.api.get("/api/user/account/get_batch", {"login": login}) or []
        if not accounts:
            raise PlatformError(f"MT5 has no account {login}.", transient=False)
        account = accounts[0]
        user = self.api.get("/api/user/get", {"login": login}) or {}
        group = self.api.get("/api/group/get", {"group": user.get("Group", "")}) or {}
        places = Decimal(1).scaleb(-int(account.get("CurrencyDigits") or 2))
        money = lambda name: Decimal(str(account.get(name) or 0)).quantize(places)  # noqa: E731
        rights = int(user.get("Rights") or 0)
        positions = [
            OpenPosition(
                position=str(p["Position"]),
                symbol=str(p["Symbol"]),
                side="buy" if str(p["Action"]) == "0" else "sell",
                volume=Decimal(str(p["Volume"])) / LOTS,
                open_price=Decimal(str(p["PriceOpen"])),
                current_price=Decimal(str(p.get("PriceCurrent") or 0)),
                sl=Decimal(str(p["PriceSL"])) if Decimal(str(p.get("PriceSL") or 0)) else None,
                tp=Decimal(str(p["PriceTP"])) if Decimal(str(p.get("PriceTP") or 0)) else None,
                profit=Decimal(str(p.get("Profit") or 0)).quantize(places),
                opened_at=moment(p.get("TimeCreateMsc"), p.get("TimeCreate")),
            )
            for p in positions_of(self.api, [login]).get(login, [])
        ]
        return AccountState(
            login=str(account["Login"]),
            currency=str(group.get("Currency", "")),
            balance=money("Balance"),
            equity=money("Equity"),
            margin=money("Margin"),
            free_margin=money("MarginFree"),
            trading_enabled=bool(rights & USER_RIGHT_ENABLED)
            and not rights & USER_RIGHT_TRADE_DISABLED,
            positions=tuple(positions),
        )

    def trade_history(self, login: str) -> Sequence[DealRecord]:
        """Every deal of the account: balance deals, each position's `in`, each close."""
        return [_record(d) for d in self._deals(login) if str(d.get("Action")) in ("0", "1", "2")]

    def ingestor(self) -> Ingestor:
        return MT5Ingestor(self.server, self.api)


def _tried_before(key: str) -> bool:
    """Whether an attempt under `key` may have run before this one: unless it is the first
    attempt of a platform command (a key of no command may have been used before)."""
    attempts = PlatformCommand.objects.filter(key=key).values_list("attempts", flat=True).first()
    return attempts is None or attempts > 1


def _record(deal: dict[str, Any]) -> DealRecord:
    action = str(deal.get("Action"))
    balance = action == str(ACTION_BALANCE)
    return DealRecord(
        deal=str(deal.get("Deal", "")),
        at=moment(deal.get("TimeMsc"), deal.get("Time")),
        kind="balance" if balance else ("buy" if action == "0" else "sell"),
        entry="" if balance else ("in" if str(deal.get("Entry")) == "0" else "out"),
        position="" if balance else str(deal.get("PositionID", "")),
        symbol=str(deal.get("Symbol") or ""),
        volume=Decimal(str(deal.get("Volume") or 0)) / LOTS,
        price=Decimal(str(deal.get("Price") or 0)),
        profit=Decimal(str(deal.get("Profit") or 0)),
        comment=str(deal.get("Comment") or ""),
    )
