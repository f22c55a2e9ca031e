"""The fake NOWPayments' HTTP server: the API behind its `x-api-key` gate, the invoices'
hosted pages, the fake-only controls under `/_fake/`, and the faults a test or the demo
orders (errors, delays, downtime)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from propdesk.fakes_common import FaultQueue
from propdesk.wallet.providers.fakes.nowpayments.basics import (
    COINS,
    ApiError,
    dumps,
    invalid,
    min_amount,
    read_amount,
)
from propdesk.wallet.providers.fakes.nowpayments.book import Book, invoice_view, payment_view
from propdesk.wallet.providers.fakes.nowpayments.page import render, submit

DEFAULT_API_KEY = "FAKE000-NOWPAYM-ENTSKEY-0000001"
DEFAULT_IPN_SECRET = "fake-nowpayments-ipn-secret"

# The rate limiter's answer, measured by integrators: nginx's own page, no JSON, no
# Retry-After.
_TOO_MANY = (
    "<html><head><title>429 Too Many Requests</title></head><body><center>"
    "<h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>"
)


class FakeNowPayments:
    """NOWPayments' API on a local port, in this process. `start()` binds (port 0: any free
    port, see `url`); `stop()` ends it; with a `state_file` its books survive a restart."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        ipn_secret: str = DEFAULT_IPN_SECRET,
        state_file: str | Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.ipn_secret = ipn_secret
        self.state_file = Path(state_file) if state_file else None
        self.book: Book = Book("", ipn_secret, self.state_file)
        self.faults = FaultQueue(lambda path: invalid(f"path is not a regular expression: {path}"))
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serving = threading.Lock()
        self._up = threading.Event()
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeNowPayments:
        self._serve()
        self.book.url = self.url
        return self

    def stop(self) -> None:
        with self._serving:
            self._stopped = True
            self._unserve()
        self._up.set()
        self.book.save()

    def __enter__(self) -> FakeNowPayments:
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
            target=httpd.serve_forever, args=(0.05,), name="fake-nowpayments", daemon=True
        )
        self._thread.start()

    def _unserve(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def go_down(self, seconds: float) -> None:
        """Stop listening (clients are refused) for `seconds`, then listen again on the
        same port."""
        self._up.clear()
        with self._serving:
            self._unserve()

        def outage() -> None:
            self._up.wait(seconds)
            with self._serving:
                if not self._stopped and self._httpd is None:
                    self._serve()

        threading.Thread(target=outage, name="fake-nowpayments-outage", daemon=True).start()


Answer = tuple[int, Any]


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeNOWPayments/1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    @property
    def fake(self) -> FakeNowPayments:
        return self.server.fake  # type: ignore[attr-defined]

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            if path.startswith("/_fake/"):
                self._send(*self._control(method, path, query))
            elif path in ("/payment", "/payment/pay"):
                self._page(method, path, query)
            else:
                self._api(method, path, query)
        except ApiError as refused:
            self._send(refused.status, refused.body())
        except Exception as broken:  # a fault of the fake: said, not a dropped connection
            self._send(500, ApiError(500, "INTERNAL_ERROR", str(broken)).body())

    # --- the API ----------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: dict[str, str]) -> None:
        fake = self.fake
        delay = fake.faults.take("delay", method, path)
        if delay:
            time.sleep(float(delay["seconds"]))  # carried out all the same afterwards
        fault = fake.faults.take("fail", method, path)
        if fault is not None:
            status = int(fault["status"])
            if status == 429:
                self._send_text(429, _TOO_MANY, "text/html")
                return
            code = "INTERNAL_ERROR" if status >= 500 else "ORDERED_FAULT"
            self._send(status, ApiError(status, code, "Ordered by the fake's controls").body())
            return
        if (method, path) == ("GET", "/v1/status"):
            self._send(200, {"message": "OK"})  # the one call without a key
            return
        if self.headers.get("x-api-key", "").strip() != fake.api_key:
            # Missing and wrong keys alike (measured by integrators: 403, not 401).
            raise ApiError(403, "INVALID_API_KEY", "Invalid api key")
        body = self._json() if method == "POST" else None
        status, payload = _route(fake.book, method, path, query, body)
        self._send(status, payload)

    def _json(self) -> Any:
        raw = self._read()
        if not raw:
            return {}
        try:
            return json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise invalid("body must be valid JSON") from None

    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1_000_000:
            raise ApiError(413, "PAYLOAD_TOO_LARGE", "request entity too large")
        return self.rfile.read(length) if length else b""

    # --- the hosted page --------------------------------------------------------------------

    def _page(self, method: str, path: str, query: dict[str, str]) -> None:
        book = self.fake.book
        invoice_id = query.get("iid", "")
        if method == "POST":
            form = {k: v[-1] for k, v in parse_qs(self._read().decode()).items()}
            try:
                submit(book, path, invoice_id, form)
            except ApiError as refused:
                self._send_text(refused.status, refused.message, "text/plain")
                return
            self.send_response(303)
            self.send_header("Location", f"/payment/?iid={invoice_id}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            html = render(book, invoice_id)
        except ApiError as refused:
            self._send_text(404, refused.message, "text/plain")
            return
        self._send_text(200, html, "text/html; charset=utf-8")

    # --- the fake-only controls -------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict[str, str]) -> Answer:
        action = CONTROLS.get((method, path))
        if action is None:
            raise ApiError(404, "NOT_FOUND", f"No control {method} {path}")
        body = self._json() if method == "POST" else {}
        if not isinstance(body, dict):
            raise invalid("body must be an object")
        return action(self.fake, body, query)

    # --- answering --------------------------------------------------------------------------

    def _send(self, status: int, payload: Any) -> None:
        self._send_text(status, dumps(payload), "application/json; charset=utf-8")

    def _send_text(self, status: int, text: str, kind: str) -> None:
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (a delayed request); the work was done


def _route(book: Book, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
    if (method, path) == ("POST", "/v1/invoice"):
        return 200, book.create_invoice(body)
    match = re.fullmatch(r"/v1/payment/([^/]+)", path)
    if method == "GET" and match:
        return 200, payment_view(book.payment(match.group(1)))
    if (method, path) == ("GET", "/v1/currencies"):
        return 200, {"currencies": list(COINS)}
    if (method, path) == ("GET", "/v1/min-amount"):
        coin = COINS.get(query.get("currency_from", "").lower())
        if coin is None:
            raise invalid("currency_from must be a valid currency")
        return 200, {
            "currency_from": coin.code,
            "currency_to": query.get("currency_to") or coin.code,
            "min_amount": min_amount(coin),
        }
    raise ApiError(404, "NOT_FOUND", f"Cannot {method} {path}")


# --- the controls: (fake, body, query) -> (status, payload) ------------------------------

Control = Callable[[FakeNowPayments, dict[str, Any], dict[str, str]], Answer]


def _invoice_of(fake: FakeNowPayments, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("invoice_id"):
        return fake.book.invoice(str(body["invoice_id"]))
    if body.get("order_id"):
        return fake.book.invoice_by_order(str(body["order_id"]))
    raise invalid("invoice_id or order_id is required")


def _payment_of(fake: FakeNowPayments, body: dict[str, Any], coin: str = "") -> dict[str, Any]:
    if body.get("payment_id"):
        return fake.book.payment(body["payment_id"])
    invoice = _invoice_of(fake, body)
    return fake.book.pick_coin(invoice["id"], coin or str(body.get("pay_currency") or "btc"))


def _pay(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    """Coins arrive: `amount` in the coin, or `fraction` of what was asked (1: all of it,
    0.5: half, 1.2: more); settled at once unless `settle` is false."""
    payment = _payment_of(fake, body)
    if body.get("amount") is not None:
        amount = read_amount(body["amount"], "amount")
    else:
        fraction = read_amount(body.get("fraction", "1"), "fraction")
        amount = payment["pay_amount"] * fraction
    fake.book.pay(payment, amount, settle=body.get("settle", True) is not False)
    return 200, payment_view(payment)


def _redeposit(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    """Coins sent again to a paid payment's address (`amount` in its coin, or `fraction` of
    what it asked): a payment of its own naming it as its parent, told by an IPN."""
    parent = _payment_of(fake, body)
    if body.get("amount") is not None:
        amount = read_amount(body["amount"], "amount")
    else:
        amount = parent["pay_amount"] * read_amount(body.get("fraction", "1"), "fraction")
    return 200, payment_view(fake.book.redeposit(parent, amount))


def _advance(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    """A payment confirming moves on: confirmed, sending, then finished or partially paid."""
    payment = _payment_of(fake, body)
    if payment["payment_status"] != "confirming":
        raise ApiError(409, "NOT_CONFIRMING", f"Payment is {payment['payment_status']}")
    fake.book.settle(payment)
    return 200, payment_view(payment)


def _expire(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    payment = _payment_of(fake, body)
    if payment["payment_status"] != "waiting":
        raise ApiError(409, "NOT_WAITING", f"Payment is {payment['payment_status']}")
    fake.book.move(payment, "expired")
    return 200, payment_view(payment)


def _status(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    """Any status, told (failed, refunded...)."""
    payment = _payment_of(fake, body)
    fake.book.move(payment, str(body.get("status") or ""))
    return 200, payment_view(payment)


def _invoices(fake: FakeNowPayments, body: Any, query: Any) -> Answer:
    book = fake.book
    return 200, {
        "invoices": [
            {**invoice_view(i), "payment": _maybe(book.payment_of(i["id"]))}
            for i in book.invoices.values()
        ]
    }


def _maybe(payment: dict[str, Any] | None) -> dict[str, Any] | None:
    return payment_view(payment) if payment else None


def _ipns(fake: FakeNowPayments, body: Any, query: dict[str, str]) -> Answer:
    found = fake.book.ipns
    if query.get("payment_id"):
        found = [i for i in found if str(i["payment_id"]) == query["payment_id"]]
    return 200, {"ipns": found}


def _replay(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    """Send an IPN again, the same body and signature (to `url` instead, when given)."""
    index = body.get("index")
    if not isinstance(index, int) or not 0 <= index < len(fake.book.ipns):
        raise invalid("index must be the index of an IPN sent")
    record = dict(fake.book.ipns[index])
    if body.get("url"):
        record["url"] = str(body["url"])
    fake.book.deliver(record)
    return 200, record


def _count(body: dict[str, Any]) -> int:
    count = body.get("count", 1)
    if not isinstance(count, int) or count < 1:
        raise invalid("count must be a positive integer")
    return count


def _fail(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    count = _count(body)
    status = int(body.get("status") or 500)
    fake.faults.add("fail", count, status=status, method=body.get("method"), path=body.get("path"))
    return 200, {"failing": count, "status": status}


def _delay(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    count = _count(body)
    seconds = float(read_amount(body.get("seconds"), "seconds"))
    fake.faults.add(
        "delay", count, seconds=seconds, method=body.get("method"), path=body.get("path")
    )
    return 200, {"delaying": count, "seconds": seconds}


def _down(fake: FakeNowPayments, body: dict[str, Any], query: Any) -> Answer:
    seconds = float(read_amount(body.get("seconds"), "seconds"))
    threading.Timer(0.05, fake.go_down, args=(seconds,)).start()
    return 200, {"down_for": seconds}


def _reset(fake: FakeNowPayments, body: Any, query: Any) -> Answer:
    fake.book.reset()
    fake.faults.clear()
    return 200, {"reset": True}


CONTROLS: dict[tuple[str, str], Control] = {
    ("POST", "/_fake/pay"): _pay,
    ("POST", "/_fake/advance"): _advance,
    ("POST", "/_fake/redeposit"): _redeposit,
    ("POST", "/_fake/expire"): _expire,
    ("POST", "/_fake/status"): _status,
    ("GET", "/_fake/invoices"): _invoices,
    ("GET", "/_fake/ipns"): _ipns,
    ("POST", "/_fake/ipns/replay"): _replay,
    ("POST", "/_fake/fail"): _fail,
    ("POST", "/_fake/delay"): _delay,
    ("POST", "/_fake/down"): _down,
    ("POST", "/_fake/reset"): _reset,
}
