"""The fake MT5 server's books: users (accounts) in groups, their deals and open positions, and
each change of their rights. Standard library only (it plays the vendor).

Records are kept with the field names of the MT5 Web API's JSON (IMTUser, IMTAccount, IMTDeal,
IMTPosition: `Login`, `Group`, `Rights`, `Balance`, `Deal`, `Action`, `Entry`, `PositionID`...).
Numbers are written as strings in the answers, as the Web API does. Volumes are in the API's
unit, 1/10000 of a lot (`Volume` 10000 is 1.00 lot).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from propdesk.platforms.matchtrader.fake.market import (
    CURRENCIES,
    INSTRUMENTS,
    Market,
    floating_profit,
    margin,
)

# IMTUser::EnUsersRights (the bits this fake acts on; the others are kept as given)
USER_RIGHT_ENABLED = 0x1
USER_RIGHT_PASSWORD = 0x2
USER_RIGHT_TRADE_DISABLED = 0x4
USER_RIGHT_INVESTOR = 0x8
USER_RIGHT_CONFIRMED = 0x10
USER_RIGHT_TRAILING = 0x20
USER_RIGHT_EXPERT = 0x40
USER_RIGHT_REPORTS = 0x100
USER_RIGHT_DEFAULT = (
    USER_RIGHT_ENABLED
    | USER_RIGHT_PASSWORD
    | USER_RIGHT_TRAILING
    | USER_RIGHT_EXPERT
    | USER_RIGHT_REPORTS
)
# IMTDeal::EnDealAction and EnDealEntry
DEAL_BUY, DEAL_SELL, DEAL_BALANCE, DEAL_CREDIT = 0, 1, 2, 3
ENTRY_IN, ENTRY_OUT = 0, 1
LOTS = Decimal(10000)  # Volume units per lot
COMMENT_MAX = 32  # IMTDeal and IMTUser comments: 32 characters
FIRST_LOGIN = 500001


class Refused(Exception):
    """A request the server refuses with a retcode ("13 Not found"...)."""

    def __init__(self, retcode: str) -> None:
        super().__init__(retcode)
        self.retcode = retcode


@dataclass(frozen=True)
class Group:
    name: str
    currency: str = "USD"
    leverage: int = 100


DEFAULT_GROUPS = (
    Group("demo\\challenge", "USD", 100),
    Group("real\\funded", "USD", 100),
)


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _now_ms() -> int:
    return int(time.time() * 1000)


class Book:
    """Every user, deal and position of the server; thread-safe; saved to `state_file`."""

    def __init__(
        self, groups: tuple[Group, ...], market: Market, state_file: Path | None = None
    ) -> None:
        self.groups = {g.name: g for g in groups}
        self.market = market
        self.state_file = state_file
        self.lock = threading.RLock()
        self.users: dict[int, dict[str, Any]] = {}
        self.deals: list[dict[str, Any]] = []
        self.positions: dict[int, dict[str, Any]] = {}
        self.access_log: list[dict[str, Any]] = []
        self.next_login = FIRST_LOGIN
        # The trade server's clock ahead of UTC, in seconds. MT5's times are the broker's server
        # clock written as epoch seconds, not UTC (most brokers run GMT+2, GMT+3 in summer), and
        # a history request's from/to are read on that clock too:
        # https://pypi.org/project/brokerclock/  (0 by default: the fake's clock is UTC)
        self.clock_offset = 0
        self.next_ticket = 1000
        self.load()

    # --- state -------------------------------------------------------------------------------

    def load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        data = json.loads(self.state_file.read_text())
        with self.lock:
            self.users = {int(k): v for k, v in data["users"].items()}
            self.deals = data["deals"]
            self.positions = {int(k): v for k, v in data["positions"].items()}
            self.access_log = data.get("access_log", [])
            self.next_login = data["next_login"]
            self.next_ticket = data["next_ticket"]

    def save(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            data = {
                "users": self.users,
                "deals": self.deals,
                "positions": self.positions,
                "access_log": self.access_log,
                "next_login": self.next_login,
                "next_ticket": self.next_ticket,
            }
            temp = self.state_file.with_suffix(".tmp")
            temp.write_text(json.dumps(data))
            temp.replace(self.state_file)

    def reset(self) -> None:
        with self.lock:
            self.users.clear()
            self.deals.clear()
            self.positions.clear()
            self.access_log.clear()
            self.save()

    def _ticket(self) -> int:
        self.next_ticket += 1
        return self.next_ticket

    # --- users -------------------------------------------------------------------------------

    def user(self, login: int) -> dict[str, Any]:
        found = self.users.get(login)
        if found is None:
            raise Refused("13 Not found")
        return found

    def add_user(
        self, record: dict[str, Any], pass_main: str, pass_investor: str
    ) -> dict[str, Any]:
        group = str(record.get("Group") or "")
        if group not in self.groups:
            raise Refused("3 Invalid parameters")  # an unknown group
        if len(pass_main) < 8 or not any(c.isdigit() for c in pass_main):
            raise Refused("3006 Invalid password")  # chosen: the password rule MT5 applies
        try:
            leverage = int(record.get("Leverage") or self.groups[group].leverage)
            rights = int(record.get("Rights") or USER_RIGHT_DEFAULT)
        except (TypeError, ValueError):
            raise Refused("3 Invalid parameters") from None
        comment = str(record.get("Comment") or "")
        if len(comment) > COMMENT_MAX or not 1 <= leverage <= 10000:
            raise Refused("3 Invalid parameters")
        with self.lock:
            login = int(record.get("Login") or 0)
            if login and login in self.users:
                raise Refused("3004 User with the same login already exists")
            if not login:
                login = self.next_login
                self.next_login += 1
            user = {
                "Login": str(login),
                "Group": group,
                "Name": str(record.get("Name") or "")[:128],
                "Email": str(record.get("Email") or "")[:64],
                "Country": str(record.get("Country") or "")[:32],
                "Comment": comment,
                "Leverage": str(leverage),
                "Rights": str(rights),
                "Registration": str(int(time.time())),
                "Balance": "0.00",
                "_pass": pass_main,
                "_investor": pass_investor,
            }
            self.users[login] = user
            self._log_access(login, rights)
            self.save()
            return user

    def update_user(self, login: int, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = self.user(login)
            if "Rights" in changes:
                try:
                    rights = int(changes["Rights"])
                except (TypeError, ValueError):
                    raise Refused("3 Invalid parameters") from None
                if rights < 0:
                    raise Refused("3 Invalid parameters")
                if str(rights) != user["Rights"]:
                    user["Rights"] = str(rights)
                    self._log_access(login, rights)
            for name in ("Name", "Email", "Comment", "Leverage"):
                if name in changes:
                    text = str(changes[name])
                    if name == "Comment" and len(text) > COMMENT_MAX:
                        raise Refused("3 Invalid parameters")
                    user[name] = text
            self.save()
            return user

    def _log_access(self, login: int, rights: int) -> None:
        self.access_log.append(
            {
                "login": str(login),
                "rights": rights,
                "enabled": bool(rights & USER_RIGHT_ENABLED),
                "trade_disabled": bool(rights & USER_RIGHT_TRADE_DISABLED),
                "at": time.time(),
            }
        )

    def currency(self, login: int) -> str:
        return self.groups[self.user(login)["Group"]].currency

    def account(self, login: int) -> dict[str, Any]:
        """IMTAccount: the user's trade state now."""
        with self.lock:
            user = self.user(login)
            currency = self.currency(login)
            floating = Decimal(0)
            held = Decimal(0)
            for p in self._open(login):
                profit, _ = self._value(p, currency)
                floating += profit
                held += margin(
                    self.market,
                    symbol=p["Symbol"],
                    volume=Decimal(p["Volume"]) / LOTS,
                    leverage=Decimal(user["Leverage"]),
                    currency=currency,
                )
            balance = Decimal(user["Balance"])
            equity = balance + floating
            return {
                "Login": user["Login"],
                "CurrencyDigits": "2",
                "Balance": _money(balance),
                "Credit": "0.00",
                "Margin": _money(held),
                "MarginFree": _money(equity - held),
                "MarginLevel": _money(equity * 100 / held) if held else "0.00",
                "Profit": _money(floating),
                "Floating": _money(floating),
                "Equity": _money(equity),
            }

    # --- money -------------------------------------------------------------------------------

    def balance(self, login: int, kind: int, amount: Decimal, comment: str) -> dict[str, Any]:
        if kind not in (DEAL_BALANCE, DEAL_CREDIT) or not amount:
            raise Refused("3 Invalid parameters")
        if len(comment) > COMMENT_MAX:
            raise Refused("3 Invalid parameters")
        with self.lock:
            user = self.user(login)
            balance = Decimal(user["Balance"])
            if amount < 0 and Decimal(self.account(login)["MarginFree"]) + amount < 0:
                raise Refused("10019 Not enough money")
            user["Balance"] = _money(balance + amount)
            deal = self._deal(login, kind, ENTRY_IN, "", 0, Decimal(0), amount, comment, 0)
            self.save()
            return deal

    def _deal(
        self,
        login: int,
        action: int,
        entry: int,
        symbol: str,
        volume: int,
        price: Decimal,
        profit: Decimal,
        comment: str,
        position: int,
    ) -> dict[str, Any]:
        moment = _now_ms() + int(self.clock_offset * 1000)
        deal = {
            "Deal": str(self._ticket()),
            "Login": str(login),
            "Action": str(action),
            "Entry": str(entry),
            "Symbol": symbol,
            "Volume": str(volume),
            "Price": str(price),
            "Profit": _money(profit),
            "Commission": "0.00",
            "Storage": "0.00",
            "Comment": comment,
            "PositionID": str(position),
            "Time": str(moment // 1000),
            "TimeMsc": str(moment),
        }
        self.deals.append(deal)
        return deal

    def deals_of(self, logins: set[int] | None, since: int, until: int) -> list[dict[str, Any]]:
        """Deals of those logins (every login: None) whose Time is within [since, until]."""
        with self.lock:
            return [
                dict(d)
                for d in self.deals
                if (logins is None or int(d["Login"]) in logins)
                and since <= int(d["Time"]) <= until
            ]

    # --- positions ---------------------------------------------------------------------------

    def _open(self, login: int) -> list[dict[str, Any]]:
        return [p for p in self.positions.values() if int(p["Login"]) == login]

    def _value(self, p: dict[str, Any], currency: str) -> tuple[Decimal, Decimal]:
        return floating_profit(
            self.market,
            symbol=p["Symbol"],
            side="BUY" if p["Action"] == str(DEAL_BUY) else "SELL",
            volume=Decimal(p["Volume"]) / LOTS,
            open_price=Decimal(p["PriceOpen"]),
            currency=currency,
        )

    def positions_of(self, logins: set[int] | None) -> list[dict[str, Any]]:
        with self.lock:
            found = []
            for p in self.positions.values():
                login = int(p["Login"])
                if logins is not None and login not in logins:
                    continue
                profit, current = self._value(p, self.currency(login))
                found.append({**p, "PriceCurrent": str(current), "Profit": _money(profit)})
            return found

    def open_position(
        self, login: int, symbol: str, side: str, volume: int, price: Decimal | None = None
    ) -> dict[str, Any]:
        """As the trader would, from a terminal."""
        if symbol not in INSTRUMENTS or side not in ("buy", "sell") or volume <= 0:
            raise Refused("3 Invalid parameters")
        with self.lock:
            user = self.user(login)
            rights = int(user["Rights"])
            if not rights & USER_RIGHT_ENABLED:
                raise Refused("1002 Account disabled")
            if rights & USER_RIGHT_TRADE_DISABLED:
                raise Refused("10017 Trade disabled")
            bid, ask = self.market.quote(symbol)
            fill = price if price is not None else (ask if side == "buy" else bid)
            action = DEAL_BUY if side == "buy" else DEAL_SELL
            ticket = self._ticket()
            deal = self._deal(login, action, ENTRY_IN, symbol, volume, fill, Decimal(0), "", ticket)
            self.positions[ticket] = {
                "Position": str(ticket),
                "Login": str(login),
                "Symbol": symbol,
                "Action": str(action),
                "Volume": str(volume),
                "PriceOpen": str(fill),
                "PriceSL": "0",
                "PriceTP": "0",
                "TimeCreate": deal["Time"],
                "TimeCreateMsc": deal["TimeMsc"],
            }
            self.save()
            return dict(self.positions[ticket])

    def close_position(
        self,
        login: int,
        ticket: int,
        volume: int | None = None,
        price: Decimal | None = None,
        *,
        as_dealer: bool = False,
        comment: str = "",
    ) -> dict[str, Any]:
        """Close (part of) a position, as the trader or as a dealer (rights not checked)."""
        with self.lock:
            user = self.user(login)
            p = self.positions.get(ticket)
            if p is None or int(p["Login"]) != login:
                raise Refused("13 Not found")
            rights = int(user["Rights"])
            if not as_dealer and not rights & USER_RIGHT_ENABLED:
                raise Refused("1002 Account disabled")
            if not as_dealer and rights & USER_RIGHT_TRADE_DISABLED:
                raise Refused("10017 Trade disabled")
            held = int(p["Volume"])
            part = held if volume is None else volume
            if not 0 < part <= held:
                raise Refused("10014 Invalid volume")
            profit, close = self._value({**p, "Volume": str(part)}, self.currency(login))
            if price is not None:
                close = price
                open_price = Decimal(p["PriceOpen"])
                move = close - open_price if p["Action"] == str(DEAL_BUY) else open_price - close
                profit = move * Decimal(part) / LOTS * INSTRUMENTS[p["Symbol"]].contract_size
            opposite = DEAL_SELL if p["Action"] == str(DEAL_BUY) else DEAL_BUY
            profit = Decimal(profit).quantize(Decimal("0.01"))
            deal = self._deal(
                login, opposite, ENTRY_OUT, p["Symbol"], part, close, profit, comment[:32], ticket
            )
            user["Balance"] = _money(Decimal(user["Balance"]) + profit)
            if part == held:
                del self.positions[ticket]
            else:
                p["Volume"] = str(held - part)
            self.save()
            return deal


def parse_groups(texts: list[str]) -> tuple[Group, ...]:
    """`NAME[:CURRENCY[:LEVERAGE]]` each (the `--group` option)."""
    found = []
    for text in texts:
        parts = text.split(":")
        currency = parts[1] if len(parts) > 1 and parts[1] else "USD"
        if currency not in CURRENCIES:
            raise ValueError(f"{text}: the currency is one of {', '.join(CURRENCIES)}")
        leverage = int(parts[2]) if len(parts) > 2 and parts[2] else 100
        found.append(Group(parts[0], currency, leverage))
    return tuple(found)
