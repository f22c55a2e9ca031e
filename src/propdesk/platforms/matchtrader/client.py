"""HTTP to a Match-Trader Broker API (v2): JSON in and out, the broker's key in the
`Authorization` header, amounts read as `Decimal`, and every failure turned into a
`PlatformError` that says whether trying again may help.

Transient (worth another try as it is): a timeout, a refused or broken connection, a 5xx, a
429 (the request limit). Refused (a person must put something right first): any other 4xx.

The documented request limit (500 requests a minute per broker key,
https://app.theneo.io/match-trade/broker-api/introduction) is kept on our side too: requests
through one `BrokerApi` share a budget per address and key in this process, and wait for a
place rather than be refused. Other processes (the worker, the monitor) have budgets of their
own; a 429 that still comes back is a transient fault like any other.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from propdesk.platforms.protocol import PlatformError

TIMEOUT = 10.0  # seconds; a platform slower than this is treated as away
RATE_LIMIT = 500
RATE_WINDOW = 60.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiError(PlatformError):
    """The platform answered with an error status (`status`; 0 when it did not answer)."""

    def __init__(self, message: str, *, status: int, transient: bool, answer: str = "") -> None:
        super().__init__(message, transient=transient, answer=answer)
        self.status = status


class Budget:
    """At most `limit` requests in any `window` seconds; `take` waits for a place."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()

    def spare(self) -> int:
        """How many requests may go now without waiting."""
        with self._lock:
            self._trim(time.monotonic())
            return self.limit - len(self._sent)

    def take(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._trim(now)
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                wait = self.window - (now - self._sent[0])
            time.sleep(max(wait, 0.01))


_BUDGETS: dict[tuple[str, str], Budget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(base_url: str, api_key: str) -> Budget:
    with _BUDGETS_LOCK:
        return _BUDGETS.setdefault((base_url, api_key), Budget())


def segment(value: str) -> str:
    """A path segment, escaped (an email in a path keeps its @ and dots)."""
    return quote(str(value), safe="@")


class BrokerApi:
    def __init__(self, base_url: str, api_key: str, *, timeout: float = TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.budget = budget_for(self.base_url, api_key)

    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body={} if body is None else body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body)

    def request(
        self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """The answer's JSON (None for an empty answer, a 204), or a `PlatformError`."""
        if not self.base_url:
            raise PlatformError("No address is set for this trading server.", transient=False)
        url = self.base_url + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        data = None if body is None else json.dumps(body, default=_number).encode()
        request = urllib.request.Request(  # noqa: S310  (the configured http(s) address)
            url,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        where = f"{method} {path}"
        self.budget.take()
        try:
            with _NO_PROXY.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as refused:
            text = _text(refused)
            status = refused.code
            transient = status >= 500 or status == 429
            raise ApiError(
                f"Match-Trader answered {status} to {where}: {_detail(text) or refused.reason}",
                status=status,
                transient=transient,
                answer=text,
            ) from None
        except TimeoutError:
            raise ApiError(
                f"Match-Trader did not answer {where} within {self.timeout:g} s.",
                status=0,
                transient=True,
            ) from None
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as away:
            reason = getattr(away, "reason", away)
            raise ApiError(
                f"Match-Trader could not be reached for {where}: {reason}",
                status=0,
                transient=True,
            ) from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise ApiError(
                f"Match-Trader's answer to {where} is not JSON.",
                status=200,
                transient=True,
                answer=raw[:2000].decode(errors="replace"),
            ) from None


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        # JSON numbers: the platform documents amounts as numbers. Amounts are already rounded
        # to their currency, whose shortest float text is the same decimal.
        return float(value)
    raise TypeError(f"not JSON: {value!r}")


def _text(refused: urllib.error.HTTPError) -> str:
    try:
        return refused.read()[:2000].decode(errors="replace")
    except OSError:
        return ""


def _detail(text: str) -> str:
    """The error body's `detail` (or title), for the message; "" when it has none."""
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("detail") or body.get("title") or "")
