"""The fake Match-Trader's HTTP server: the Broker API routes behind its documented gate (the
`Authorization` header with the API key, the request limit), the fake-only controls under
`/_fake/`, and the faults a test or a demo orders (errors, delays, downtime).

Requests to `/_fake/...` need no key and do not count against the request limit: they are not
part of Match-Trader's API, only the means to play the other side of it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from propdesk.fakes_common import FaultQueue
from propdesk.platforms.matchtrader.fake.basics import (
    DEFAULT_OFFERS,
    ApiError,
    Offer,
    bad_request,
    now_iso,
)
from propdesk.platforms.matchtrader.fake.book import Book
from propdesk.platforms.matchtrader.fake.market import INSTRUMENTS, Market, Walk
from propdesk.platforms.matchtrader.fake.routes import Body, route

DEFAULT_API_KEY = "fake-match-trader-key"
# The request limit the older Broker API documents (500 requests a minute, per broker key).
RATE_LIMIT = 500
RATE_WINDOW = 60.0


def _bad_path(path: str) -> ApiError:
    return bad_request(f"path: not a regular expression: {path!r}")


class _Limiter:
    """At most `limit` API requests in any `window` seconds; past it, a 429 and how long to
    wait."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.lock = threading.Lock()
        self.times: deque[float] = deque()

    def admit(self) -> float | None:
        """None when the request may go on, else the seconds until it could."""
        now = time.monotonic()
        with self.lock:
            while self.times and now - self.times[0] >= self.window:
                self.times.popleft()
            if self.limit > 0 and len(self.times) >= self.limit:
                return self.window - (now - self.times[0])
            self.times.append(now)
            return None


class FakeMatchTrader:
    """A Match-Trader Broker API (v2) on a local port, in this process.

    `start()` binds (port 0: any free port, see `url`) and serves on threads of its own;
    `stop()` ends it. With a `state_file` its books survive a restart."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        offers: tuple[Offer, ...] = DEFAULT_OFFERS,
        state_file: str | Path | None = None,
        tick_rate: float = 1.0,
        rate_limit: int = RATE_LIMIT,
        rate_window: float = RATE_WINDOW,
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.market = Market(seed=seed)
        self.book = Book(offers, self.market, Path(state_file) if state_file else None)
        self.walk = Walk(self.market, tick_rate)
        self.limiter = _Limiter(rate_limit, rate_window)
        self.faults = FaultQueue(_bad_path)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._up = threading.Event()
        self._listening = threading.Event()
        self._serving = threading.Lock()  # serving starts and stops one at a time
        self._stopped = False
        self._busy = threading.Condition()
        self._in_flight = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeMatchTrader:
        self._serve()
        self.walk.start()
        return self

    def stop(self) -> None:
        self.walk.stop()
        with self._serving:
            self._stopped = True
            self._unserve()
        self._up.set()  # a downtime in progress ends without serving again
        self.book.save()

    def __enter__(self) -> FakeMatchTrader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="fake-mt", daemon=True
        )
        self._thread.start()
        self._listening.set()

    def _unserve(self) -> None:
        self._listening.clear()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- downtime and quiet ------------------------------------------------------------------

    def go_down(self, seconds: float) -> None:
        """Stop listening now (clients are refused) for `seconds`, or until `up()`; the same
        port is listened on again afterwards."""
        self._up.clear()
        with self._serving:
            self._unserve()

        def outage() -> None:
            self._up.wait(seconds)
            with self._serving:
                if not self._stopped and self._httpd is None:
                    self._serve()

        threading.Thread(target=outage, name="fake-mt-outage", daemon=True).start()

    def up(self, timeout: float = 10.0) -> bool:
        """End a downtime now; True once the port is listened on again."""
        self._up.set()
        return self._listening.wait(timeout)

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until no API request is being handled (a delayed one has finished)."""
        with self._busy:
            return self._busy.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def _enter(self) -> None:
        with self._busy:
            self._in_flight += 1

    def _leave(self) -> None:
        with self._busy:
            self._in_flight -= 1
            self._busy.notify_all()


