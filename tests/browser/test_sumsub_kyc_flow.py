"""A client passes KYC through the SumSub fake in a browser: the firm sets SumSub up (sealed
keys, Test connection), the client goes to SumSub's page, is asked to try again, passes; a final
RED rejects with the reason; GREEN with a reviewer shows SumSub's result beside the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from propdesk.onboarding.vendors.fakes.sumsub import (
    DEFAULT_APP_TOKEN,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    FakeSumsub,
)
from propdesk.onboarding.vendors.fakes.sumsub.server import post_webhook
from tests.browser.flows import log_in, review_latest_kyc
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake() -> Iterator[FakeSumsub]:
    with FakeSumsub() as running:  # no webhook address: the test hands the webhooks over
        yield running


def set_up_sumsub(page: Page, fake: FakeSumsub, *, on_green: str) -> None:
    page.goto("/backoffice/settings/kyc/")
    page.get_by_role("link", name="KYC vendor (SumSub)").click()
    page.get_by_label("Offer verification with SumSub").check()
    page.get_by_label("API address").fill(fake.url)
    page.get_by_label("App token").fill(DEFAULT_APP_TOKEN)
    page.get_by_label("Secret key", exact=True).fill(DEFAULT_SECRET_KEY)
    page.get_by_label("Webhook secret key").fill(DEFAULT_WEBHOOK_SECRET)
    page.get_by_label(on_green).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("SumSub settings saved.")).to_be_visible()
    expect(page.locator("#stored-keys")).to_contain_text("secret_key set")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("SumSub accepted the app token and the signature.")).to_be_visible()


def webhooks_arrive(fake: FakeSumsub, live_server, run_jobs) -> None:
    """SumSub's webhooks reach the site, and the worker asks SumSub about them."""
    url = live_server.url + "/webhooks/kyc/sumsub/"
    fake.flush(lambda _url, body, headers: post_webhook(url, body, headers))
    run_jobs()


def verify_at_sumsub(page: Page, answer: str, comment: str = "") -> None:
    page.goto("/portal/kyc/")
    page.locator("#verify-with-sumsub").click()
    page.get_by_role("button", name="Continue to SumSub").click()
    page.get_by_role("button", name="Submit documents").click()
    expect(page.locator("#sumsub-status")).to_have_text("pending")
    if comment:
        page.get_by_label("Comment for the applicant").fill(comment)
    page.get_by_role("button", name=answer).click()
    expect(page.locator("#sumsub-status")).to_have_text("completed")


def test_red_retry_then_green_approves_automatically(
    new_page, admin, active_client, fake, live_server, run_jobs
):
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    set_up_sumsub(staff, fake, on_green="Approve the KYC automatically")

    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    verify_at_sumsub(client, "RED, may retry", comment="The photo is too dark.")
    webhooks_arrive(fake, live_server, run_jobs)
    client.get_by_role("link", name="Back to the site").click()
    expect(client.locator("#vendor-retry")).to_contain_text("The photo is too dark.")

    verify_at_sumsub(client, "GREEN")
    webhooks_arrive(fake, live_server, run_jobs)
    client.goto("/portal/kyc/")
    expect(client.locator("#kyc-status")).to_have_text("Approved")


def test_red_final_rejects_with_the_reason(
    new_page, admin, active_client, fake, live_server, run_jobs
):
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    set_up_sumsub(staff, fake, on_green="Approve the KYC automatically")

    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    verify_at_sumsub(client, "RED, final", comment="We cannot accept this document.")
    webhooks_arrive(fake, live_server, run_jobs)
    client.goto("/portal/kyc/")
    expect(client.locator("#kyc-status")).to_have_text("Rejected")
    expect(client.locator("#vendor-final")).to_contain_text("We cannot accept this document.")
    expect(client.locator("#verify-with-sumsub")).to_have_count(0)


def test_green_with_a_reviewer_shows_sumsubs_result_beside_the_request(
    new_page, admin, compliance, active_client, fake, live_server, run_jobs
):
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    set_up_sumsub(staff, fake, on_green="Send it to a reviewer with the vendor's result")

    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    verify_at_sumsub(client, "GREEN")
    webhooks_arrive(fake, live_server, run_jobs)
    client.goto("/portal/kyc/")
    expect(client.locator("#kyc-status")).to_have_text("Pending review")

    reviewer = new_page()
    log_in(reviewer, compliance.email, PASSWORD)
    review_latest_kyc(reviewer)
    expect(reviewer.locator("#kyc-vendor-result")).to_contain_text("(GREEN)")
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("#request-status")).to_have_text("Approved")
