"""The Broker API v2 endpoints the fake answers: the request parsed and checked as the
documentation describes it (400 naming the field otherwise), then done on the book.

Each route is `(method, path pattern, handler)`; a handler takes the book, the path's groups,
the query and the JSON body, and returns `(status, payload)` (payload None for 204).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from propdesk.platforms.matchtrader.fake.basics import (
    ACCESS_RIGHTS,
    LEDGER_TYPES,
    ApiError,
    bad_request,
    now_iso,
    parse_time,
)
from propdesk.platforms.matchtrader.fake.book import Book

Answer = tuple[int, Any]
Handler = Callable[[Book, dict[str, str], dict[str, list[str]], Any], Answer]
PASSWORD_RULE = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,}$")
EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
MAX_PAGE_SIZE = 1000  # the older Broker API's documented ceiling for a page of accounts


class Body:
    """The request's JSON object, read field by field; a missing or malformed field is a 400
    naming it."""

    def __init__(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise bad_request("The request body must be a JSON object")
        self.data = data

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise bad_request(f"{name}: must not be blank")
        return value.strip()

    def optional_text(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise bad_request(f"{name}: must be a string")
        return value

    def amount(self, name: str, *, optional: bool = False) -> Decimal | None:
        value = self.data.get(name)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise bad_request(f"{name}: must be a number")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise bad_request(f"{name}: must be a number") from None
        if not amount.is_finite() or amount <= 0:
            raise bad_request(f"{name}: must be greater than 0")
        return amount

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise bad_request(f"{name}: must be an integer")
        try:
            whole = int(str(value))
        except ValueError:
            raise bad_request(f"{name}: must be an integer") from None
        if whole <= 0:
            raise bad_request(f"{name}: must be greater than 0")
        return whole

    def choice(self, name: str, choices: tuple[str, ...], *, optional: bool = False) -> str:
        value = self.data.get(name)
        if value is None and optional:
            return ""
        if value not in choices:
            raise bad_request(f"{name}: must be one of {', '.join(choices)}")
        return str(value)

    def strings(self, name: str, *, optional: bool = False) -> list[str]:
        value = self.data.get(name)
        if value is None and optional:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise bad_request(f"{name}: must be a list")
        if not value and not optional:
            raise bad_request(f"{name}: must not be empty")
        return [str(v) for v in value]

    def mapping(self, name: str, *, optional: bool = False) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            raise bad_request(f"{name}: must be an object")
        return value


def _page(items: list[Any], query: dict[str, list[str]]) -> dict[str, Any]:
    """A page as the API returns lists: content, totalPages, totalElements, number, size
    (pages counted from 0)."""
    try:
        page = int(query.get("page", ["0"])[0])
        size = int(query.get("size", ["10"])[0])
    except ValueError:
        raise bad_request("page and size must be integers") from None
    if page < 0 or not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"page must be 0 or more and size between 1 and {MAX_PAGE_SIZE}")
    return {
        "content": items[page * size : (page + 1) * size],
        "totalPages": math.ceil(len(items) / size),
        "totalElements": len(items),
        "number": page,
        "size": size,
    }


def _user_view(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in ("uuid", "created", "updated", "brokerId", "email")}


# --- service, offers, groups ----------------------------------------------------------------


def service_info(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    # The older guide's connection test; the platform's answer is not documented (fake's choice).
    return 200, {"name": "Match-Trader Broker API (fake)", "version": "2", "time": now_iso()}


def offers(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    return 200, {
        "offers": [
            {
                "uuid": o.uuid,
                "partnerId": 0,
                "created": "2026-01-01T00:00:00.000Z",
                "updated": "2026-01-01T00:00:00.000Z",
                "name": o.name,
                "currency": o.currency,
                "demo": o.demo,
                "hidden": False,
                "description": o.name,
                "initialDeposit": 0,
                "leverage": o.leverage,
                "verificationRequired": False,
                "tradingAccountAutoCreation": True,
                "groupName": o.group,
                "system": {"uuid": "fake-system", "demo": o.demo, "active": True},
            }
            for o in book.offers
        ]
    }


def group_names(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    return 200, sorted(book.groups)  # the answer's shape is not documented (fake's choice)


# --- user accounts --------------------------------------------------------------------------


def list_users(book: Book, path: dict[str, str], query: dict[str, list[str]], body: Any) -> Answer:
    return 200, _page([_user_view(u) for u in book.users()], query)


def create_user(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    email = body.text("email")
    if not EMAIL.match(email):
        raise bad_request("email: must be a well-formed email address")
    password = body.text("password")
    if not PASSWORD_RULE.match(password):
        raise bad_request(
            "password: use at least one uppercase letter, one lowercase letter and one "
            "number, 8 characters or more"
        )
    return 200, _user_view(book.create_user(email, password))


def user_by_email(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    return 200, _user_view(book.user_by_email(path["email"]))


def user(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    return 200, _user_view(book.user(path["uuid"]))


def change_password(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    password = Body(data).text("newPassword")
    if not PASSWORD_RULE.match(password):
        raise bad_request("newPassword: too weak")
    book.change_password(path["uuid"], password)
    return 204, None


def user_trading_accounts(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    return 200, book.views(book.user_logins(path["uuid"]))


def create_trading_account(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    spec: dict[str, Any] = {
        "group": body.text("group"),
        "leverageRatioPercent": body.integer("leverageRatioPercent"),
        "accountType": body.choice("accountType", ("DEMO", "REAL")),
        "accountDetails": body.mapping("accountDetails"),
        "accessRight": body.choice("accessRight", ACCESS_RIGHTS, optional=True),
        "isProView": bool(body.data.get("isProView", False)),
        "remarks": body.optional_text("remarks"),
        "login": body.optional_text("login"),
    }
    for name in ("initialDeposit", "initialCredit"):
        if body.has(name):
            spec[name] = Body(body.mapping(name)).amount("amount")
    return 200, book.create_account(path["uuid"], spec)


# --- trading accounts -----------------------------------------------------------------------


def list_trading_accounts(
    book: Book, path: dict[str, str], query: dict[str, list[str]], body: Any
) -> Answer:
    rights = set(query.get("accessRightsFilter", []))
    if rights - set(ACCESS_RIGHTS):
        raise bad_request(f"accessRightsFilter: must be among {', '.join(ACCESS_RIGHTS)}")
    group = query.get("group", [None])[0]
    page = _page(book.logins(group=group, rights=rights), query)
    page["content"] = book.views(page["content"])
    return 200, page


def trading_account(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    return 200, book.view(path["login"])


def update_trading_account(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    if not body.has("version"):
        raise bad_request("version: must not be null (optimistic locking)")
    try:
        version = int(str(body.data["version"]))
    except ValueError:
        raise bad_request("version: must be a number") from None
    changes: dict[str, Any] = {}
    if body.has("group"):
        changes["group"] = body.text("group")
    if body.has("leverageRatioPercent"):
        changes["leverageRatioPercent"] = body.integer("leverageRatioPercent")
    if body.has("accessRight"):
        changes["accessRight"] = body.choice("accessRight", ACCESS_RIGHTS)
    if body.has("isProView"):
        changes["isProView"] = bool(body.data["isProView"])
    if body.has("accountDetails"):
        changes["accountDetails"] = body.mapping("accountDetails")
    if "remarks" in body.data:
        changes["remarks"] = body.optional_text("remarks")
    book.update_account(path["login"], changes, version)
    return 204, None


def delete_trading_account(book: Book, path: dict[str, str], query: Any, body: Any) -> Answer:
    book.delete_account(path["login"])
    return 200, {"deleted": True, "errorMessage": None}


_KINDS = {
    "deposit": "DEPOSIT",
    "withdraw": "WITHDRAWAL",
    "credit-in": "CREDIT_IN",
    "credit-out": "CREDIT_OUT",
}


def balance_operation(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    amount = body.amount("amount")
    assert amount is not None
    book.balance_operation(
        path["login"],
        _KINDS[path["kind"]],
        amount,
        body.optional_text("comment"),
        body.optional_text("additionalType") or "NONE",
    )
    return 204, None


# --- trading --------------------------------------------------------------------------------


def open_position(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    volume = body.amount("volume")
    assert volume is not None
    opened = book.open_position(
        body.text("login"),
        body.text("symbol"),
        body.choice("orderSide", ("BUY", "SELL")),
        volume,
        body.amount("slPrice", optional=True),
        body.amount("tpPrice", optional=True),
    )
    if opened is None:
        return 200, {"status": "REJECTED", "orderId": None}
    return 200, {"status": "OK", "orderId": opened["orderId"]}


def close_positions(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    login = body.text("login")
    book.account(login)
    wanted = body.data.get("closePositions")
    if not isinstance(wanted, list) or not wanted:
        raise bad_request("closePositions: must not be empty")
    closed: list[dict[str, Any]] = []
    for item in wanted:
        position_id = Body(item).text("positionId")
        try:
            record = book.close_position(login, position_id)
        except ApiError:
            continue
        if record is not None:
            closed.append(record)
    status = "OK" if len(closed) == len(wanted) else "PARTIAL_SUCCESS" if closed else "REJECTED"
    return 200, {"status": status, "orderId": closed[-1]["orderId"] if closed else None}


def close_partially(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    closed = book.close_position(
        body.text("login"), body.text("positionId"), volume=body.amount("volume")
    )
    if closed is None:
        return 200, {"status": "REJECTED", "orderId": None}
    return 200, {"status": "OK", "orderId": closed["orderId"]}


def close_all(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    responses = []
    for login in body.strings("logins"):
        book.account(login)
        parts = []
        for position_id in book.position_ids(login):
            book.close_position(login, position_id)
            parts.append({"positionId": position_id, "status": "SUCCESS", "errorMessage": None})
        # Each login's answer (its shape is not documented: fake's choice).
        responses.append({"login": login, "status": "SUCCESS", "partialResponses": parts})
    return 200, {"responses": responses}


def open_positions(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    return 200, book.open_positions(Body(data).strings("logins"))


def closed_positions(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    logins = body.strings("logins")
    since = parse_time(body.text("from"), "from")
    until = parse_time(body.text("to"), "to")
    limit = body.integer("limit") if body.has("limit") else None
    return 200, {"closedPositions": book.closed_positions(logins, since, until, limit)}


def ledgers(book: Book, path: dict[str, str], query: Any, data: Any) -> Answer:
    body = Body(data)
    logins = body.strings("logins")
    types = body.strings("types", optional=True)
    if set(types) - set(LEDGER_TYPES):
        raise bad_request(f"types: must be among {', '.join(LEDGER_TYPES)}")
    since = parse_time(body.text("from"), "from") if body.has("from") else None
    until = parse_time(body.text("to"), "to") if body.has("to") else None
    limit = body.integer("limit") if body.has("limit") else None
    return 200, {"operations": book.ledgers(logins, types, since, until, limit)}


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}$"), handler)
    for method, pattern, handler in (
        ("GET", r"/service-info", service_info),
        ("GET", r"/v1/offers", offers),
        ("GET", r"/v1/group-names", group_names),
        ("GET", r"/v1/user-accounts", list_users),
        ("POST", r"/v1/user-accounts", create_user),
        ("GET", r"/v1/user-accounts/email/(?P<email>[^/]+)", user_by_email),
        ("GET", r"/v1/user-accounts/(?P<uuid>[^/]+)", user),
        ("POST", r"/v1/user-accounts/(?P<uuid>[^/]+)/change-password", change_password),
        ("GET", r"/v1/user-accounts/(?P<uuid>[^/]+)/trading-accounts", user_trading_accounts),
        ("POST", r"/v1/user-accounts/(?P<uuid>[^/]+)/trading-accounts", create_trading_account),
        ("GET", r"/v1/trading-accounts", list_trading_accounts),
        ("POST", r"/v1/trading-accounts/positions/open", open_position),
        ("POST", r"/v1/trading-accounts/positions/close", close_positions),
        ("POST", r"/v1/trading-accounts/positions/close-partially", close_partially),
        ("POST", r"/v1/trading-accounts/positions/close-all", close_all),
        ("POST", r"/v1/trading-accounts/trading-data/open-positions", open_positions),
        ("POST", r"/v1/trading-accounts/trading-data/closed-positions", closed_positions),
        ("POST", r"/v1/trading-accounts/trading-data/ledgers", ledgers),
        ("GET", r"/v1/trading-accounts/(?P<login>\d+)", trading_account),
        ("PATCH", r"/v1/trading-accounts/(?P<login>\d+)", update_trading_account),
        ("DELETE", r"/v1/trading-accounts/(?P<login>\d+)", delete_trading_account),
        (
            "POST",
            r"/v1/trading-accounts/(?P<login>\d+)/(?P<kind>deposit|withdraw|credit-in|credit-out)",
            balance_operation,
        ),
    )
]


def route(method: str, path: str) -> tuple[Handler, dict[str, str]]:
    """The handler for a request, or a 404 (no such path) / 405 (no such method there)."""
    allowed = False
    for want, pattern, handler in ROUTES:
        found = pattern.match(path)
        if found is None:
            continue
        if want == method:
            return handler, found.groupdict()
        allowed = True
    if allowed:
        raise ApiError(
            405, "Method Not Allowed", f"{method} is not supported on {path}", "method-not-allowed"
        )
    raise ApiError(404, "Not Found", f"No endpoint {method} {path}", "not-found")