def _error(status: int, title: str, detail: str, path: str, kind: str) -> dict[str, Any]:
    """The documented error body: status, title, detail, path, timestamp (and the `type` some
    v2 pages show)."""
    return {
        "status": status,
        "type": f"error://broker-api/{kind}",
        "title": title,
        "detail": detail,
        "path": path,
        "timestamp": now_iso(),
    }


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeMatchTrader/2"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests and the demo read what they need through the controls

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    @property
    def fake(self) -> FakeMatchTrader:
        return self.server.fake  # type: ignore[attr-defined]

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query)
        if path.startswith("/_fake/"):
            self._control(method, path, query)
            return
        fake = self.fake
        fake._enter()
        try:
            delay = fake.faults.take("delay", method, path)
            if delay:
                # The client may give up meanwhile; the request is carried out all the same.
                time.sleep(delay["seconds"])
            status, payload, headers = self._api(method, path, query)
        finally:
            fake._leave()
        self._send(status, payload, headers)

    def _api(
        self, method: str, path: str, query: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        fake = self.fake
        fault = fake.faults.take("fail", method, path)
        if fault is not None:
            failure = int(fault["status"])
            return (
                failure,
                _error(
                    failure,
                    HTTPStatus(failure).phrase,
                    "Ordered by the fake's controls",
                    path,
                    "ordered-fault",
                ),
                {},
            )
        given = self.headers.get("Authorization", "")
        token = given[7:] if given.lower().startswith("bearer ") else given
        if not token or token.strip() != fake.api_key:
            return (
                401,
                _error(
                    401,
                    "Unauthorized",
                    "Full authentication is required to access this resource",
                    path,
                    "unauthorized",
                ),
                {},
            )
        wait = fake.limiter.admit()
        if wait is not None:
            return (
                429,
                _error(
                    429,
                    "Too Many Requests",
                    "The request limit was exceeded",
                    path,
                    "too-many-requests",
                ),
                {"Retry-After": str(math.ceil(wait))},
            )
        try:
            handler, groups = route(method, path)
            groups = {k: unquote(v) for k, v in groups.items()}
            status, payload = handler(fake.book, groups, query, self._body())
        except ApiError as refused:
            return (
                refused.status,
                _error(refused.status, refused.title, refused.detail, path, refused.kind),
                {},
            )
        return status, payload, {}

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise bad_request("The request body is not valid JSON") from None

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status == 204 or payload is None:
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps(payload, default=_json_default).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (a delayed request): the work was done all the same

    # --- the fake-only controls --------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        action = CONTROLS.get((method, path))
        if action is None:
            self._send(
                404, _error(404, "Not Found", f"No control {method} {path}", path, "not-found")
            )
            return
        try:
            body = Body(self._body() or {})
            status, payload = action(self.fake, body, query)
        except ApiError as refused:
            self._send(
                refused.status,
                _error(refused.status, refused.title, refused.detail, path, refused.kind),
            )
            return
        self._send(status, payload)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {value!r}")


# Each control: (fake, body, query) -> (status, payload).
Control = Callable[[FakeMatchTrader, Body, dict[str, list[str]]], tuple[int, Any]]


def _price(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    symbol = body.text("symbol")
    if symbol not in INSTRUMENTS:
        raise bad_request(f"symbol: {symbol} is not traded here ({', '.join(INSTRUMENTS)})")
    bid = body.amount("bid")
    assert bid is not None
    fake.market.set_bid(symbol, bid)
    fake.book.save()
    return 200, {"symbol": symbol, "bid": fake.market.quote(symbol)[0]}


def _prices(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    return 200, {
        s: {"bid": b, "ask": fake.market.quote(s)[1]} for s, b in fake.market.bids().items()
    }


def _trader_open(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    volume = body.amount("volume")
    assert volume is not None
    opened = fake.book.open_position(
        body.text("login"),
        body.text("symbol"),
        body.choice("side", ("BUY", "SELL")),
        volume,
        price=body.amount("price", optional=True),
    )
    if opened is None:
        return 403, {"status": "REJECTED", "detail": "The account's access right forbids it"}
    return 200, {"status": "OK", "positionId": opened["id"], "openPrice": opened["openPrice"]}


def _trader_close(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    closed = fake.book.close_position(
        body.text("login"),
        body.text("positionId"),
        volume=body.amount("volume", optional=True),
        price=body.amount("price", optional=True),
        trader=True,
    )
    if closed is None:
        return 403, {"status": "REJECTED", "detail": "The account's access right forbids it"}
    return 200, {k: v for k, v in closed.items()}


def _fail(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    count = body.integer("count")
    status = int(body.data.get("status") or 500)
    fake.faults.add(
        "fail",
        count,
        status=status,
        method=body.optional_text("method"),
        path=body.optional_text("path"),
    )
    return 200, {"failing": count, "status": status}


def _delay(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    count = body.integer("count")
    seconds = body.amount("seconds")
    assert seconds is not None
    fake.faults.add(
        "delay",
        count,
        seconds=float(seconds),
        method=body.optional_text("method"),
        path=body.optional_text("path"),
    )
    return 200, {"delaying": count, "seconds": float(seconds)}


def _down(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    seconds = body.amount("seconds")
    assert seconds is not None
    # Answer first, then stop listening (this very request is being handled meanwhile).
    threading.Timer(0.05, fake.go_down, args=(float(seconds),)).start()
    return 200, {"down_for": float(seconds)}


def _reset(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    fake.book.reset()
    fake.faults.clear()
    return 200, {"reset": True}


def _access_log(fake: FakeMatchTrader, body: Body, query: dict[str, list[str]]) -> tuple[int, Any]:
    login = query.get("login", [None])[0]
    return 200, {"changes": fake.book.access_log(login)}


def _settle(fake: FakeMatchTrader, body: Body, query: Any) -> tuple[int, Any]:
    return 200, {"settled": fake.settle()}


CONTROLS: dict[tuple[str, str], Control] = {
    ("POST", "/_fake/price"): _price,
    ("GET", "/_fake/prices"): _prices,
    ("POST", "/_fake/positions/open"): _trader_open,
    ("POST", "/_fake/positions/close"): _trader_close,
    ("POST", "/_fake/fail"): _fail,
    ("POST", "/_fake/delay"): _delay,
    ("POST", "/_fake/down"): _down,
    ("POST", "/_fake/reset"): _reset,
    ("GET", "/_fake/access-log"): _access_log,
    ("GET", "/_fake/settle"): _settle,
}
