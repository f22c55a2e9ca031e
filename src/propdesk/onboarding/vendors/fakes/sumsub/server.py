"""A fake SumSub: the documented API behind its documented gate, the hosted WebSDK page where the
"applicant" submits and the fake's reviewer decides, signed webhooks retried when the receiver
fails, and controls under `/_fake/` (no signature needed, not part of SumSub's API).

What it follows, from SumSub's documentation:

- Authentication (https://docs.sumsub.com/reference/authentication): every request carries
  `X-App-Token`, `X-App-Access-Ts` (seconds since the epoch, UTC) and `X-App-Access-Sig`, the
  lowercase hex HMAC-SHA256, with the secret key, of ts + METHOD + path-with-query + body.
- Create applicant (https://docs.sumsub.com/reference/create-applicants):
  `POST /resources/applicants?levelName=...` with `externalUserId` (unique: a second one is
  refused 409); get it with `GET /resources/applicants/{id}/one` or
  `GET /resources/applicants/-;externalUserId={id}/one`
  (https://docs.sumsub.com/reference/get-applicant-data-via-externaluserid).
- Review status (https://docs.sumsub.com/reference/get-applicant-review-status):
  `GET /resources/applicants/{id}/status` with reviewStatus, attemptCnt, reviewResult.
- Access token for the WebSDK (https://docs.sumsub.com/docs/generate-access-token):
  `POST /resources/accessTokens/sdk` {userId, levelName, ttlInSecs} -> {token, userId}.
- External WebSDK link (https://docs.sumsub.com/reference/generate-websdk-external-link):
  `POST /resources/sdkIntegrations/levels/-/websdkLink` {levelName, userId, ttlInSecs,
  redirect} -> {url}.
- Simulated review in Sandbox (https://docs.sumsub.com/reference/set-review-for-applicant-on-sandbox):
  `POST /resources/applicants/{id}/status/testCompleted` {reviewAnswer, rejectLabels,
  reviewRejectType, clientComment, moderationComment}.
- Results (https://docs.sumsub.com/docs/receive-and-interpret-results-via-api): reviewAnswer
  GREEN/RED; on RED, reviewRejectType FINAL or RETRY, rejectLabels, moderationComment (for the
  applicant), clientComment (for the firm only). A RETRY lets the applicant submit again.
- Webhooks (https://docs.sumsub.com/docs/user-verification-webhooks,
  https://docs.sumsub.com/docs/webhook-manager): applicantCreated, applicantPending,
  applicantReviewed; the body's HMAC with the webhook's secret key in `X-Payload-Digest`, its
  algorithm in `X-Payload-Digest-Alg` (HMAC_SHA1_HEX, HMAC_SHA256_HEX (default),
  HMAC_SHA512_HEX); a failed delivery is sent again four times (5 min, 1 h, 5 h, 18 h).
- Errors: a JSON body {description, code, correlationId} (the example in
  https://docs.sumsub.com/reference/approve-applicant).

Where the documentation is silent, the fake chooses (and says so where it does): the
timestamp may be at most 300 seconds away from the fake's clock; the error bodies add an
`errorName`; the retry delays are seconds, not hours, unless given (`retry_delays`); an unknown
level is refused 404.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from propdesk.onboarding.vendors.fakes.sumsub import pages
from propdesk.onboarding.vendors.fakes.sumsub.wire import (
    DIGESTS,
    digest,
    post_webhook,
    review_status,
    sign_request,
)

__all__ = ["DIGESTS", "FakeSumsub", "digest", "post_webhook", "sign_request"]

DEFAULT_APP_TOKEN = "sbx:fake-sumsub-app-token"
DEFAULT_SECRET_KEY = "fake-sumsub-secret-key"
DEFAULT_WEBHOOK_SECRET = "fake-sumsub-webhook-secret"
DEFAULT_LEVEL = "basic-kyc-level"
TS_TOLERANCE = 300  # seconds (the fake's choice: the documentation gives no number)
Deliver = Callable[[str, bytes, dict[str, str]], int]


class ApiError(Exception):
    def __init__(self, code: int, description: str, name: str = "") -> None:
        super().__init__(description)
        self.code, self.description, self.name = code, description, name


def _now_ms() -> str:
    # The webhooks' createdAtMs, as in the documentation's examples: "2020-02-21 13:23:19.321".
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class FakeSumsub:
    """The fake vendor. `webhook_url` empty: webhooks wait in `deliveries` for a test to hand
    over (`flush`); otherwise a thread posts them and tries again after `retry_delays`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_token: str = DEFAULT_APP_TOKEN,
        secret_key: str = DEFAULT_SECRET_KEY,
        webhook_url: str = "",
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        digest_alg: str = "HMAC_SHA256_HEX",
        levels: tuple[str, ...] = (DEFAULT_LEVEL,),
        retry_delays: tuple[float, ...] = (5.0, 10.0, 30.0, 60.0),
        max_applicants: int = 500,
    ) -> None:
        if digest_alg not in DIGESTS:
            raise ValueError(f"digest_alg is one of {', '.join(DIGESTS)}")
        self.host, self.port = host, port
        self.app_token, self.secret_key = app_token, secret_key
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.digest_alg = digest_alg
        self.levels = set(levels)
        self.retry_delays = retry_delays
        # "The maximum number of applicant profiles that you can create in Sandbox mode is
        # limited to 500 per 24 hours" (https://docs.sumsub.com/reference/create-applicants);
        # the fake counts over its whole life, and answers 429 (the status is its choice).
        self.max_applicants = max_applicants
        self.lock = threading.RLock()
        self.applicants: dict[str, dict[str, Any]] = {}
        self.links: dict[str, dict[str, Any]] = {}  # link or SDK token -> userId, level, expiry
        self.deliveries: list[dict[str, Any]] = []  # every webhook, with its attempts
        self.fail_next: list[int] = []  # statuses the next API requests answer
        self.delay_next: list[float] = []  # seconds the next API requests wait
        self.down = False
        self._server: ThreadingHTTPServer | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()

    # --- life ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeSumsub:
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        threading.Thread(target=self._sender, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSumsub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- applicants ---------------------------------------------------------------------------

    def _applicant_for(self, user_id: str, level: str, *, email: str = "") -> dict[str, Any]:
        with self.lock:
            for found in self.applicants.values():
                if found["externalUserId"] == user_id:
                    return found
            applicant: dict[str, Any] = {
                "id": secrets.token_hex(12),  # 24 lowercase hex characters, as SumSub's ids
                "createdAt": _iso(),
                "key": "FAKEKEY",
                "clientId": "propdesk-fake",
                "inspectionId": secrets.token_hex(12),
                "externalUserId": user_id,
                "email": email,
                "type": "individual",
                "levelName": level,
                "review": {
                    "reviewId": secrets.token_hex(4),
                    "attemptId": secrets.token_hex(4),
                    "attemptCnt": 0,
                    "levelName": level,
                    "createDate": _iso(),
                    "reviewStatus": "init",
                    "priority": 0,
                },
            }
            self.applicants[applicant["id"]] = applicant
            self._webhook(applicant, "applicantCreated")
            return applicant

    def submit_documents(self, applicant_id: str) -> dict[str, Any]:
        """The applicant finished the WebSDK's steps: the check waits for the reviewer."""
        with self.lock:
            applicant = self.applicants[applicant_id]
            review = applicant["review"]
            if review["reviewStatus"] == "pending":
                return applicant
            if review.get("reviewResult", {}).get("reviewAnswer") == "GREEN":
                raise ApiError(409, "The applicant is already approved")
            if review.get("reviewResult", {}).get("reviewRejectType") == "FINAL":
                raise ApiError(409, "The applicant was rejected for good", "final-rejection")
            review.update(
                reviewStatus="pending",
                attemptCnt=review["attemptCnt"] + 1,
                attemptId=secrets.token_hex(4),
                createDate=_iso(),
            )
            review.pop("reviewResult", None)
            review.pop("reviewDate", None)
            self._webhook(applicant, "applicantPending")
            return applicant

    def review(self, applicant_id: str, result: Any) -> dict[str, Any]:
        """Decide the check (the documented sandbox `testCompleted`, and the fake's reviewer)."""
        if not isinstance(result, dict) or result.get("reviewAnswer") not in ("GREEN", "RED"):
            raise ApiError(400, "reviewAnswer must be GREEN or RED", "bad-request")
        answer = result["reviewAnswer"]
        reject_type = result.get("reviewRejectType") or ("" if answer == "GREEN" else "RETRY")
        if answer == "RED" and reject_type not in ("RETRY", "FINAL"):
            raise ApiError(400, "reviewRejectType must be RETRY or FINAL", "bad-request")
        labels = result.get("rejectLabels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ApiError(400, "rejectLabels must be a list of strings", "bad-request")
        with self.lock:
            applicant = self.applicants.get(applicant_id)
            if applicant is None:
                raise ApiError(404, f"Applicant not found: {applicant_id}", "not-found")
            outcome: dict[str, Any] = {"reviewAnswer": answer}
            if answer == "RED":
                outcome.update(
                    rejectLabels=labels,
                    reviewRejectType=reject_type,
                    moderationComment=str(result.get("moderationComment") or ""),
                    clientComment=str(result.get("clientComment") or ""),
                )
            review = applicant["review"]
            review.update(reviewStatus="completed", reviewDate=_iso(), reviewResult=outcome)
            self._webhook(applicant, "applicantReviewed", reviewResult=outcome)
            return applicant

    # --- webhooks -----------------------------------------------------------------------------

    def _webhook(self, applicant: dict[str, Any], kind: str, **extra: Any) -> None:
        review = applicant["review"]
        payload = {
            "applicantId": applicant["id"],
            "inspectionId": applicant["inspectionId"],
            "applicantType": "individual",
            "correlationId": secrets.token_hex(16),
            "levelName": applicant["levelName"],
            "sandboxMode": True,
            "externalUserId": applicant["externalUserId"],
            "type": kind,
            "reviewStatus": review["reviewStatus"],
            "createdAt": _iso(),
            "createdAtMs": _now_ms(),
            "clientId": applicant["clientId"],
            **extra,
        }
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Payload-Digest": digest(self.webhook_secret, body, self.digest_alg),
            "X-Payload-Digest-Alg": self.digest_alg,
        }
        with self.lock:
            self.deliveries.append(
                {
                    "n": len(self.deliveries) + 1,
                    "type": kind,
                    "applicantId": applicant["id"],
                    "body": body,
                    "headers": headers,
                    "attempts": 0,
                    "delivered": False,
                    "last_status": None,
                    "next_at": 0.0,
                }
            )
        self._wake.set()

    def flush(self, deliver: Deliver, *, now: float | None = None) -> int:
        """Hand every waiting webhook that is due to `deliver` (url, body, headers -> HTTP
        status); a failure (not 2xx, or an exception) waits for the next retry. Returns how
        many were delivered."""
        done = 0
        moment = time.monotonic() if now is None else now
        with self.lock:
            due = [
                d
                for d in self.deliveries
                if not d["delivered"]
                and d["attempts"] <= len(self.retry_delays)
                and d["next_at"] <= moment
            ]
        for delivery in due:
            try:
                status = deliver(self.webhook_url, delivery["body"], dict(delivery["headers"]))
            except Exception:
                status = 0
            with self.lock:
                delivery["attempts"] += 1
                delivery["last_status"] = status
                if 200 <= status < 300:
                    delivery["delivered"] = True
                    done += 1
                elif delivery["attempts"] <= len(self.retry_delays):
                    wait = self.retry_delays[delivery["attempts"] - 1]
                    delivery["next_at"] = time.monotonic() + wait
        return done

    def replay(self, n: int, deliver: Deliver | None = None) -> int:
        """Send webhook number `n` again, as it was (same body, same digest)."""
        with self.lock:
            found = next((d for d in self.deliveries if d["n"] == n), None)
        if found is None:
            raise ApiError(404, f"No webhook number {n}", "not-found")
        return (deliver or post_webhook)(self.webhook_url, found["body"], dict(found["headers"]))

    def _sender(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self.webhook_url and not self._stop.is_set():
                self.flush(post_webhook)

    # --- the API ------------------------------------------------------------------------------

    def check_auth(self, method: str, path: str, headers: Any, body: bytes) -> None:
        token = headers.get("X-App-Token")
        ts = headers.get("X-App-Access-Ts")
        sig = headers.get("X-App-Access-Sig")
        if not token or not ts or not sig:
            raise ApiError(401, "App token, timestamp and signature are required", "auth-missing")
        if token != self.app_token:
            raise ApiError(401, "Invalid app token", "app-token-invalid")
        try:
            skew = abs(time.time() - int(ts))
        except ValueError:
            raise ApiError(401, "Invalid X-App-Access-Ts", "auth-ts-invalid") from None
        if skew > TS_TOLERANCE:
            raise ApiError(401, "Request timestamp is too far from now", "auth-ts-expired")
        expected = sign_request(self.secret_key, ts, method, path, body)
        if not sig.isascii() or not hmac.compare_digest(expected, sig):
            raise ApiError(401, "Request signature mismatch", "app-token-signature-mismatch")

    def api(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Any:
        parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
        data: Any = {}
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError(400, "The body is not JSON", "bad-request") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The body must be a JSON object", "bad-request")
        if method == "POST" and parts == ["resources", "applicants"]:
            return self._create(query, data)
        if method == "GET" and len(parts) == 4 and parts[:2] == ["resources", "applicants"]:
            applicant = self._find(parts[2])
            if parts[3] == "one":
                return applicant
            if parts[3] == "status":
                return review_status(applicant["review"])
        if (
            method == "POST"
            and parts[:2] == ["resources", "applicants"]
            and parts[3:] == ["status", "testCompleted"]
        ):
            return self.review(self._find(parts[2])["id"], data)
        if method == "POST" and parts == ["resources", "accessTokens", "sdk"]:
            user_id, level, ttl = self._link_fields(data)
            token = "_act-" + secrets.token_urlsafe(24)
            with self.lock:
                self.links[token] = {"userId": user_id, "level": level, "until": time.time() + ttl}
            return {"token": token, "userId": user_id}
        if method == "POST" and parts == [
            "resources",
            "sdkIntegrations",
            "levels",
            "-",
            "websdkLink",
        ]:
            user_id, level, ttl = self._link_fields(data)
            given = data.get("redirect")
            redirect: dict[str, Any] = given if isinstance(given, dict) else {}
            ids = data.get("applicantIdentifiers")
            email = str(ids.get("email") or "") if isinstance(ids, dict) else ""
            token = secrets.token_urlsafe(24)
            with self.lock:
                self.links[token] = {
                    "userId": user_id,
                    "level": level,
                    "until": time.time() + ttl,
                    "email": email,
                    "successUrl": str(redirect.get("successUrl") or ""),
                }
            return {"url": f"{self.url}/websdk/p/{token}"}
        raise ApiError(404, f"No such resource: {method} {urlsplit(path).path}", "not-found")

    def _create(self, query: dict[str, list[str]], data: dict[str, Any]) -> dict[str, Any]:
        level = (query.get("levelName") or [""])[0]
        if not level:
            raise ApiError(400, "levelName is required", "bad-request")
        if level not in self.levels:
            raise ApiError(404, f"Level '{level}' not found", "level-not-found")
        user_id = data.get("externalUserId")
        if not isinstance(user_id, str) or not user_id or len(user_id) > 256:
            raise ApiError(400, "externalUserId is required", "bad-request")
        with self.lock:
            for found in self.applicants.values():
                if found["externalUserId"] == user_id:
                    raise ApiError(
                        409,
                        f"Applicant with external user id '{user_id}' already exists: "
                        f"{found['id']}",
                        "duplicate",
                    )
            if len(self.applicants) >= self.max_applicants:
                raise ApiError(429, "Too many applicants created", "applicant-limit")
            return self._applicant_for(user_id, level, email=str(data.get("email") or ""))

    def _find(self, key: str) -> dict[str, Any]:
        with self.lock:
            if key.startswith("-;externalUserId="):
                wanted = key.split("=", 1)[1]
                found = next(
                    (a for a in self.applicants.values() if a["externalUserId"] == wanted), None
                )
            else:
                found = self.applicants.get(key)
        if found is None:
            raise ApiError(404, f"Applicant not found: {key}", "not-found")
        return found

    def _link_fields(self, data: dict[str, Any]) -> tuple[str, str, int]:
        user_id, level = data.get("userId"), data.get("levelName")
        if not isinstance(user_id, str) or not user_id:
            raise ApiError(400, "userId is required", "bad-request")
        if not isinstance(level, str) or level not in self.levels:
            raise ApiError(404, f"Level '{level}' not found", "level-not-found")
        ttl = data.get("ttlInSecs", 1800)
        if not isinstance(ttl, int) or not 1 <= ttl <= 86400:
            raise ApiError(400, "ttlInSecs must be between 1 and 86400", "bad-request")
        return user_id, level, ttl

    def link(self, token: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.links.get(token)
        if found is None or found["until"] < time.time():
            return None
        return found

    # --- controls -----------------------------------------------------------------------------

    def control(self, method: str, name: str, data: dict[str, Any]) -> Any:
        if name == "review" and method == "POST":
            key = str(data.get("applicantId") or "")
            if not key:
                key = f"-;externalUserId={data.get('externalUserId', '')}"
            applicant = self._find(key)
            return self.review(applicant["id"], data)
        if name == "submit" and method == "POST":
            return self.submit_documents(self._find(str(data.get("applicantId", "")))["id"])
        if name == "fail" and method == "POST":
            count, status = int(data.get("count", 1)), int(data.get("status", 500))
            with self.lock:
                self.fail_next += [status] * max(0, min(count, 1000))
            return {"failing": len(self.fail_next)}
        if name == "delay" and method == "POST":
            count, seconds = int(data.get("count", 1)), float(data.get("seconds", 1))
            with self.lock:
                self.delay_next += [max(0.0, min(seconds, 60.0))] * max(0, min(count, 1000))
            return {"delayed": len(self.delay_next)}
        if name == "down" and method == "POST":
            self.down = bool(data.get("down", True))
            return {"down": self.down}
        if name == "webhooks" and method == "GET":
            with self.lock:
                return [
                    {k: v for k, v in d.items() if k not in ("body", "next_at")}
                    | {"body": json.loads(d["body"])}
                    for d in self.deliveries
                ]
        if name == "replay" and method == "POST":
            return {"status": self.replay(int(data.get("n", 0)))}
        if name == "applicants" and method == "GET":
            with self.lock:
                return list(self.applicants.values())
        raise ApiError(404, f"No such control: {method} /_fake/{name}", "not-found")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def fake(self) -> FakeSumsub:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 <= length <= 1_000_000:  # the fake's bound: SumSub documents none
                self.close_connection = True
                raise ApiError(413 if length > 0 else 400, "Bad Content-Length", "bad-request")
            body = self.rfile.read(length) if length else b""
            if split.path.startswith("/_fake/"):
                data = json.loads(body) if body else {}
                if not isinstance(data, dict):
                    raise ApiError(400, "The body must be a JSON object", "bad-request")
                self._json(200, self.fake.control(method, split.path[len("/_fake/") :], data))
            elif split.path.startswith("/websdk/"):
                status, html, location = pages.handle(self.fake, method, split.path, body)
                self._html(status, html, location)
            else:
                self._api(method, body, query)
        except ApiError as exc:
            self._json(exc.code, self._error(exc))
        except (ValueError, TypeError, RecursionError) as exc:
            self._json(400, self._error(ApiError(400, str(exc)[:200], "bad-request")))

    def _api(self, method: str, body: bytes, query: dict[str, list[str]]) -> None:
        fake = self.fake
        if fake.down:
            self.close_connection = True
            self.connection.close()  # down: nobody answers
            return
        with fake.lock:
            delay = fake.delay_next.pop(0) if fake.delay_next else 0.0
            failing = fake.fail_next.pop(0) if fake.fail_next else None
        if delay:
            time.sleep(delay)
        if failing is not None:
            raise ApiError(failing, "Internal error (ordered through /_fake/fail)", "fake-fault")
        fake.check_auth(method, self.path, self.headers, body)
        self._json(200, fake.api(method, self.path, query, body))

    def _error(self, exc: ApiError) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": exc.description,
            "code": exc.code,
            "correlationId": secrets.token_hex(16),
        }
        if exc.name:
            out["errorName"] = exc.name
        return out

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _html(self, status: int, html: str, location: str = "") -> None:
        data = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(data)
