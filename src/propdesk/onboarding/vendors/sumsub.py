"""SumSub behind the KYC-vendor protocol.

Requests are signed as https://docs.sumsub.com/reference/authentication specifies; webhooks are
verified with `X-Payload-Digest` / `X-Payload-Digest-Alg` over the raw body
(https://docs.sumsub.com/docs/webhook-manager); the review is always read back from the
applicant's data, `GET /resources/applicants/{id}/one`
(https://docs.sumsub.com/reference/get-applicant-data; see `review` for why not `/status`).

The app token goes over https only (plain http to this machine only, for the fake); a redirect
is never followed; an error never carries a request's headers.

SumSub's webhooks carry no event id: an event is known by the digest of its exact body (a
retried delivery is the same body, so it is handled once).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from propdesk.core.outbound import OPENER, plain_http_allowed, read_bounded
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
LINK_TTL = 1800  # seconds: the link and the SDK token live 30 minutes (propdesk's choice)
MAX_ANSWER = 2_000_000  # an API answer read at most


def usable_key(value: str) -> bool:
    """A key SumSub can be sent: printable ASCII only (a pasted line break or a non-ASCII
    character would make http.client refuse the header and put the key in its error)."""
    return value.isascii() and value.isprintable()


def _loads(text: str | bytes) -> Any:
    """JSON, or ValueError (a body nested deeper than the parser goes is not JSON to us)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


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
        if not plain_http_allowed(self.base_url):
            raise VendorRefused("The API address must start with https://.")
        if not (usable_key(self.app_token) and usable_key(self.secret_key)):
            raise VendorRefused("The app token or the secret key has characters no key has.")
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
            with OPENER.open(request, timeout=self.timeout) as response:
                raw = read_bounded(response, MAX_ANSWER)
        except urllib.error.HTTPError as failed:
            if 300 <= failed.code < 400:
                raise VendorRefused(
                    f"SumSub answered HTTP {failed.code} (a redirect, not followed).",
                    status=failed.code,
                ) from None
            text = failed.read(5000).decode(errors="replace")
            what = _description(text) or failed.reason
            message_ = f"SumSub answered HTTP {failed.code}: {what}"
            if failed.code >= 500 or failed.code in (408, 425, 429):
                raise VendorUnavailable(message_, status=failed.code, body=text) from None
            raise VendorRefused(message_, status=failed.code, body=text) from None
        except OSError as exc:
            # The reason only (never the request: a header's value could be in it).
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise VendorUnavailable(f"SumSub could not be reached: {str(reason)[:200]}") from None
        except (ValueError, http.client.HTTPException):
            raise VendorUnavailable("SumSub could not be reached: the request failed.") from None
        if raw is None:
            raise VendorUnavailable("SumSub's answer is too large.")
        text = raw.decode(errors="replace")
        try:
            return _loads(text)
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
        if not isinstance(url, str) or not isinstance(applicant_id, str) or not applicant_id:
            raise VendorUnavailable("SumSub's answer lacks the applicant or the link.")
        # The link is put in the client's page as it is: only a web address is taken (never
        # `javascript:` or `data:`), and an applicant id is what SumSub documents (hex).
        if not _web_address(url) or len(applicant_id) > 64 or not applicant_id.isalnum():
            raise VendorUnavailable("SumSub's answer is not in its documented shape.")
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
        given = given.strip().lower()
        # compare_digest raises on non-ASCII text: such a digest is simply wrong.
        if not given or not given.isascii() or not hmac.compare_digest(expected, given):
            raise BadWebhook("The webhook's digest does not match.")
        try:
            event = _loads(body)
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
        """The applicant's `review` from its data (`GET /resources/applicants/{id}/one`).

        Not `/status`: its reference lists only reviewAnswer, rejectLabels and
        reviewRejectType in its reviewResult and sends elsewhere for the comments
        (https://docs.sumsub.com/reference/get-applicant-review-status), while a FINAL
        rejection's comments are to be read "from the webhook or applicant data payload"
        (https://docs.sumsub.com/reference/get-applicant-verification-steps-status); the
        webhook is never believed, so the applicant's data it is."""
        if not applicant_id:
            raise VendorRefused("The applicant has no SumSub id yet.")
        data = self._call("GET", f"/resources/applicants/{quote(applicant_id, safe='')}/one")
        status = data.get("review") if isinstance(data, dict) else None
        if not isinstance(status, dict):
            raise VendorUnavailable("SumSub's applicant has no review object.")
        if isinstance(data, dict) and data.get("id") not in (None, applicant_id):
            raise VendorUnavailable("SumSub answered about another applicant.")
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
        if not isinstance(labels, list):
            labels = []
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


def _web_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname) and len(url) <= 2000


def _description(text: str) -> str:
    try:
        data = _loads(text)
    except ValueError:
        return text[:200]
    return str(data.get("description", ""))[:300] if isinstance(data, dict) else ""


def errors_of(exc: VendorError) -> str:
    return str(exc)
