"""What the fake NOWPayments is made of: its error bodies, its JSON (numbers as NOWPayments
writes them, never floats), the IPN signature, and the coins it takes at fixed rates.

The error body is the one the API answers (observed and quoted by integrators, the reference
showing only "an error"): `{"status": false, "statusCode": 400, "code":
"INVALID_REQUEST_PARAMS", "message": "success_url must be a valid uri"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation
from typing import Any


class ApiError(Exception):
    """An answer of the API's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "status": False,
            "statusCode": self.status,
            "code": self.code,
            "message": self.message,
        }


def invalid(message: str) -> ApiError:
    """A validation error: 400 INVALID_REQUEST_PARAMS with the field named, as the API
    words them ("success_url must be a valid uri", "currency_from must only contain
    alpha-numeric characters")."""
    return ApiError(400, "INVALID_REQUEST_PARAMS", message)


def now_iso() -> str:
    """The API's times: ISO 8601 in UTC with milliseconds ("2021-04-12T14:22:54.942Z")."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- JSON as NOWPayments writes it ---------------------------------------------------------


def number(value: Decimal) -> str:
    """A JSON number as JavaScript prints it: no exponent, no trailing zeros ("170",
    "0.00029")."""
    text = format(value.normalize(), "f")
    return text if text not in ("-0",) else "0"


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON (as `JSON.stringify` writes it: no spaces, non-ASCII kept), Decimals as
    numbers; with `sort_keys` every object's keys in order (the IPN signature's string)."""
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else list(value.items())
        return (
            "{"
            + ",".join(
                json.dumps(str(k), ensure_ascii=False) + ":" + dumps(v, sort_keys=sort_keys)
                for k, v in items
            )
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v, sort_keys=sort_keys) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # the controls' seconds, never money
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"not JSON: {value!r}")


def sign(body: dict[str, Any], secret: str) -> str:
    """The IPN's `x-nowpayments-sig`: HMAC-SHA512, keyed with the IPN secret, of the body
    with the keys of every object sorted (the nested `fee` too), written as
    `JSON.stringify(sortObject(params))` writes it, the reference's Node example
    (https://documenter.getpostman.com/view/7907941/2s93JusNJt, "Instant Payments
    Notifications"; its Python example, `json.dumps(..., separators=(",", ":"),
    sort_keys=True)`, gives the same string for ASCII bodies) (hex)."""
    text = dumps(body, sort_keys=True)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


# --- the coins and their rates -------------------------------------------------------------

FIAT_IN_USD: dict[str, Decimal] = {
    "usd": Decimal("1"),
    "eur": Decimal("1.10"),
    "gbp": Decimal("1.25"),
    "chf": Decimal("1.12"),
    "cad": Decimal("0.74"),
    "aud": Decimal("0.66"),
    "czk": Decimal("0.044"),
    "pln": Decimal("0.25"),
}


@dataclass(frozen=True)
class Coin:
    code: str  # NOWPayments' ticker ("btc", "usdttrc20")
    name: str
    usd: Decimal  # one coin's worth in USD (fixed in the fake)
    min_usd: Decimal  # the least a payment in it may be worth (the pair's minimum)
    decimals: int


COINS: dict[str, Coin] = {
    c.code: c
    for c in (
        Coin("btc", "Bitcoin", Decimal("60000"), Decimal("5"), 8),
        Coin("eth", "Ethereum", Decimal("3000"), Decimal("3"), 8),
        Coin("ltc", "Litecoin", Decimal("80"), Decimal("1"), 8),
        Coin("usdttrc20", "Tether USD (Tron)", Decimal("1"), Decimal("1"), 6),
    )
}


def fiat_in_usd(amount: Decimal, currency: str) -> Decimal:
    return amount * FIAT_IN_USD[currency]


def pay_amount(price: Decimal, currency: str, coin: Coin) -> Decimal:
    """What the payer is asked to send in `coin` for `price` (rounded up to the coin's
    decimals: never less than the price)."""
    exact = fiat_in_usd(price, currency) / coin.usd
    return exact.quantize(Decimal(1).scaleb(-coin.decimals), rounding=ROUND_UP)


def min_amount(coin: Coin) -> Decimal:
    """The pair's minimum in the coin (`GET /v1/min-amount`)."""
    exact = coin.min_usd / coin.usd
    return exact.quantize(Decimal(1).scaleb(-coin.decimals), rounding=ROUND_UP)


def read_amount(value: Any, name: str) -> Decimal:
    """A positive amount given as a JSON number or a numeric string."""
    if isinstance(value, bool) or value is None or value == "":
        raise invalid(f"{name} is required")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"{name} must be a number") from None
    if not amount.is_finite():
        raise invalid(f"{name} must be a number")
    if amount <= 0:
        raise invalid(f"{name} must be a positive number")
    return amount


def truncate(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
