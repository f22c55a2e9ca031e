"""The fake Match-Trader's books: user accounts, trading accounts, open and closed positions,
ledger entries and the log of access changes, kept in memory and, when a state file is given,
written to it (JSON, atomically) after every change, so that a restarted fake goes on where it
stopped. Equity is not stored: it is computed from the market whenever an account is read.

The shapes follow Match-Trader's Broker API v2 documentation (see the package's docstring for
the pages); where the documentation does not say, the choice is marked "fake's choice".
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from propdesk.platforms.matchtrader.fake.basics import (
    CENT,
    FIRST_LOGIN,
    MAY_CLOSE,
    MAY_OPEN,
    ApiError,
    Offer,
    bad_request,
    not_found,
    now_iso,
    number,
)
from propdesk.platforms.matchtrader.fake.market import INSTRUMENTS, Market, floating_profit, margin


def _empty() -> dict[str, Any]:
    return {
        "users": {},
        "accounts": {},
        "positions": {},
        "closed": [],
        "ledger": [],
        "access_log": [],
        "seq": 0,
        "next_login": FIRST_LOGIN,
        "prices": {},
    }


class Book:
    """Everything the fake platform holds, behind one lock."""

    def __init__(self, offers: tuple[Offer, ...], market: Market, state_file: Path | None = None):
        self.lock = threading.RLock()
        self.offers = tuple(offers)
        self.groups = {o.group: o for o in self.offers}
        self.market = market
        self.state_file = state_file
        self.state = _empty()
        if state_file is not None and state_file.exists():
            self.state.update(json.loads(state_file.read_text()))
            for symbol, bid in self.state["prices"].items():
                market.set_bid(symbol, Decimal(bid))

    # --- keeping it --------------------------------------------------------------------------

    def save(self) -> None:
        """Write the state file (if any) atomically: a new file renamed over the old one."""
        if self.state_file is None:
            return
        with self.lock:
            self.state["prices"] = {s: str(b) for s, b in self.market.bids().items()}
            text = json.dumps(self.state, indent=1, sort_keys=True)
        folder = self.state_file.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".fake-mt-", suffix=".json")
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(temporary, self.state_file)

    def reset(self) -> None:
        with self.lock:
            prices = self.state["prices"]
            self.state = _empty()
            self.state["prices"] = prices
        self.save()

    def _next(self, prefix: str = "W") -> str:
        self.state["seq"] += 1
        return f"{prefix}{self.state['seq']:013d}"

    # --- user accounts -----------------------------------------------------------------------

    def user_by_email(self, email: str) -> dict[str, Any]:
        with self.lock:
            for user in self.state["users"].values():
                if user["email"].lower() == email.lower():
                    return user
        raise not_found(f"User account with email {email} not found", "user-account/not-found")

    def user(self, user_uuid: str) -> dict[str, Any]:
        with self.lock:
            found = self.state["users"].get(user_uuid)
        if found is None:
            raise not_found(f"User account {user_uuid} not found", "user-account/not-found")
        return dict(found)

    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(self.state["users"].values(), key=lambda u: u["created"])

    def create_user(self, email: str, password: str) -> dict[str, Any]:
        with self.lock:
            try:
                self.user_by_email(email)
            except ApiError:
                pass
            else:
                raise ApiError(
                    409,
                    "Conflict",
                    f"User account {email} already exists",
                    "user-account/already-exists",
                )
            moment = now_iso()
            user = {
                "uuid": str(uuid.uuid4()),
                "created": moment,
                "updated": moment,
                "brokerId": 0,
                "email": email,
                "password": _hashed(password),
            }
            self.state["users"][user["uuid"]] = user
        self.save()
        return user

    def change_password(self, user_uuid: str, password: str) -> None:
        with self.lock:
            user = self.state["users"].get(user_uuid)
            if user is None:
                raise not_found(f"User account {user_uuid} not found", "user-account/not-found")
            user["password"] = _hashed(password)
            user["updated"] = now_iso()
        self.save()

    # --- trading accounts --------------------------------------------------------------------

    def account(self, login: str) -> dict[str, Any]:
        with self.lock:
            found = self.state["accounts"].get(str(login))
        if found is None:
            raise not_found(f"Trading account {login} not found", "trading-account/not-found")
        return found

    def create_account(self, user_uuid: str, spec: dict[str, Any]) -> dict[str, Any]:
        """`spec`: group, leverageRatioPercent, accountType, accessRight, isProView,
        accountDetails, remarks, login (optional), initialDeposit/initialCredit amounts."""
        with self.lock:
            self.user(user_uuid)
            offer = self.groups.get(spec["group"])
            if offer is None:
                raise bad_request(f"Group {spec['group']} does not exist", "group/not-found")
            login = str(spec.get("login") or self.state["next_login"])
            if login in self.state["accounts"]:
                raise ApiError(
                    409, "Conflict", f"Login {login} is taken", "trading-account/already-exists"
                )
            self.state["next_login"] = max(self.state["next_login"], int(login)) + 1
            moment = now_iso()
            self.state["accounts"][login] = {
                "uuid": str(uuid.uuid4()),
                "login": login,
                "userAccountUuid": user_uuid,
                "created": moment,
                "updated": moment,
                "group": offer.group,
                "currency": offer.currency,
                "leverageRatioPercent": int(spec["leverageRatioPercent"]),
                "accessRight": spec.get("accessRight") or "FULL",
                "isProView": bool(spec.get("isProView", False)),
                "accountType": spec["accountType"],
                "accountDetails": spec.get("accountDetails") or {},
                "remarks": spec.get("remarks") or "",
                "balance": "0",
                "credit": "0",
                "version": 1,
            }
            self._log_access(login, self.state["accounts"][login])
            for kind, amount in (
                ("DEPOSIT", spec.get("initialDeposit")),
                ("CREDIT_IN", spec.get("initialCredit")),
            ):
                if amount:
                    self._post_ledger(login, kind, Decimal(amount), "Initial deposit", "NONE")
        self.save()
        return self.view(login)

    def update_account(self, login: str, changes: dict[str, Any], version: int) -> None:
        """Optimistic locking: `version` must be the account's current one, or the update is
        refused (409) and the caller reads the account again."""
        with self.lock:
            account = self.account(login)
            if version != account["version"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f"Trading account {login} was changed: version {version} is stale, "
                    f"the current one is {account['version']}",
                    "trading-account/version-mismatch",
                )
            if "group" in changes and changes["group"] not in self.groups:
                raise bad_request(f"Group {changes['group']} does not exist", "group/not-found")
            before = account["accessRight"]
            account.update(changes)
            account["version"] += 1
            account["updated"] = now_iso()
            if account["accessRight"] != before:
                self._log_access(login, account)
        self.save()

    def delete_account(self, login: str) -> None:
        with self.lock:
            self.account(login)
            del self.state["accounts"][str(login)]
            for pid in [p for p, pos in self.state["positions"].items() if pos["login"] == login]:
                del self.state["positions"][pid]
        self.save()

    def _log_access(self, login: str, account: dict[str, Any]) -> None:
        self.state["access_log"].append(
            {
                "login": login,
                "accessRight": account["accessRight"],
                "version": account["version"],
                "at": now_iso(),
            }
        )

    def access_log(self, login: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.state["access_log"] if login is None or e["login"] == login]

    def logins(self, *, group: str | None = None, rights: set[str] | None = None) -> list[str]:
        with self.lock:
            accounts = sorted(self.state["accounts"].values(), key=lambda a: int(a["login"]))
            return [
                a["login"]
                for a in accounts
                if (group is None or a["group"] == group)
                and (not rights or a["accessRight"] in rights)
            ]

    def user_logins(self, user_uuid: str) -> list[str]:
        self.user(user_uuid)
        with self.lock:
            return [
                a["login"]
                for a in self.state["accounts"].values()
                if a["userAccountUuid"] == user_uuid
            ]

    def views(self, logins: list[str]) -> list[dict[str, Any]]:
        """Several accounts as `view` shows each, the open positions sorted out once."""
        with self.lock:
            held = self._open_by_login()
            return [self.view(login, held.get(login, [])) for login in logins]

    def view(
        self, login: str, open_positions: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """A trading account as the API shows it, with its finances valued now."""
        with self.lock:
            a = self.account(login)
            positions = self._open_of(login) if open_positions is None else open_positions
            currency = a["currency"]
            leverage = Decimal(a["leverageRatioPercent"]) / 100
            floating = sum(
                (self._profit(p, currency)[0] for p in positions), start=Decimal(0)
            ).quantize(CENT)
            held = sum(
                (
                    margin(
                        self.market,
                        symbol=p["symbol"],
                        volume=Decimal(p["volume"]),
                        leverage=leverage,
                        currency=currency,
                    )
                    for p in positions
                ),
                start=Decimal(0),
            ).quantize(CENT)
            balance, credit = Decimal(a["balance"]), Decimal(a["credit"])
            equity = balance + credit + floating
            return {
                "uuid": a["uuid"],
                "created": a["created"],
                "updated": a["updated"],
                "brokerId": 0,
                "login": a["login"],
                "group": a["group"],
                "leverageRatioPercent": a["leverageRatioPercent"],
                "accessRight": a["accessRight"],
                "isProView": a["isProView"],
                "accountType": a["accountType"],
                "accountDetails": a["accountDetails"],
                "remarks": a["remarks"],
                "financeInfo": {
                    "balance": number(balance),
                    "equity": number(equity),
                    "profit": number(floating),
                    "netProfit": number(floating),
                    "margin": number(held),
                    "freeMargin": number(equity - held),
                    "marginLevel": number((equity * 100 / held).quantize(CENT)) if held else 0,
                    "credit": number(credit),
                    "currency": currency,
                    "currencyPrecision": 2,
                },
                "missingInTradingSystem": False,
                "version": a["version"],
            }

    # --- money -------------------------------------------------------------------------------

    def balance_operation(
        self, login: str, kind: str, amount: Decimal, comment: str, additional: str
    ) -> None:
        """DEPOSIT, WITHDRAWAL, CREDIT_IN or CREDIT_OUT of a positive amount."""
        with self.lock:
            account = self.account(login)
            field_ = "credit" if kind.startswith("CREDIT") else "balance"
            if kind in ("WITHDRAWAL", "CREDIT_OUT") and amount > Decimal(account[field_]):
                raise bad_request(
                    f"Not enough funds on {login} to take {amount}", "insufficient-funds"
                )
            signed = -amount if kind in ("WITHDRAWAL", "CREDIT_OUT") else amount
            self._post_ledger(login, kind, signed, comment, additional)
        self.save()

    def _post_ledger(
        self, login: str, kind: str, signed: Decimal, comment: str, additional: str = "NONE"
    ) -> None:
        """One ledger entry moving the balance (or the credit) by `signed`."""
        account = self.state["accounts"][login]
        signed = signed.quantize(CENT)
        field_ = "credit" if kind.startswith("CREDIT") else "balance"
        account[field_] = str(Decimal(account[field_]) + signed)
        self.state["ledger"].append(
            {
                "id": str(uuid.uuid4()),
                "login": login,
                "type": kind,
                "additionalType": additional,
                "time": now_iso(),
                "profit": str(signed),
                "comment": comment,
            }
        )

    def ledgers(
        self,
        logins: list[str],
        types: list[str],
        since: datetime | None,
        until: datetime | None,
        limit: int | None,
    ) -> list[dict[str, Any]]:
        with self.lock:
            rows = [
                e
                for e in self.state["ledger"]
                if e["login"] in logins
                and (not types or e["type"] in types)
                and _within(e["time"], since, until)
            ]
        rows = rows[:limit] if limit else rows
        return [{**e, "profit": number(Decimal(e["profit"]))} for e in rows]

    # --- positions ---------------------------------------------------------------------------

    def _open_of(self, login: str) -> list[dict[str, Any]]:
        return [p for p in self.state["positions"].values() if p["login"] == login]

    def _open_by_login(self) -> dict[str, list[dict[str, Any]]]:
        """Every open position, by account, in one pass (a list of 1,000 accounts looked for
        each one's positions among all of them: a million comparisons)."""
        held: dict[str, list[dict[str, Any]]] = {}
        for position in self.state["positions"].values():
            held.setdefault(position["login"], []).append(position)
        return held

    def _profit(self, position: dict[str, Any], currency: str) -> tuple[Decimal, Decimal]:
        return floating_profit(
            self.market,
            symbol=position["symbol"],
            side=position["side"],
            volume=Decimal(position["volume"]),
            open_price=Decimal(position["openPrice"]),
            currency=currency,
        )

    def open_position(
        self,
        login: str,
        symbol: str,
        side: str,
        volume: Decimal,
        sl: Decimal | None = None,
        tp: Decimal | None = None,
        price: Decimal | None = None,
    ) -> dict[str, Any] | None:
        """Open at the market (a buy at the ask, a sell at the bid) or at `price`; None when
        the account's access right forbids it (the platform answers REJECTED)."""
        if symbol not in INSTRUMENTS:
            raise bad_request(f"Symbol {symbol} does not exist in the group", "symbol/not-found")
        if side not in ("BUY", "SELL"):
            raise bad_request(f"orderSide is BUY or SELL, not {side!r}")
        if volume <= 0 or volume != volume.quantize(CENT) or volume > 100:
            raise bad_request(f"volume {volume} is not a volume (0.01 to 100, step 0.01)")
        with self.lock:
            account = self.account(login)
            if account["accessRight"] not in MAY_OPEN:
                return None
            bid, ask = self.market.quote(symbol)
            opened = price if price is not None else (ask if side == "BUY" else bid)
            pid = self._next()
            position = {
                "id": pid,
                "orderId": pid,
                "login": login,
                "symbol": symbol,
                "side": side,
                "volume": str(volume),
                "openPrice": str(opened),
                "openTime": now_iso(),
                "stopLoss": str(sl) if sl is not None else None,
                "takeProfit": str(tp) if tp is not None else None,
            }
            self.state["positions"][pid] = position
        self.save()
        return position

    def close_position(
        self,
        login: str,
        position_id: str,
        *,
        volume: Decimal | None = None,
        price: Decimal | None = None,
        trader: bool = False,
    ) -> dict[str, Any] | None:
        """Close a position (or `volume` of it) at the market or at `price`: its net profit
        goes to the balance (a CLOSED_POSITION ledger entry) and a closed-position record is
        kept. None when a trader's access right forbids it."""
        with self.lock:
            account = self.account(login)
            position = self.state["positions"].get(position_id)
            if position is None or position["login"] != login:
                raise not_found(
                    f"Position {position_id} not found on {login}", "position/not-found"
                )
            if trader and account["accessRight"] not in MAY_CLOSE:
                return None
            held = Decimal(position["volume"])
            part = held if volume is None or volume >= held else volume
            if part <= 0:
                raise bad_request(f"volume {volume} is not a volume to close")
            _, market_close = self._profit(position, account["currency"])
            closed_at = price if price is not None else market_close
            profit = _profit_at(position, closed_at, account["currency"], self.market)
            profit = (profit * part / held).quantize(CENT)
            record = {
                "id": position_id,
                "uid": str(uuid.uuid4()),
                "login": login,
                "openTime": position["openTime"],
                "openPrice": position["openPrice"],
                "symbol": position["symbol"],
                "alias": position["symbol"],
                "volume": str(part),
                "stopLoss": position["stopLoss"],
                "takeProfit": position["takeProfit"],
                "closeTime": now_iso(),
                "closePrice": str(closed_at),
                "commission": "0",
                "swap": "0",
                "profit": str(profit),
                "side": position["side"],
                "netProfit": str(profit),
                "orderId": self._next(),
            }
            self.state["closed"].append(record)
            self._post_ledger(login, "CLOSED_POSITION", profit, f"Closed {position_id}")
            if part == held:
                del self.state["positions"][position_id]
            else:
                position["volume"] = str(held - part)
        self.save()
        return record

    def open_positions(self, logins: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            answer = []
            held = self._open_by_login()
            for login in logins:
                if login not in self.state["accounts"]:
                    continue
                currency = self.state["accounts"][login]["currency"]
                rows = []
                for p in held.get(login, []):
                    profit, current = self._profit(p, currency)
                    rows.append(_position_view(p, profit.quantize(CENT), current))
                answer.append({"login": login, "positions": rows})
            return answer

    def closed_positions(
        self, logins: list[str], since: datetime, until: datetime, limit: int | None
    ) -> list[dict[str, Any]]:
        """Closed positions (each partial close its own record) by close time; the records
        carry no login (fake's choice, as observed of the platform): ask for one login when
        the owner matters."""
        with self.lock:
            rows = [
                c
                for c in self.state["closed"]
                if c["login"] in logins and _within(c["closeTime"], since, until)
            ]
        rows = rows[:limit] if limit else rows
        numeric = (
            "openPrice",
            "volume",
            "stopLoss",
            "takeProfit",
            "closePrice",
            "commission",
            "swap",
            "profit",
            "netProfit",
        )
        return [
            {
                k: (number(Decimal(v)) if k in numeric and v is not None else v)
                for k, v in c.items()
                if k != "login"
            }
            for c in rows
        ]

    def position_ids(self, login: str) -> list[str]:
        with self.lock:
            return [p["id"] for p in self._open_of(login)]


def _profit_at(position: dict[str, Any], price: Decimal, currency: str, market: Market) -> Decimal:
    instrument = INSTRUMENTS[position["symbol"]]
    move = price - Decimal(position["openPrice"])
    if position["side"] == "SELL":
        move = -move
    rate = Decimal(1) if currency == instrument.quote_currency else market.usd_to(currency)
    return move * Decimal(position["volume"]) * instrument.contract_size * rate


def _position_view(p: dict[str, Any], profit: Decimal, current: Decimal) -> dict[str, Any]:
    return {
        "id": p["id"],
        "symbol": p["symbol"],
        "alias": p["symbol"],
        "volume": number(Decimal(p["volume"])),
        "side": p["side"],
        "openTime": p["openTime"],
        "openPrice": number(Decimal(p["openPrice"])),
        "stopLoss": number(Decimal(p["stopLoss"])) if p["stopLoss"] else 0,
        "takeProfit": number(Decimal(p["takeProfit"])) if p["takeProfit"] else 0,
        "swap": 0,
        "profit": number(profit),
        "netProfit": number(profit),
        "currentPrice": number(current),
        "commission": 0,
    }


def _within(moment: str, since: datetime | None, until: datetime | None) -> bool:
    at = datetime.fromisoformat(moment)
    return (since is None or at >= since) and (until is None or at <= until)


def _hashed(password: str) -> str:
    # The fake never needs the password back; it keeps a digest, as any platform would.
    return hashlib.sha256(password.encode()).hexdigest()
