"""A client passes KYC through the SumSub fake: GREEN approves automatically where the firm
chose so, or waits for a reviewer with SumSub's result; RED RETRY lets the client try again;
RED FINAL rejects with the reason. The vendor's webhooks are believed only after asking it."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.models import Client
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import Conflict
from propdesk.notifications.models import Notification
from propdesk.onboarding import vendor_kyc
from propdesk.onboarding.models import KycApplicant, KycVendorMessage
from propdesk.onboarding.vendors.fakes.sumsub import FakeSumsub
from tests.onboarding.factories import deliver_with, enable_sumsub

pytestmark = pytest.mark.django_db

RETRY = {
    "reviewAnswer": "RED",
    "reviewRejectType": "RETRY",
    "rejectLabels": ["UNSATISFACTORY_PHOTOS"],
    "moderationComment": "We do not accept screenshots. Please upload an original photo.",
    "clientComment": "Screenshots are not accepted.",
}
FINAL = {
    "reviewAnswer": "RED",
    "reviewRejectType": "FINAL",
    "rejectLabels": ["FORGERY"],
    "moderationComment": "We could not verify your identity.",
    "clientComment": "Forged passport.",
}


@pytest.fixture
def fake() -> Iterator[FakeSumsub]:
    with FakeSumsub() as running:
        yield running


def submitted(client: Client, fake: FakeSumsub) -> str:
    """The client goes to SumSub's page and submits their documents there."""
    url = vendor_kyc.start(client, return_url="http://testserver/portal/kyc/")
    request = urllib.request.Request(url, data=b"action=submit", method="POST")
    with urllib.request.urlopen(request, timeout=5) as page:
        assert b"pending" in page.read()
    found = vendor_kyc.applicant_of(client)
    assert found is not None
    return found.applicant_id


def deliver(fake: FakeSumsub, run_jobs) -> None:
    fake.flush(deliver_with(HttpClient()))
    run_jobs()


def kyc_request(client: Client) -> ApprovalRequest:
    return ApprovalRequest.objects.filter(client=client, type_key="kyc").latest("id")


def test_green_approves_the_kyc_automatically_where_the_firm_chose_so(
    admin, active_client, fake, run_jobs
):
    enable_sumsub(admin, fake, on_green="approve")
    applicant_id = submitted(active_client, fake)
    deliver(fake, run_jobs)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.NOT_SUBMITTED  # pending is not a result
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    deliver(fake, run_jobs)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.APPROVED
    request = kyc_request(active_client)
    assert request.status == ApprovalRequest.Status.APPROVED
    assert request.decided_by is None
    assert KycApplicant.objects.get(client=active_client).state == KycApplicant.State.APPROVED


def test_green_waits_for_a_reviewer_with_sumsubs_result_beside_the_documents(
    admin, compliance, active_client, fake, run_jobs
):
    enable_sumsub(admin, fake, on_green="review")
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    deliver(fake, run_jobs)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.PENDING
    request = kyc_request(active_client)
    assert request.status == ApprovalRequest.Status.PENDING
    http = HttpClient()
    http.force_login(compliance, backend="propdesk.accounts.backends.EmailBackend")
    page = http.get(f"/backoffice/approvals/{request.pk}/").content.decode()
    assert "SumSub&#x27;s result" in page or "SumSub's result" in page
    assert applicant_id in page
    assert "(GREEN)" in page


def test_red_retry_tells_the_client_and_lets_them_try_again(admin, active_client, fake, run_jobs):
    enable_sumsub(admin, fake)
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, RETRY)
    deliver(fake, run_jobs)
    active_client.refresh_from_db()
    applicant = KycApplicant.objects.get(client=active_client)
    assert applicant.state == KycApplicant.State.RETRY
    assert applicant.labels == ["UNSATISFACTORY_PHOTOS"]
    assert active_client.kyc_status == Client.KycStatus.NOT_SUBMITTED
    told = Notification.objects.filter(user=active_client.user, event="kyc.retry").get()
    assert "original photo" in told.body
    assert "Screenshots are not accepted" not in told.body  # the firm's comment stays inside
    # The client tries again on the same applicant, and this time passes.
    assert submitted(active_client, fake) == applicant_id
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    deliver(fake, run_jobs)
    assert KycApplicant.objects.get(client=active_client).state == KycApplicant.State.APPROVED
    assert kyc_request(active_client).status == ApprovalRequest.Status.PENDING


def test_red_final_rejects_with_the_reason_and_closes_the_vendor(
    admin, active_client, fake, run_jobs
):
    enable_sumsub(admin, fake, on_green="approve")
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, FINAL)
    deliver(fake, run_jobs)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.REJECTED
    request = kyc_request(active_client)
    assert request.status == ApprovalRequest.Status.REJECTED
    assert request.rejection_reason == "We could not verify your identity."
    assert Notification.objects.filter(user=active_client.user, event="kyc.rejected").exists()
    with pytest.raises(Conflict):
        vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")


def test_a_replayed_webhook_is_handled_once(admin, active_client, fake, run_jobs):
    enable_sumsub(admin, fake, on_green="approve")
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    deliver(fake, run_jobs)
    reviewed = next(d for d in fake.deliveries if d["type"] == "applicantReviewed")
    http = HttpClient()
    answered = fake.replay(reviewed["n"], deliver_with(http))
    assert answered == 200
    run_jobs()
    assert ApprovalRequest.objects.filter(client=active_client, type_key="kyc").count() == 1
    assert (
        KycVendorMessage.objects.filter(event_type="applicantReviewed", kind="webhook").count() == 1
    )


