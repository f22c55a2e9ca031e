"""The fake MT5 Web API server: the authentication handshake and its sessions, the API routes
(see the package's note for the pages they follow), the fake-only controls under `/_fake/`, and
the faults a test or a demo orders (errors, delays, downtime, expired sessions)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from propdesk.fakes_common import FaultQueue
from propdesk.platforms.matchtrader.fake.market import Market, Walk
from propdesk.platforms.mt5.fake.book import (
    DEAL_BALANCE,
    DEFAULT_GROUPS,
    LOTS,
    Book,
    Group,
    Refused,
)

DEFAULT_LOGIN = "1000"
DEFAULT_PASSWORD = "Manager1"
SESSION_IDLE = 180.0  # seconds a session lives without a request (chosen; see the note)
RATE_LIMIT = 100  # requests a second per session (chosen; see the note)
COOKIE = "MT5WebAPI"
DEALER_POS_EXECUTE = 200  # IMTRequest::EnTradeActions TA_DEALER_POS_EXECUTE


def password_hash(password: str) -> bytes:
    """MD5(MD5(password in UTF-16LE) + "WebAPI"), as the handshake specifies."""
    inner = hashlib.md5(password.encode("utf-16-le")).digest()  # noqa: S324  (the protocol's)
    return hashlib.md5(inner + b"WebAPI").digest()  # noqa: S324


def rand_answer(password: str, rand_hex: str) -> str:
    """MD5(password_hash + the other side's random bytes), as hex."""
    return hashlib.md5(password_hash(password) + bytes.fromhex(rand_hex)).hexdigest()  # noqa: S324


class FakeMT5:
    """An MT5 Web API on a local port, in this process (`start()`; port 0: any free port)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        login: str = DEFAULT_LOGIN,
        password: str = DEFAULT_PASSWORD,
        groups: tuple[Group, ...] = DEFAULT_GROUPS,
        state_file: str | Path | None = None,
        tick_rate: float = 1.0,
        rate_limit: int = RATE_LIMIT,
        session_idle: float = SESSION_IDLE,
        seed: int | None = None,
        clock_offset: int = 0,
    ) -> None:
        self.host, self.port = host, port
        self.login, self.password = login, password
        self.market = Market(seed=seed)
        self.book = Book(groups, self.market, Path(state_file) if state_file else None)
        self.book.clock_offset = clock_offset  # seconds the server's clock is ahead of UTC
        self.walk = Walk(self.market, tick_rate)
        self.rate_limit = rate_limit
        self.session_idle = session_idle
        self.faults = FaultQueue()  # a bad path pattern: re.error, as it is
        self.lock = threading.Lock()
        # session id -> {"stage": "start"|"ready", "srv_rand", "seen", "times": [..]}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []  # each API path asked, in order (for the controls)
        self.queries: list[tuple[str, str]] = []  # (path, query string) of each, in order
        self.dealer: dict[int, dict[str, Any]] = {}  # dealer request id -> its result
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._up = threading.Event()
        self._serving = threading.Lock()
        self._stopped = False
        self._busy = threading.Condition()
        self._in_flight = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeMT5:
        self._serve()
        self.walk.start()
        return self

    def stop(self) -> None:
        self.walk.stop()
        with self._serving:
            self._stopped = True
            self._unserve()
        self._up.set()
        self.book.save()

    def __enter__(self) -> FakeMT5:
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
            target=httpd.serve_forever, args=(0.05,), name="fake-mt5", daemon=True
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
        """Stop listening for `seconds` (or until `up()`); every session ends with it, as a
        restarted server's do."""
        self._up.clear()
        with self._serving:
            self._unserve()
        self.expire_sessions()

        def outage() -> None:
            self._up.wait(seconds)
            with self._serving:
                if not self._stopped and self._httpd is None:
                    self._serve()

        threading.Thread(target=outage, name="fake-mt5-outage", daemon=True).start()

    def up(self, timeout: float = 10.0) -> bool:
        self._up.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._httpd is not None:
                return True
            time.sleep(0.01)
        return False

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def settle(self, timeout: float = 30.0) -> bool:
        with self._busy:
            return self._busy.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    # --- sessions ----------------------------------------------------------------------------

    def session(self, sid: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.sessions.get(sid)
            if found is None:
                return None
            now = time.monotonic()
            if now - found["seen"] > self.session_idle:
                del self.sessions[sid]
                return None
            found["seen"] = now
            return found


def _retcode(code: str, **more: Any) -> dict[str, Any]:
    return {"retcode": code, **more}


def _int(query: dict[str, list[str]], name: str, default: int | None = None) -> int:
    values = query.get(name)
    if not values:
        if default is None:
            raise Refused("3 Invalid parameters")
        return default
    try:
        return int(values[0])
    except ValueError:
        raise Refused("3 Invalid parameters") from None


def _text(query: dict[str, list[str]], name: str, default: str = "") -> str:
    values = query.get(name)
    return values[0] if values else default


def _logins(query: dict[str, list[str]]) -> set[int]:
    found: set[int] = set()
    for text in query.get("login", []):
        for part in text.split(","):
            if part.strip():
                try:
                    found.add(int(part))
                except ValueError:
                    raise Refused("3 Invalid parameters") from None
    return found


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeMT5WebAPI/5"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    @property
    def fake(self) -> FakeMT5:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1_000_000:
            raise Refused("3 Invalid parameters")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise Refused("3 Invalid parameters") from None

    def _send(self, status: int, payload: Any, cookie: str = "") -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if cookie:
            self.send_header("Set-Cookie", f"{COOKIE}={cookie}; Path=/; HttpOnly")
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = (
                True  # the client gave up waiting: the work is done all the same
            )

    def _sid(self) -> str:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return ""

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query)
        fake = self.fake
        try:
            body = self._body() if method == "POST" else {}
        except Refused as refused:
            self._send(200, _retcode(refused.retcode))
            return
        if path.startswith("/_fake/"):
            try:
                self._send(200, self._control(path, query, body))
            except (Refused, KeyError, ValueError, TypeError, InvalidOperation) as bad:
                self._send(400, {"error": str(bad)})
            return
        with fake._busy:
            fake._in_flight += 1
        try:
            delay = fake.faults.take("delay", self.command, path)
            if delay:
                time.sleep(delay["seconds"])  # carried out all the same, however long
            fault = fake.faults.take("fail", self.command, path)
            if fault is not None:
                self._send(int(fault["status"]), _retcode("2 Common error"))
                return
            fake.requests.append(path)
            fake.queries.append((path, parts.query))
            if path == "/api/auth/start":
                self._auth_start(query)
                return
            if path == "/api/auth/answer":
                self._auth_answer(query)
                return
            session = fake.session(self._sid())
            if session is None or session["stage"] != "ready":
                # Chosen: the Web API closes a connection that is not authorised; here the
                # request is answered 403 with the "not enough permissions" retcode.
                self._send(403, _retcode("8 Not enough permissions"))
                return
            now = time.monotonic()
            session["times"] = [t for t in session["times"] if now - t < 1.0] + [now]
            if fake.rate_limit and len(session["times"]) > fake.rate_limit:
                self._send(200, _retcode("12 Too frequent requests"))
                return
            try:
                answer = self._api(path, query, body)
            except Refused as refused:
                self._send(200, _retcode(refused.retcode))
                return
            self._send(200, answer)
        finally:
            with fake._busy:
                fake._in_flight -= 1
                fake._busy.notify_all()

    # --- the handshake -----------------------------------------------------------------------

    def _auth_start(self, query: dict[str, list[str]]) -> None:
        fake = self.fake
        needed = ("version", "agent", "login", "type")
        if any(not _text(query, name) for name in needed) or _text(query, "type") != "manager":
            self._send(200, _retcode("3 Invalid parameters"))
            return
        if _text(query, "login") != fake.login:
            self._send(200, _retcode("3006 Invalid account"))
            return
        sid = secrets.token_hex(16)
        srv_rand = secrets.token_hex(16)
        with fake.lock:
            fake.sessions[sid] = {
                "stage": "start",
                "srv_rand": srv_rand,
                "seen": time.monotonic(),
                "times": [],
            }
        self._send(200, _retcode("0 Done", version_access="484", srv_rand=srv_rand), cookie=sid)

    def _auth_answer(self, query: dict[str, list[str]]) -> None:
        fake = self.fake
        sid = self._sid()
        session = fake.session(sid)
        given, cli_rand = _text(query, "srv_rand_answer"), _text(query, "cli_rand")
        if session is None or session["stage"] != "start":
            self._send(200, _retcode("3 Invalid parameters"))
            return
        try:
            valid = len(bytes.fromhex(cli_rand)) == 16
        except ValueError:
            valid = False
        expected = rand_answer(fake.password, session["srv_rand"])
        if not valid or not secrets.compare_digest(given.lower(), expected):
            with fake.lock:
                fake.sessions.pop(sid, None)
            self._send(200, _retcode("3006 Invalid account"))
            return
        session["stage"] = "ready"
        self._send(200, _retcode("0 Done", cli_rand_answer=rand_answer(fake.password, cli_rand)))

    # --- the API -----------------------------------------------------------------------------

    def _api(self, path: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        book = self.fake.book
        if path == "/api/ping":
            return _retcode("0 Done")
        if path == "/api/group/total":
            return _retcode("0 Done", answer={"total": str(len(book.groups))})
        if path == "/api/group/next":
            index = _int(query, "index")
            names = list(book.groups)
            if not 0 <= index < len(names):
                raise Refused("13 Not found")
            return _retcode("0 Done", answer=_group(book.groups[names[index]]))
        if path == "/api/group/get":
            found = book.groups.get(_text(query, "group"))
            if found is None:
                raise Refused("13 Not found")
            return _retcode("0 Done", answer=_group(found))
        if path == "/api/user/add":
            if not isinstance(body, dict):
                raise Refused("3 Invalid parameters")
            record = {**body, **{k: v[0] for k, v in query.items() if k[:1].isupper()}}
            user = book.add_user(record, _text(query, "pass_main"), _text(query, "pass_investor"))
            return _retcode("0 Done", answer=_public(user))
        if path == "/api/user/get":
            return _retcode("0 Done", answer=_public(book.user(_int(query, "login"))))
        if path == "/api/user/get_batch":
            with book.lock:
                group = _text(query, "group")
                logins = _logins(query)
                users = [
                    _public(u)
                    for login, u in sorted(book.users.items())
                    if login in logins or (group and _matches(group, u["Group"]))
                ]
            return _retcode("0 Done", answer=users)
        if path == "/api/user/logins":
            group = _text(query, "group")
            if not group:
                raise Refused("3 Invalid parameters")
            with book.lock:
                listed = [
                    str(k) for k, u in sorted(book.users.items()) if _matches(group, u["Group"])
                ]
            return _retcode("0 Done", answer=listed)
        if path == "/api/user/update":
            if not isinstance(body, dict):
                raise Refused("3 Invalid parameters")
            changes = {**body, **{k: v[0] for k, v in query.items() if k[:1].isupper()}}
            user = book.update_user(_int(query, "login"), changes)
            return _retcode("0 Done", answer=_public(user))
        if path == "/api/user/account/get_batch":
            logins = _logins(query)
            group = _text(query, "group")
            if group:
                with book.lock:
                    logins |= {k for k, u in book.users.items() if _matches(group, u["Group"])}
            if not logins and not group:
                raise Refused("3 Invalid parameters")
            return _retcode("0 Done", answer=[book.account(x) for x in sorted(logins)])
        if path == "/api/trade/balance":
            try:
                amount = Decimal(_text(query, "balance"))
            except InvalidOperation:
                raise Refused("3 Invalid parameters") from None
            if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
                raise Refused("3 Invalid parameters")
            deal = book.balance(
                _int(query, "login"),
                _int(query, "type", DEAL_BALANCE),
                amount,
                _text(query, "comment"),
            )
            return _retcode("0 Done", answer={"ticket": deal["Deal"]})
        if path == "/api/deal/get_batch":
            asked = _logins(query)
            group = _text(query, "group")
            if not asked and not group:
                raise Refused("3 Invalid parameters")
            since, until = _int(query, "from"), _int(query, "to")
            if group:
                with book.lock:
                    asked |= {k for k, u in book.users.items() if _matches(group, u["Group"])}
            return _retcode("0 Done", answer=book.deals_of(asked, since, until))
        if path == "/api/position/get_batch":
            logins = _logins(query)
            if not logins:
                raise Refused("3 Invalid parameters")
            return _retcode("0 Done", answer=book.positions_of(logins))
        if path == "/api/position/get_total":
            total = len(book.positions_of({_int(query, "login")}))
            return _retcode("0 Done", answer={"total": str(total)})
        if path == "/api/dealer/send_request":
            return self._dealer(body)
        if path == "/api/dealer/get_request_result":
            result = self.fake.dealer.get(_int(query, "id"))
            if result is None:
                raise Refused("13 Not found")
            return _retcode("0 Done", answer=result)
        raise Refused("3 Invalid parameters")  # chosen: an unknown command

    def _dealer(self, body: Any) -> dict[str, Any]:
        """A dealer request (IMTRequest). Only TA_DEALER_POS_EXECUTE, closing a position, is
        carried out here; it is done at once and its result kept for get_request_result."""
        if not isinstance(body, dict) or int(body.get("Action", -1)) != DEALER_POS_EXECUTE:
            raise Refused("3 Invalid parameters")
        fake = self.fake
        login, ticket = int(body.get("Login") or 0), int(body.get("Position") or 0)
        volume = int(body["Volume"]) if body.get("Volume") else None
        with fake.lock:
            request_id = len(fake.dealer) + 1
        try:
            deal = fake.book.close_position(
                login, ticket, volume, as_dealer=True, comment=str(body.get("Comment") or "")
            )
            result = {"Retcode": "10009 Request completed", "Deal": deal["Deal"]}
        except Refused as refused:
            result = {"Retcode": refused.retcode, "Deal": "0"}
        with fake.lock:
            fake.dealer[request_id] = {"id": str(request_id), "result": result}
        return _retcode("0 Done", answer={"id": str(request_id)})

    # --- the controls ------------------------------------------------------------------------

    def _control(self, path: str, query: dict[str, list[str]], body: Any) -> Any:
        fake = self.fake
        book = fake.book
        if path == "/_fake/price":
            fake.market.set_bid(str(body["symbol"]), Decimal(str(body["bid"])))
            return {"ok": True}
        if path == "/_fake/prices":
            return {s: str(b) for s, b in fake.market.bids().items()}
        if path == "/_fake/positions/open":
            volume = int(Decimal(str(body["volume"])) * LOTS)
            price = Decimal(str(body["price"])) if body.get("price") else None
            return book.open_position(
                int(body["login"]), str(body["symbol"]), str(body["side"]), volume, price
            )
        if path == "/_fake/positions/close":
            part = int(Decimal(str(body["volume"])) * LOTS) if body.get("volume") else None
            at = Decimal(str(body["price"])) if body.get("price") else None
            return book.close_position(int(body["login"]), int(body["position"]), part, at)
        if path == "/_fake/fail":
            fake.faults.add(
                "fail",
                int(body["count"]),
                status=int(body.get("status", 500)),
                seconds=0,
                path=str(body.get("path") or ""),
            )
            return {"ok": True}
        if path == "/_fake/delay":
            fake.faults.add(
                "delay",
                int(body["count"]),
                status=0,
                seconds=float(body["seconds"]),
                path=str(body.get("path") or ""),
            )
            return {"ok": True}
        if path == "/_fake/down":
            fake.go_down(float(body["seconds"]))
            return {"ok": True}
        if path == "/_fake/expire-sessions":
            fake.expire_sessions()
            return {"ok": True}
        if path == "/_fake/reset":
            book.reset()
            fake.expire_sessions()
            return {"ok": True}
        if path == "/_fake/access-log":
            login = _text(query, "login")
            with book.lock:
                return [e for e in book.access_log if not login or e["login"] == login]
        if path == "/_fake/requests":
            return list(fake.requests)
        if path == "/_fake/settle":
            return {"ok": fake.settle()}
        raise KeyError(path)


def _matches(pattern: str, group: str) -> bool:
    """A group mask as the Web API takes them: `*` any run, several masks by commas."""
    for mask in pattern.split(","):
        regex = re.escape(mask.strip()).replace(r"\*", ".*")
        if mask.strip() and re.fullmatch(regex, group, flags=re.IGNORECASE):
            return True
    return False


def _group(group: Group) -> dict[str, Any]:
    return {"Group": group.name, "Currency": group.currency, "CurrencyDigits": "2"}


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if not k.startswith("_")}
