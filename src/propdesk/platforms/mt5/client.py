"""HTTP to an MT5 Web API as a manager: the authentication handshake, the session it opens,
answers read as JSON with their `retcode`, and every failure turned into a `PlatformError` that
says whether trying again may help.

The handshake (as the Web API's clients do it, see platforms/mt5/fake's note): `auth/start`
with the manager's login answers `srv_rand`; `auth/answer` sends MD5(password_hash + srv_rand)
and a random `cli_rand`, and the server proves it knows the password too by answering
MD5(password_hash + cli_rand), which is checked (a server that cannot is not the firm's).
password_hash is MD5(MD5(password as UTF-16LE) + "WebAPI").

The session is kept per address, manager login and password in this process (its cookie), so
that every adapter made for the server shares it; a request refused for want of a session (an
expired session, a restarted server) authenticates again once and is sent again.

Requests are paced on our side as Match-Trader's are (`matchtrader.client.Budget`): every
request of one manager login at one address in this process, the handshake's too, takes a
place in a budget of RATE_LIMIT a RATE_WINDOW and waits for one rather than be refused. The
Web API's own limit is the server's setting ("12 Too frequent requests" past it; MetaQuotes'
reference was not within reach): RATE_LIMIT is chosen at half the fake's, and settings'
MT5_RATE_LIMIT (requests a second) changes it. A "12" that still comes back is transient.

Transient (worth another try as it is): a timeout, a refused or broken connection, a 5xx,
"12 Too frequent requests", "9 Timeout", "10 No connection", "11 Service unavailable".
Refused: any other retcode.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import secrets
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from propdesk.core.outbound import OPENER, in_clear_elsewhere, read_bounded
from propdesk.platforms.matchtrader.client import Budget
from propdesk.platforms.protocol import PlatformError

TIMEOUT = 10.0
VERSION = "484"  # the Web API build we speak (sent to auth/start)
AGENT = "propdesk"
RATE_LIMIT = 50  # requests a RATE_WINDOW per manager login and address (chosen: see the note)
RATE_WINDOW = 1.0
TRANSIENT_CODES = frozenset({"9", "10", "11", "12"})
NO_SESSION = frozenset({"8"})  # "8 Not enough permissions": no (longer a) session
MAX_ANSWER = 4 * 1024 * 1024  # an answer read at most


class WebApiError(PlatformError):
    """The server answered a retcode other than "0 Done" (`code`: its number as text; "" when
    it did not answer at all, `status` then the HTTP status or 0)."""

    def __init__(
        self, message: str, *, code: str, status: int, transient: bool, answer: str = ""
    ) -> None:
        super().__init__(message, transient=transient, answer=answer)
        self.code = code
        self.status = status


def password_hash(password: str) -> bytes:
    inner = hashlib.md5(password.encode("utf-16-le")).digest()  # noqa: S324  (the protocol's)
    return hashlib.md5(inner + b"WebAPI").digest()  # noqa: S324


def rand_answer(password: str, rand: bytes) -> str:
    return hashlib.md5(password_hash(password) + rand).hexdigest()  # noqa: S324


_SESSIONS: dict[tuple[str, str, str], str] = {}
_SESSIONS_LOCK = threading.Lock()
_BUDGETS: dict[tuple[str, str], Budget] = {}


def budget_for(base_url: str, login: str, limit: int = RATE_LIMIT) -> Budget:
    """The one budget of a manager login at an address in this process."""
    with _SESSIONS_LOCK:
        found = _BUDGETS.get((base_url, login))
        if found is None or found.limit != limit:
            found = _BUDGETS[(base_url, login)] = Budget(limit, RATE_WINDOW)
        return found


class WebApi:
    def __init__(
        self,
        base_url: str,
        login: str,
        password: str,
        *,
        timeout: float = TIMEOUT,
        rate_limit: int = RATE_LIMIT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.login = login
        self.password = password
        self.timeout = timeout
        self.budget = budget_for(self.base_url, login, rate_limit)

    @property
    def _slot(self) -> tuple[str, str, str]:
        # The password's hash too: a session is never lent to a client with another password.
        return (self.base_url, self.login, password_hash(self.password).hex())

    def forget_session(self) -> None:
        with _SESSIONS_LOCK:
            _SESSIONS.pop(self._slot, None)

    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        return self.call(path, query)

    def post(self, path: str, query: dict[str, Any] | None, body: Any) -> Any:
        return self.call(path, query, body)

    def call(self, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        """The answer's `answer` (None when it has none), or a PlatformError."""
        with _SESSIONS_LOCK:
            cookie = _SESSIONS.get(self._slot)
        if cookie is None:
            cookie = self.authenticate()
        try:
            return self._answer(path, self._send(path, query, body, cookie))
        except WebApiError as refused:
            if refused.code not in NO_SESSION and refused.status != 403:
                raise
        self.forget_session()
        return self._answer(path, self._send(path, query, body, self.authenticate()))

    def authenticate(self) -> str:
        """The handshake; the new session's cookie (kept for the next calls)."""
        if not self.login or not self.password:
            raise PlatformError("The manager's login or password is not set.", transient=False)
        start, cookie = self._request(
            "/api/auth/start",
            {"version": VERSION, "agent": AGENT, "login": self.login, "type": "manager"},
            None,
            "",
        )
        self._answer("/api/auth/start", (start, 200))
        try:
            srv_rand = bytes.fromhex(str(start.get("srv_rand") or ""))
        except ValueError:
            srv_rand = b""
        if not srv_rand or not cookie:
            raise WebApiError(
                "The MT5 server's answer to auth/start has no srv_rand or no session.",
                code="",
                status=200,
                transient=False,
                answer=str(start)[:2000],
            )
        cli_rand = secrets.token_bytes(16)
        answer, _ = self._request(
            "/api/auth/answer",
            {"srv_rand_answer": rand_answer(self.password, srv_rand), "cli_rand": cli_rand.hex()},
            None,
            cookie,
        )
        self._answer("/api/auth/answer", (answer, 200))
        if not secrets.compare_digest(
            str(answer.get("cli_rand_answer") or ""), rand_answer(self.password, cli_rand)
        ):
            raise WebApiError(
                "The MT5 server could not prove it knows the manager's password "
                "(cli_rand_answer): is the address right?",
                code="",
                status=200,
                transient=False,
            )
        with _SESSIONS_LOCK:
            _SESSIONS[self._slot] = cookie
        return cookie

    def _send(
        self, path: str, query: dict[str, Any] | None, body: Any, cookie: str
    ) -> tuple[Any, int]:
        answer, _ = self._request(path, query, body, cookie)
        return answer, 200

    def _answer(self, path: str, sent: tuple[Any, int]) -> Any:
        body, _ = sent
        if not isinstance(body, dict):
            raise WebApiError(
                f"MT5 answered {path} with something that is not a Web API answer.",
                code="",
                status=200,
                transient=True,
                answer=str(body)[:2000],
            )
        retcode = str(body.get("retcode") or "")
        code = retcode.split(" ", 1)[0]
        if code != "0":
            raise WebApiError(
                f"MT5 answered {path}: {retcode or 'no retcode'}",
                code=code,
                status=200,
                transient=code in TRANSIENT_CODES,
                answer=json.dumps(body)[:2000],
            )
        return body.get("answer")

    def _request(
        self, path: str, query: dict[str, Any] | None, body: Any, cookie: str
    ) -> tuple[Any, str]:
        """(the JSON answer, the session cookie the server set, "" if none)."""
        if not self.base_url:
            raise PlatformError("No address is set for this trading server.", transient=False)
        if in_clear_elsewhere(self.base_url):
            # The session's cookie and the traders' new passwords (user/add's query) would
            # cross the network in clear: only a stand-in on this machine is spoken to so.
            raise PlatformError(
                "The MT5 Web API's address must be https:// (traders' passwords are sent to it).",
                transient=False,
            )
        url = self.base_url + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if cookie:
            headers["Cookie"] = f"MT5WebAPI={cookie}"
        request = urllib.request.Request(  # noqa: S310  (the configured http(s) address)
            url, data=data, method="POST" if data is not None else "GET", headers=headers
        )
        self.budget.take()
        try:
            with OPENER.open(request, timeout=self.timeout) as response:
                raw = read_bounded(response, MAX_ANSWER)
                given = response.headers.get("Set-Cookie") or ""
        except urllib.error.HTTPError as refused:
            try:
                text = refused.read()[:2000].decode(errors="replace")
            except OSError:
                text = ""
            code = ""
            with contextlib.suppress(ValueError, AttributeError):
                code = str(json.loads(text).get("retcode") or "").split(" ", 1)[0]
            raise WebApiError(
                f"MT5 answered {refused.code} to {path}" + (f" ({text})" if text else ""),
                code=code,
                status=refused.code,
                transient=refused.code >= 500 or refused.code == 429,
                answer=text,
            ) from None
        except TimeoutError:
            raise WebApiError(
                f"MT5 did not answer {path} within {self.timeout:g} s.",
                code="",
                status=0,
                transient=True,
            ) from None
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as away:
            reason = getattr(away, "reason", away)
            raise WebApiError(
                f"MT5 could not be reached for {path}: {reason}",
                code="",
                status=0,
                transient=True,
            ) from None
        if raw is None:
            raise WebApiError(
                f"MT5's answer to {path} is too large.", code="", status=200, transient=True
            )
        new_cookie = ""
        for part in given.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "MT5WebAPI":
                new_cookie = value
        try:
            return json.loads(raw) if raw.strip() else None, new_cookie or cookie
        except ValueError:
            raise WebApiError(
                f"MT5's answer to {path} is not JSON.",
                code="",
                status=200,
                transient=True,
                answer=raw[:2000].decode(errors="replace"),
            ) from None
