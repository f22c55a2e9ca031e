"""The SumSub fake plays SumSub as documented: signed requests, its error bodies, applicants
created once, review status, access tokens and links, and webhooks with X-Payload-Digest."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from propdesk.onboarding.vendors.fakes.sumsub import (
    DEFAULT_APP_TOKEN,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    FakeSumsub,
)


@pytest.fixture
def fake() -> Iterator[FakeSumsub]:
    with FakeSumsub() as running:
        yield running


def call(
    fake: FakeSumsub,
    method: str,
    path: str,
    payload: Any = None,
    *,
    secret: str = DEFAULT_SECRET_KEY,
    token: str = DEFAULT_APP_TOKEN,
    ts: int | None = None,
) -> tuple[int, Any]:
    body = b"" if payload is None else json.dumps(payload).encode()
    stamp = str(int(time.time()) if ts is None else ts)
    sig = hmac.new(
        secret.encode(), stamp.encode() + method.encode() + path.encode() + body, hashlib.sha256
    ).hexdigest()
    request = urllib.request.Request(
        fake.url + path,
        data=body or None,
        method=method,
        headers={
            "Content-Type": "application/json",
            "X-App-Token": token,
            "X-App-Access-Ts": stamp,
            "X-App-Access-Sig": sig,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as failed:
        return failed.code, json.loads(failed.read())


def test_requests_need_the_app_token_and_a_signature_over_ts_method_path_and_body(fake):
    assert (
        call(
            fake,
            "POST",
            "/resources/applicants?levelName=basic-kyc-level",
            {"externalUserId": "u1"},
        )[0]
        == 200
    )
    status, error = call(fake, "GET", "/resources/applicants/-;externalUserId=u1/one", secret="x")
    assert status == 401
    assert error["code"] == 401
    assert error["description"]
    assert error["correlationId"]
    assert (
        call(fake, "GET", "/resources/applicants/-;externalUserId=u1/one", token="nope")[0] == 401
    )
    stale = int(time.time()) - 3600
    assert call(fake, "GET", "/resources/applicants/-;externalUserId=u1/one", ts=stale)[0] == 401


def test_an_applicant_is_created_once_per_external_user_id(fake):
    path = "/resources/applicants?levelName=basic-kyc-level"
    status, created = call(fake, "POST", path, {"externalUserId": "u2"})
    assert status == 200
    assert len(created["id"]) == 24
    assert created["review"]["reviewStatus"] == "init"
    status, error = call(fake, "POST", path, {"externalUserId": "u2"})
    assert status == 409
    assert created["id"] in error["description"]
    assert (
        call(fake, "POST", "/resources/applicants?levelName=nope", {"externalUserId": "u3"})[0]
        == 404
    )
    assert call(fake, "POST", path, {})[0] == 400
    status, found = call(fake, "GET", f"/resources/applicants/{created['id']}/one")
    assert status == 200
    assert found["externalUserId"] == "u2"


def test_review_status_follows_the_sandbox_review(fake):
    _, created = call(
        fake, "POST", "/resources/applicants?levelName=basic-kyc-level", {"externalUserId": "u4"}
    )
    fake.submit_documents(created["id"])
    _, status = call(fake, "GET", f"/resources/applicants/{created['id']}/status")
    assert status["reviewStatus"] == "pending"
    assert status["attemptCnt"] == 1
    outcome = {"reviewAnswer": "RED", "reviewRejectType": "RETRY", "rejectLabels": ["SELFIE"]}
    code, _ = call(
        fake, "POST", f"/resources/applicants/{created['id']}/status/testCompleted", outcome
    )
    assert code == 200
    _, status = call(fake, "GET", f"/resources/applicants/{created['id']}/status")
    assert status["reviewStatus"] == "completed"
    assert status["reviewResult"]["reviewRejectType"] == "RETRY"
    fake.submit_documents(created["id"])  # a RETRY may submit again
    _, status = call(fake, "GET", f"/resources/applicants/{created['id']}/status")
    assert status["reviewStatus"] == "pending"
    assert status["attemptCnt"] == 2


def test_access_tokens_and_websdk_links(fake):
    code, answer = call(
        fake,
        "POST",
        "/resources/accessTokens/sdk",
        {"userId": "u5", "levelName": "basic-kyc-level", "ttlInSecs": 600},
    )
    assert code == 200
    assert answer["userId"] == "u5"
    assert answer["token"].startswith("_act-")
    code, link = call(
        fake,
        "POST",
        "/resources/sdkIntegrations/levels/-/websdkLink",
        {"userId": "u5", "levelName": "basic-kyc-level", "ttlInSecs": 600},
    )
    assert code == 200
    assert link["url"].startswith(fake.url + "/websdk/p/")
    with urllib.request.urlopen(link["url"], timeout=5) as page:
        assert b"Submit documents" in page.read()
    assert call(fake, "POST", "/resources/accessTokens/sdk", {"userId": "u5"})[0] == 404


def test_webhooks_are_signed_with_the_documented_digest(fake):
    _, created = call(
        fake, "POST", "/resources/applicants?levelName=basic-kyc-level", {"externalUserId": "u6"}
    )
    fake.submit_documents(created["id"])
    fake.review(created["id"], {"reviewAnswer": "GREEN"})
    kinds = [d["type"] for d in fake.deliveries]
    assert kinds == ["applicantCreated", "applicantPending", "applicantReviewed"]
    last = fake.deliveries[-1]
    assert last["headers"]["X-Payload-Digest-Alg"] == "HMAC_SHA256_HEX"
    expected = hmac.new(DEFAULT_WEBHOOK_SECRET.encode(), last["body"], hashlib.sha256).hexdigest()
    assert last["headers"]["X-Payload-Digest"] == expected
    body = json.loads(last["body"])
    assert body["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert body["externalUserId"] == "u6"
    assert body["reviewStatus"] == "completed"


def test_failed_deliveries_are_tried_again_then_given_up(fake):
    fake.review(fake._applicant_for("u7", "basic-kyc-level")["id"], {"reviewAnswer": "GREEN"})
    for _ in range(5):
        fake.flush(lambda url, body, headers: 500, now=float("inf"))
    assert all(d["attempts"] == 5 and not d["delivered"] for d in fake.deliveries)
    assert fake.flush(lambda url, body, headers: 200, now=float("inf")) == 0


def test_controls_fail_and_take_down_the_api(fake):
    fake.control("POST", "fail", {"count": 1, "status": 503})
    path = "/resources/applicants?levelName=basic-kyc-level"
    status, error = call(fake, "POST", path, {"externalUserId": "u8"})
    assert status == 503
    assert error["code"] == 503
    assert call(fake, "POST", path, {"externalUserId": "u8"})[0] == 200
    fake.control("POST", "down", {"down": True})
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        call(fake, "GET", "/resources/applicants/-;externalUserId=u8/one")


def test_the_sandbox_limits_how_many_applicants_are_created():
    with FakeSumsub(max_applicants=1) as small:
        path = "/resources/applicants?levelName=basic-kyc-level"
        assert call(small, "POST", path, {"externalUserId": "a"})[0] == 200
        status, error = call(small, "POST", path, {"externalUserId": "b"})
        assert status == 429
        assert error["code"] == 429