def test_a_forged_webhook_changes_nothing(admin, active_client, fake, run_jobs):
    enable_sumsub(admin, fake, on_green="approve")
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    reviewed = next(d for d in fake.deliveries if d["type"] == "applicantReviewed")
    http = HttpClient()
    for headers in (
        {**reviewed["headers"], "X-Payload-Digest": "0" * 64},
        {k: v for k, v in reviewed["headers"].items() if k != "X-Payload-Digest"},
        {**reviewed["headers"], "X-Payload-Digest-Alg": "NONE"},
    ):
        assert deliver_with(http)("", reviewed["body"], headers) == 400
    body = reviewed["body"].replace(b"GREEN", b"GREEN ")
    assert deliver_with(http)("", body, reviewed["headers"]) == 400
    run_jobs()
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.NOT_SUBMITTED
    assert not KycVendorMessage.objects.filter(kind="webhook").exists()


def test_a_webhook_whose_body_lies_is_not_believed(admin, active_client, fake, run_jobs):
    """Signed with the right secret but saying GREEN where SumSub says RED: propdesk asks."""
    from propdesk.onboarding.vendors.fakes.sumsub import DEFAULT_WEBHOOK_SECRET, digest

    enable_sumsub(admin, fake, on_green="approve")
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, FINAL)
    body = (
        b'{"type": "applicantReviewed", "applicantId": "' + applicant_id.encode() + b'", '
        b'"reviewResult": {"reviewAnswer": "GREEN"}, "createdAtMs": "x"}'
    )
    headers = {"X-Payload-Digest": digest(DEFAULT_WEBHOOK_SECRET, body)}
    assert deliver_with(HttpClient())("", body, headers) == 200
    run_jobs()
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.REJECTED


def test_a_failed_delivery_is_retried_by_sumsub_and_handled_once(
    admin, active_client, fake, run_jobs
):
    enable_sumsub(admin, fake, on_green="approve")
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    assert fake.flush(lambda url, body, headers: 503) == 0
    assert fake.flush(deliver_with(HttpClient()), now=float("inf")) == 3
    run_jobs()
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.APPROVED


def test_a_vendor_that_is_down_gives_a_clear_message_and_changes_nothing(
    admin, active_client, fake
):
    enable_sumsub(admin, fake)
    fake.down = True
    with pytest.raises(vendor_kyc.VendorDown, match="cannot be reached"):
        vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    fake.down = False
    fake.fail_next = [503]
    with pytest.raises(vendor_kyc.VendorDown):
        vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")
    assert not KycApplicant.objects.exists()
    assert not KycVendorMessage.objects.exists()
    assert vendor_kyc.start(active_client, return_url="http://testserver/portal/kyc/")


def test_review_job_retries_while_sumsub_is_down(admin, active_client, fake, run_jobs):
    enable_sumsub(admin, fake, on_green="approve")
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, {"reviewAnswer": "GREEN"})
    fake.down = True
    deliver(fake, run_jobs)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.NOT_SUBMITTED
    fake.down = False
    applicant = KycApplicant.objects.get(client=active_client)
    vendor_kyc.check_applicant.call(applicant.pk)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.APPROVED


def test_a_client_never_sees_another_clients_applicant(
    admin, active_client, register, set_method, fake, run_jobs
):
    enable_sumsub(admin, fake)
    applicant_id = submitted(active_client, fake)
    fake.review(applicant_id, RETRY)
    deliver(fake, run_jobs)
    set_method("trader_registration", "automatic")
    other, _ = register()
    other.refresh_from_db()
    http = HttpClient()
    http.force_login(other.user, backend="propdesk.accounts.backends.EmailBackend")
    page = http.get("/portal/kyc/").content.decode()
    assert "original photo" not in page
    assert applicant_id not in page
    assert vendor_kyc.applicant_of(other) is None
    assert submitted(other, fake) != applicant_id
    assert vendor_kyc.external_id(other) != vendor_kyc.external_id(active_client)


def test_hostile_webhooks_are_refused_and_change_nothing(admin, active_client, fake, run_jobs):
    from propdesk.onboarding.vendors.fakes.sumsub import DEFAULT_WEBHOOK_SECRET, digest

    enable_sumsub(admin, fake, on_green="approve")
    post = deliver_with(HttpClient())
    huge = b'{"type": "applicantReviewed", "applicantId": "' + b"a" * 300_000 + b'"}'
    not_json = b"<xml>GREEN</xml>"
    no_applicant = b'{"type": "applicantReviewed"}'
    for body in (huge, not_json, no_applicant):
        assert post("", body, {"X-Payload-Digest": digest(DEFAULT_WEBHOOK_SECRET, body)}) == 400
    # Signed, but naming an applicant nobody started: kept, answered 200, nothing decided.
    stranger = b'{"type": "applicantReviewed", "applicantId": "0123456789abcdef01234567"}'
    headers = {"X-Payload-Digest": digest(DEFAULT_WEBHOOK_SECRET, stranger)}
    assert post("", stranger, headers) == 200
    run_jobs()
    assert not ApprovalRequest.objects.filter(type_key="kyc").exists()
    assert HttpClient().get("/webhooks/kyc/sumsub/").status_code == 405
