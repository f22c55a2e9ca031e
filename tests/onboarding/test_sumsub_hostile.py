"""SumSub against hostile or broken surroundings: keys never leak into errors, the app token
never follows a redirect nor goes over plain http beyond this machine, a vendor's answer that is
not a web address is never put in the client's page, JSON nested past the parser is refused
plainly, and a FINAL rejection's reason is read where SumSub documents it."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.models import Client
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import ValidationFailed
from propdesk.jobs.retries import policy_for
from propdesk.notifications.models import Notification
from propdesk.onboarding import vendor_kyc
from propdesk.onboarding.models import KycApplicant, KycVendorMessage, KycVendorSettings
from propdesk.onboarding.vendors.fakes.sumsub import (
    DEFAULT_APP_TOKEN,
    DEFAULT_LEVEL,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    FakeSumsub,
    digest,
)
from propdesk.onboarding.vendors.protocol import (
    StartRequest,
    VendorError,
    VendorRefused,
    VendorUnavailable,
)
from propdesk.onboarding.vendors.sumsub import Sumsub
from tests.onboarding.factories import deliver_with, enable_sumsub

pytestmark = pytest.mark.django_db

Answer = Callable[[str, str], tuple[int, dict[str, str], bytes]]


class StandIn:
    """A vendor address that answers as `answer` says and keeps the requests it is sent."""

    def __init__(self, answer: Answer) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                seen.append((self.command, self.path, dict(self.headers.items())))
                status, headers, body = answer(self.command, self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in() -> Iterator[Callable[[Answer], StandIn]]:
    made: list[StandIn] = []

    def make(answer: Answer) -> StandIn:
        made.append(StandIn(answer))
        return made[-1]

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def fake() -> Iterator[FakeSumsub]:
    with FakeSumsub() as running:
        yield running


def adapter(base_url: str, **keys: str) -> Sumsub:
    return Sumsub(
        base_url=base_url,
        level_name=DEFAULT_LEVEL,
        app_token=keys.get("app_token", DEFAULT_APP_TOKEN),
        secret_key=keys.get("secret_key", DEFAULT_SECRET_KEY),
        webhook_secret=DEFAULT_WEBHOOK_SECRET,
        timeout=5,
    )


def test_a_key_with_a_line_break_is_refused_and_never_shown(admin, fake):
    enable_sumsub(admin, fake)
    before = KycVendorSettings.objects.get().sealed_app_token
    pasted = "sbx:pasted-token\nX-Injected: 1"
    with pytest.raises(ValidationFailed) as refused:
        vendor_kyc.save_settings(
            actor=admin,
            enabled=True,
            base_url=fake.url,
            level_name=DEFAULT_LEVEL,
            on_green="review",
            secrets={"app_token": pasted, "secret_key": "", "webhook_secret": ""},
        )
    assert "pasted-token" not in str(refused.value.fields)
    assert KycVendorSettings.objects.get().sealed_app_token == before
    # Had it been stored (an older row), the adapter refuses it without saying it: http.client
    # would have put the whole header, token and all, in its error.
    with pytest.raises(VendorError) as failed:
        adapter(fake.url, app_token=pasted).test_connection()
    assert "pasted-token" not in str(failed.value)


def test_the_app_token_never_follows_a_redirect(stand_in):
    target = stand_in(lambda method, path: (404, {}, b'{"description": "not found"}'))
    redirecting = stand_in(lambda method, path: (302, {"Location": target.url + path}, b""))
    with pytest.raises(VendorRefused, match="redirect"):
        adapter(redirecting.url).test_connection()
    assert len(redirecting.seen) == 1
    assert target.seen == []


def test_plain_http_beyond_this_machine_is_refused(admin, fake):
    with pytest.raises(ValidationFailed) as refused:
        vendor_kyc.save_settings(
            actor=admin,
            enabled=False,
            base_url="http://api.sumsub.example",
            level_name=DEFAULT_LEVEL,
            on_green="review",
            secrets={},
        )
    assert "base_url" in refused.value.fields
    with pytest.raises(VendorRefused, match="https"):
        adapter("http://192.0.2.1:9").test_connection()  # refused before connecting
    assert "accepted" in adapter(fake.url).test_connection()  # the fake on this machine


def test_enabling_without_the_webhook_secret_is_refused_and_sumsub_not_offered(admin, fake):
    with pytest.raises(ValidationFailed) as refused:
        vendor_kyc.save_settings(
            actor=admin,
            enabled=True,
            base_url=fake.url,
            level_name=DEFAULT_LEVEL,
            on_green="review",
            secrets={"app_token": DEFAULT_APP_TOKEN, "secret_key": DEFAULT_SECRET_KEY},
        )
    assert "webhook_secret" in refused.value.fields
    assert not vendor_kyc.offered()


def _vendor_answering_link(link: str) -> Answer:
    def answer(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        if "websdkLink" in path:
            return 200, {}, json.dumps({"url": link}).encode()
        return 200, {}, b'{"id": "5cb56e8e0a975a35f333cb83"}'

    return answer


@pytest.mark.parametrize("link", ["javascript:alert(document.cookie)", "data:text/html,hi"])
def test_a_link_that_is_not_a_web_address_is_never_put_in_the_clients_page(
    admin, active_client, stand_in, link
):
    vendor = stand_in(_vendor_answering_link(link))
    enable_sumsub(admin, vendor)
    with pytest.raises(vendor_kyc.VendorDown):
        vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    assert not KycApplicant.objects.exists()
    assert not KycVendorMessage.objects.exists()
    request = StartRequest(external_user_id="u1", email="a@example.com", return_url="https://x/")
    with pytest.raises(VendorUnavailable):
        adapter(vendor.url).start(request)


def test_an_answer_nested_deeper_than_the_parser_goes_is_unavailable(stand_in):
    deep = b"[" * 200_000 + b"]" * 200_000
    vendor = stand_in(lambda method, path: (200, {}, deep))
    with pytest.raises(VendorUnavailable, match="not JSON"):
        adapter(vendor.url).review("5cb56e8e0a975a35f333cb83")


def test_a_signed_webhook_nested_deeper_than_the_parser_goes_is_refused(admin, fake):
    enable_sumsub(admin, fake)
    body = b'{"type": "applicantReviewed", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    headers = {"X-Payload-Digest": digest(DEFAULT_WEBHOOK_SECRET, body)}
    assert deliver_with(HttpClient())("", body, headers) == 400
    assert not KycVendorMessage.objects.exists()


def test_sumsubs_status_carries_no_comments_yet_a_final_rejection_gives_its_reason(
    admin, active_client, fake, run_jobs
):
    """SumSub's /status lists only the answer, labels and reject type; a FINAL rejection's
    comments are in the applicant's data, which is where propdesk reads the review."""
    enable_sumsub(admin, fake, on_green="approve")
    found = vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    assert found.startswith(fake.url)
    applicant_id = KycApplicant.objects.get(client=active_client).applicant_id
    fake.submit_documents(applicant_id)
    final = {
        "reviewAnswer": "RED",
        "reviewRejectType": "FINAL",
        "rejectLabels": ["FORGERY"],
        "moderationComment": "We could not verify your identity.",
        "clientComment": "Forged passport.",
    }
    fake.review(applicant_id, final)
    status = adapter(fake.url)._call("GET", f"/resources/applicants/{applicant_id}/status")
    assert "moderationComment" not in status["reviewResult"]
    fake.flush(deliver_with(HttpClient()))
    run_jobs()
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.REJECTED
    applicant = KycApplicant.objects.get(client=active_client)
    assert applicant.moderation_comment == "We could not verify your identity."
    assert applicant.client_comment == "Forged passport."


