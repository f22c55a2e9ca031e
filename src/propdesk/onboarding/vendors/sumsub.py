"""SumSub behind the KYC-vendor protocol.

Requests are signed as https://docs.sumsub.com/reference/authentication specifies; webhooks are
verified with `X-Payload-Digest` / `X-Payload-Digest-Alg` over the raw body
(https://docs.sumsub.com/docs/webhook-manager); the review is always read back with
`GET /resources/applicants/{id}/status`
(https://docs.sumsub.com/reference/get-applicant-review-status).

SumSub's webhooks carry no event id: an event is known by the digest of its exact body (a
retried delivery is the same body, so it is handled once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from propdesk.onboarding.vendors.protocol import (
    Answer,
    BadWebhook,
    Field,
    Notice,
    Review,
    Started,
    StartRequest,
    VendorError,
    VendorRefused,
    VendorUnavailable,
)

DEFAULT_BASE_URL = "https://api.sumsub.com"
DIGESTS = {
    "HMAC_SHA1_HEX": hashlib.sha1,
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
}
MAX_WEBHOOK_BYTES = 256 * 1024
LINK_TTL = 1800  # seconds: a permalink lives 30 minutes in SumSub's dashboard too


class Sumsub:
    kind: ClassVar[str] = "sumsub"
    label: ClassVar[str] = "SumSub"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("base_url", "API address", default=DEFAULT_BASE_URL),
        Field("level_name", "Verification level", default="basic-kyc-level"),
        Field("app_token", "App token", secret=True),
        Field("secret_key", "Secret key", secret=True),
        Field("webhook_secret", "Webhook secret key", secret=True),
    )

    def __init__(
        self,
        *,
        base_url: str,
        level_name: str,
        app_token: str,
        secret_key: str,
        webhook_secret: str,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.level_name = level_name
        self.app_token, self.secret_key = app_token, secret_key
        self.webhook_secret = webhook_secret
        self.timeout = timeout

    # --- calls --------------------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        body = b"" if payload is None else json.dumps(payload).encode()
        ts = str(int(time.time()))
        message = ts.encode() + method.encode() + path.encode() + body
        signature = hmac.new(self.secret_key.encode(), message, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310  (the firm's configured address)
            self.base_url + path,
            data=body if method != "GET" else None,
            method=method,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-App-Token": self.app_token,
                "X-App-Access-Ts": ts,
                "X-App-Access-Sig": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                text = response.read(2_000_000).decode(errors="replace")
        except urllib.error.HTTPError as failed:
            text = failed.read(5000).decode(errors="replace")
            what = _description(text) or failed.reason
            message_ = f"SumSub answered HTTP {failed.code}: {what}"
            if failed.code >= 500 or failed.code in (408, 425, 429):
                raise VendorUnavailable(message_, status=failed.code, body=text) from None
            raise VendorRefused(message_, status=failed.code, body=text) from None
        except (OSError, ValueError) as exc:
            raise VendorUnavailable(f"SumSub could not be reached: {exc}") from None
        try:
            return json.loads(text)
        except ValueError:
            raise VendorUnavailable("SumSub's answer is not JSON.", body=text[:2000]) from None

    # --- the protocol -------------------------------------------------------------------------

    def start(self, request: StartRequest) -> Started:
        """The applicant (created once; a second creation is refused 409 by SumSub and then
        read by externalUserId) and a WebSDK permalink for it."""
        user = request.external_user_id
        try:
            applicant = self._call(
                "POST",
                f"/resources/applicants?levelName={quote(self.level_name, safe='')}",
                {"externalUserId": user, "email": request.email},
            )
        except VendorRefused as refused:
            if refused.status != 409:
                raise
            applicant = self._call(
                "GET", f"/resources/applicants/-;externalUserId={quote(user, safe='')}/one"
            )
        link = self._call(
            "POST",
            f"/resources/sdkIntegrations/levels/-/websdkLink?lang={quote(request.lang, safe='')}",
            {
                "levelName": self.level_name,
                "userId": user,
                "applicantIdentifiers": {"email": request.email},
                "ttlInSecs": LINK_TTL,
                "redirect": {"successUrl": request.return_url, "rejectUrl": request.return_url},
            },
        )
        url = link.get("url") if isinstance(link, dict) else None
        applicant_id = applicant.get("id") if isinstance(applicant, dict) else None
        if not isinstance(url, str) or not isinstance(applicant_id, str):
            raise VendorUnavailable("SumSub's answer lacks the applicant or the link.")
        return Started(
            applicant_id=applicant_id,
            url=url,
            access_token="",
            raw={"applicant": applicant, "link": link},
        )

    def access_token(self, external_user_id: str) -> str:
        """A token for the WebSDK (https://docs.sumsub.com/docs/generate-access-token)."""
        answer = self._call(
            "POST",
            "/resources/accessTokens/sdk",
            {"userId": external_user_id, "levelName": self.level_name, "ttlInSecs": LINK_TTL},
        )
        return str(answer.get("token", "")) if isinstance(answer, dict) else ""

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Notice:
        if len(body) > MAX_WEBHOOK_BYTES:
            raise BadWebhook("The webhook is too large.")
        alg = headers.get("X-Payload-Digest-Alg") or "HMAC_SHA256_HEX"
        given = headers.get("X-Payload-Digest") or ""
        if alg not in DIGESTS:
            raise BadWebhook(f"Unknown digest algorithm {alg[:40]!r}.")
        if not self.webhook_secret:
            raise BadWebhook("No webhook secret key is set.")
        expected = hmac.new(self.webhook_secret.encode(), body, DIGESTS[alg]).hexdigest()
        if not given or not hmac.compare_digest(expected, given.strip().lower()):
            raise BadWebhook("The webhook's digest does not match.")
        try:
            event = json.loads(body)
            kind, applicant_id = event["type"], event["applicantId"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadWebhook("The webhook is not in SumSub's shape.") from exc
        if not isinstance(kind, str) or not isinstance(applicant_id, str) or not applicant_id:
            raise BadWebhook("The webhook is not in SumSub's shape.")
        return Notice(
            event_key=hashlib.sha256(body).hexdigest(),
            type=kind[:60],
            applicant_id=applicant_id[:64],
            external_user_id=str(event.get("externalUserId") or "")[:100],
            raw=event,
        )

    def review(self, applicant_id: str) -> Review:
        status = self._call("GET", f"/resources/applicants/{quote(applicant_id, safe='')}/status")
        if not isinstance(status, dict):
            raise VendorUnavailable("SumSub's review status is not an object.")
        result = status.get("reviewResult") or {}
        if status.get("reviewStatus") != "completed" or not isinstance(result, dict):
            return Review(applicant_id, Answer.WAITING, raw=status)
        answer_text = result.get("reviewAnswer")
        if answer_text == "GREEN":
            answer = Answer.APPROVED
        elif answer_text == "RED":
            final = result.get("reviewRejectType") == "FINAL"
            answer = Answer.FINAL if final else Answer.RETRY
        else:
            return Review(applicant_id, Answer.WAITING, raw=status)
        labels = result.get("rejectLabels") or []
        return Review(
            applicant_id,
            answer,
            labels=tuple(str(x)[:60] for x in labels if isinstance(x, str))[:20],
            client_comment=str(result.get("clientComment") or "")[:1000],
            moderation_comment=str(result.get("moderationComment") or "")[:1000],
            raw=status,
        )

    def test_connection(self) -> str:
        """A signed read of an applicant that does not exist: 404 means the token and the
        signature were accepted."""
        try:
            self._call("GET", "/resources/applicants/-;externalUserId=propdesk-connection-test/one")
        except VendorRefused as refused:
            if refused.status == 404:
                return "SumSub accepted the app token and the signature."
            raise
        return "SumSub accepted the app token and the signature."


def _description(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    return str(data.get("description", ""))[:300] if isinstance(data, dict) else ""


def errors_of(exc: VendorError) -> str:
    return str(exc)
