"""What the fake SumSub puts on the wire: request signatures, webhook digests, `/status`'s
shape, and posting a webhook (no Django: it plays the vendor)."""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from typing import Any

# https://docs.sumsub.com/docs/webhook-manager: the algorithms a webhook's digest may use.
DIGESTS = {
    "HMAC_SHA1_HEX": hashlib.sha1,
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
}


def sign_request(secret: str, ts: str, method: str, path: str, body: bytes) -> str:
    """X-App-Access-Sig as documented: hex HMAC-SHA256 of ts + METHOD + path + body."""
    message = ts.encode() + method.upper().encode() + path.encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def digest(secret: str, body: bytes, alg: str = "HMAC_SHA256_HEX") -> str:
    return hmac.new(secret.encode(), body, DIGESTS[alg]).hexdigest()


def review_status(review: dict[str, Any]) -> dict[str, Any]:
    """`/status` as its reference lists it: the reviewResult has reviewAnswer, rejectLabels and
    reviewRejectType, and the comments are fetched elsewhere
    (https://docs.sumsub.com/reference/get-applicant-review-status); the applicant's data
    (`/one`) keeps them."""
    result = review.get("reviewResult")
    if not isinstance(result, dict):
        return dict(review)
    kept = ("reviewAnswer", "rejectLabels", "reviewRejectType")
    return review | {"reviewResult": {k: v for k, v in result.items() if k in kept}}


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST one webhook as SumSub does; the HTTP status (0: not reached)."""
    if not url:
        return 0
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as failed:
        return int(failed.code)
    except (OSError, ValueError):
        return 0