def test_the_fake_answers_a_signature_with_non_ascii_characters_401(fake):
    with pytest.raises(VendorRefused) as refused:
        adapter(fake.url, secret_key="wrong").test_connection()
    assert refused.value.status == 401
    # A signature header with a non-ASCII character: 401 as any other wrong signature.
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    connection.putrequest("GET", "/resources/applicants/x/one")
    connection.putheader("X-App-Token", DEFAULT_APP_TOKEN)
    connection.putheader("X-App-Access-Ts", str(int(time.time())))
    connection.putheader("X-App-Access-Sig", "é".encode().decode("latin-1"))
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 401
    connection.close()


def _raw(fake: FakeSumsub, request: bytes) -> bytes:
    """The whole answer to a raw request: its head, then as many bytes as it says."""
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                return answer
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = conn.recv(4096)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body


def test_the_fake_answers_hostile_requests_with_its_error_body(fake):
    negative = b"POST /_fake/down HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
    assert _raw(fake, negative).startswith(b"HTTP/1.1 400")
    garbled = b"POST /_fake/down HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n"
    assert _raw(fake, garbled).startswith(b"HTTP/1.1 400")
    deep = b"[" * 50_000
    nested = (
        b"POST /_fake/down HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + str(len(deep)).encode()
        + b"\r\n\r\n"
        + deep
    )
    answer = _raw(fake, nested)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"description"' in answer
    assert fake.down is False


