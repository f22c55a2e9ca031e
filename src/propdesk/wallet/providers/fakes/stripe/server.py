"""The fake Stripe's HTTP server: the API under `/v1/` behind Stripe's gate (the secret key,
the request limit, idempotency keys), the hosted Checkout page under `/c/pay/`, the fake-only
controls under `/_fake/`, and the faults a test or the demo orders.

  https://docs.stripe.com/api/authentication  (the secret key as HTTP Basic's user name, or as
      a Bearer token; a request without one, or with a wrong one, is answered 401)
  https://docs.stripe.com/api/idempotent_requests and https://docs.stripe.com/idempotency
      (POST only; the first answer is saved and given again, marked `Idempotent-Replayed`;
      other parameters under the same key are an `idempotency_error`; a request that fails
      validation is not saved; a key is up to 255 characters; a key still being executed is a
      409; keys are pruned once at least 24 hours old, and a pruned key makes a new request)
  https://docs.stripe.com/rate-limits  (25 operations a second in a sandbox; a 429 with the
      code `rate_limit`)
  https://docs.stripe.com/api/versioning  (the `Stripe-Version` header)
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from propdesk.fakes_common import FaultQueue
from propdesk.wallet.providers.fakes.stripe import forms, page
from propdesk.wallet.providers.fakes.stripe.book import API_VERSION, Book
from propdesk.wallet.providers.fakes.stripe.controls import control
from propdesk.wallet.providers.fakes.stripe.errors import StripeError, invalid
from propdesk.wallet.providers.fakes.stripe.routes import route
from propdesk.wallet.providers.fakes.stripe.webhooks import RETRY_DELAYS, Sender

DEFAULT_SECRET_KEY = "sk_test_fake_propdesk"
RATE_LIMIT = 25  # a sandbox's operations a second
KEPT_FOR = 86400  # seconds an idempotency key's answer is kept (then the key is pruned)


class Limiter:
    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit, self.window = limit, window
        self.lock = threading.Lock()
        self.times: deque[float] = deque()

    def admit(self) -> bool:
        now = time.monotonic()
        with self.lock:
            while self.times and now - self.times[0] >= self.window:
                self.times.popleft()
            if self.limit > 0 and len(self.times) >= self.limit:
                return False
            self.times.append(now)
            return True


class FakeStripe:
    """Stripe's API on a local port, in this process: `start()` binds (port 0: any free port,
    see `url`), `stop()` ends it; with a `state_file` what it keeps survives a restart.

    `webhook_url` and `webhook_secret` configure one endpoint that receives every event (as a
    firm adds one in the Dashboard); endpoints can also be made through the API."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret_key: str = DEFAULT_SECRET_KEY,
        webhook_url: str = "",
        webhook_secret: str = "",
        state_file: str | Path | None = None,
        rate_limit: int = RATE_LIMIT,
        rate_window: float = 1.0,  # seconds the limit counts over (a test may widen it)
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        public_url: str = "",
    ) -> None:
        self.host = host
        self.port = port
        self.secret_key = secret_key
        self.public_url = public_url.rstrip("/")
        self.book = Book(Path(state_file) if state_file else None)
        self.sender = Sender(self.book, retry_delays)
        self.book.on_event = self.sender.enqueue
        if webhook_url:
            self.configure_endpoint(webhook_url, webhook_secret)
        self.limiter = Limiter(rate_limit, rate_window)
        self.faults = FaultQueue(lambda path: invalid(f"path: not a regular expression: {path!r}"))
        self.running: set[str] = set()  # idempotency keys being executed
        self.running_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serving = threading.Lock()
        self._up = threading.Event()
        self._listening = threading.Event()
        self._stopped = False

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def configure_endpoint(self, url: str, secret: str = "") -> dict[str, Any]:
        """The endpoint a firm would add in the Dashboard (every event; `secret` or a new one)."""
        return self.book.add_endpoint(url, ["*"], secret, ident="we_configured")

    def start(self) -> FakeStripe:
        self._serve()
        self.sender.start()
        return self

    def stop(self) -> None:
        with self._serving:
            self._stopped = True
            self._unserve()
        self._up.set()
        self.sender.stop()
        self.book.save()

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until every event due has been delivered (or given up on)."""
        return self.sender.settle(timeout)

    def events(self, type_: str = "") -> list[dict[str, Any]]:
        with self.book.lock:
            return [e for e in self.book.events if not type_ or e["type"] == type_]

    def _serve(self) -> None:
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="fake-stripe", daemon=True
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

    def go_down(self, seconds: float) -> None:
        """Stop listening (clients are refused) for `seconds`, then listen on the same port."""
        self._up.clear()
        with self._serving:
            self._unserve()

        def outage() -> None:
            self._up.wait(seconds)
            with self._serving:
                if not self._stopped and self._httpd is None:
                    self._serve()

        threading.Thread(target=outage, name="fake-stripe-outage", daemon=True).start()

    def up(self, timeout: float = 10.0) -> bool:
        """End a downtime now; True once the port is listened on again."""
        self._up.set()
        return self._listening.wait(timeout)

    def api(
        self, method: str, path: str, query: bytes, body: bytes, headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """One API request: (status, JSON body, extra headers)."""
        fault = self.faults.take("delay", method, path)
        if fault:
            time.sleep(fault["seconds"])  # carried out all the same, however long it took
        fault = self.faults.take("fail", method, path)
        if fault:
            status = int(fault["status"])
            if status == 429:
                return status, _rate_limited().body(), {}
            kind = "api_error" if status >= 500 else "invalid_request_error"
            return status, StripeError(status, kind, "Ordered by the fake's controls.").body(), {}
        refused = self._authenticate(headers.get("Authorization", ""))
        if refused is not None:
            return 401, refused.body(), {"WWW-Authenticate": 'Basic realm="Stripe"'}
        if not self.limiter.admit():
            return 429, _rate_limited().body(), {}
        key = headers.get("Idempotency-Key", "") if method == "POST" else ""
        try:
            params = forms.parse(body if method == "POST" else query)
        except StripeError as bad:
            return bad.status, bad.body(), {}
        if not key:
            return self._execute(method, path, params)
        if len(key) > 255:
            error = invalid("Idempotency keys can be at most 255 characters long.")
            return 400, error.body(), {}
        request = {"method": method, "path": path, "params": forms.canonical(params)}
        with self.running_lock:
            saved = self.book.idempotent.get(key)
            if saved is not None and saved.get("saved_at", 0) < time.time() - KEPT_FOR:
                del self.book.idempotent[key]  # pruned: the key makes a new request
                saved = None
            if saved is None and key in self.running:
                return (
                    409,
                    _idempotency(
                        "There is currently another in-progress request using this Idempotent "
                        "Key (probably because of a timeout). Please retry this request later.",
                        409,
                    ).body(),
                    {},
                )
            if saved is None:
                self.running.add(key)
        if saved is not None:
            if saved["request"] != request:
                return (
                    400,
                    _idempotency(
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request."
                    ).body(),
                    {},
                )
            return saved["status"], saved["body"], {"Idempotent-Replayed": "true"}
        try:
            status, answer, extra = self._execute(method, path, params)
            if status != 400 and status != 429:  # a request that failed validation is not kept
                with self.book.lock:
                    self.book.idempotent[key] = {
                        "request": request,
                        "status": status,
                        "body": answer,
                        "saved_at": time.time(),
                    }
                self.book.save()
        finally:
            with self.running_lock:
                self.running.discard(key)
        return status, answer, extra

    def _execute(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            handler, ident = route(method, path)
            status, answer = handler(self, ident, params)
        except StripeError as refused:
            return refused.status, refused.body(), {}
        self.book.save()
        return status, answer, {}

    def _authenticate(self, given: str) -> StripeError | None:
        scheme, _, value = given.partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = value.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(value.strip()).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            return invalid(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
                status=401,
            )
        if not secrets.compare_digest(key.encode(errors="replace"), self.secret_key.encode()):
            shown = f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"
            return invalid(f"Invalid API Key provided: {shown}", status=401)
        return None


def _rate_limited() -> StripeError:
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


def _idempotency(message: str, status: int = 400) -> StripeError:
    return StripeError(status, "idempotency_error", message)


class _Handler(BaseHTTPRequestHandler):
    server_version = "stripe"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    @property
    def fake(self) -> FakeStripe:
        return self.server.fake  # type: ignore[attr-defined]

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        body = self._body()
        if path.startswith("/_fake/"):
            status, answer = control(self.fake, method, path, body)
            self._json(status, answer)
            return
        if path.startswith("/c/pay/"):
            status, html, location = page.answer(self.fake, method, path, body)
            self._page(status, html, location)
            return
        status, answer, extra = self.fake.api(
            method, path, parts.query.encode(), body, self.headers
        )
        extra = {
            "Request-Id": "req_" + secrets.token_hex(7),
            "Stripe-Version": API_VERSION,
            **extra,
        }
        self._json(status, answer, extra)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, indent=2).encode()
        self._send(status, data, "application/json", headers or {})

    def _page(self, status: int, html: str, location: str) -> None:
        self._send(
            status,
            html.encode(),
            "text/html; charset=utf-8",
            {"Location": location} if location else {},
        )

    def _send(self, status: int, data: bytes, kind: str, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return