def test_the_review_check_keeps_asking_for_a_day_at_the_least(settings):
    """A kept webhook is never resent by SumSub: the check itself outlasts a day's outage."""
    settings.JOBS_RETRY_SECONDS = 30  # the shipped default
    policy = policy_for(vendor_kyc.check_applicant.module_path)
    shortest = sum(policy.delay(n, rand=lambda: 0.0) for n in range(1, policy.max_attempts))
    assert shortest >= 24 * 3600


@pytest.mark.parametrize("reject_type", ["FINAL", "RETRY"])
def test_the_client_is_never_told_the_firms_labels(
    admin, active_client, fake, run_jobs, reject_type
):
    """A rejection without a comment for the applicant says so plainly: labels such as
    SANCTIONS are for the firm, and telling them to the client would tip them off."""
    enable_sumsub(admin, fake, on_green="approve")
    vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    applicant_id = KycApplicant.objects.get(client=active_client).applicant_id
    fake.submit_documents(applicant_id)
    fake.review(
        applicant_id,
        {"reviewAnswer": "RED", "reviewRejectType": reject_type, "rejectLabels": ["SANCTIONS"]},
    )
    fake.flush(deliver_with(HttpClient()))
    run_jobs()
    told = Notification.objects.filter(user=active_client.user).order_by("-id").first()
    assert told is not None
    assert "SANCTIONS" not in told.title + told.body
    reasons = ApprovalRequest.objects.filter(client=active_client).values_list(
        "rejection_reason", flat=True
    )
    assert all("SANCTIONS" not in (reason or "") for reason in reasons)
    page = logged_in_client(active_client).get("/portal/kyc/").content.decode()
    assert "SANCTIONS" not in page
    assert KycApplicant.objects.get(client=active_client).labels == ["SANCTIONS"]  # for staff


def logged_in_client(client: Client) -> HttpClient:
    http = HttpClient()
    http.force_login(client.user, backend="propdesk.accounts.backends.EmailBackend")
    return http


def test_a_rotated_secret_key_keeps_the_clients_applicant(admin, active_client, fake, settings):
    enable_sumsub(admin, fake)
    vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    first = KycApplicant.objects.get(client=active_client)
    settings.SECRET_KEY = "another-secret-key-after-a-rotation-" + "x" * 30
    vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    again = KycApplicant.objects.get(client=active_client)
    assert again.applicant_id == first.applicant_id
    assert len(fake.applicants) == 1


def test_a_digest_with_non_ascii_characters_is_refused_400(admin, active_client, fake):
    enable_sumsub(admin, fake)
    body = b'{"type": "applicantReviewed", "applicantId": "5cb56e8e0a975a35f333cb83"}'
    post = deliver_with(HttpClient())
    assert post("", body, {"X-Payload-Digest": "\u00e9" * 64}) == 400
    assert not KycVendorMessage.objects.exists()


def test_a_retry_after_approval_never_asks_a_verified_client_to_try_again(
    admin, active_client, fake, run_jobs
):
    enable_sumsub(admin, fake, on_green="approve")
    vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    applicant_id = KycApplicant.objects.get(client=active_client).applicant_id
    fake.submit_documents(applicant_id)
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    fake.flush(deliver_with(HttpClient()))
    run_jobs()
    fake.review(applicant_id, {"reviewAnswer": "RED", "reviewRejectType": "RETRY"})
    fake.flush(deliver_with(HttpClient()))
    run_jobs()
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.APPROVED
    assert KycApplicant.objects.get(client=active_client).state == KycApplicant.State.RETRY
    assert not Notification.objects.filter(user=active_client.user, event="kyc.retry").exists()
    page = logged_in_client(active_client).get("/portal/kyc/").content.decode()
    assert "vendor-retry" not in page
