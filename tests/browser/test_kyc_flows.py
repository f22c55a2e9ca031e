from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from propdesk.onboarding import kyc
from tests.browser.flows import fill_kyc, log_in, review_latest_kyc
from tests.conftest import PASSWORD
from tests.onboarding.factories import (
    PDF,
    answers,
    build_pdf,
    documents,
    png_bytes,
    replace_stored_file,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_client_verifies_identity_and_staff_approve_seeing_the_documents(
    new_page, active_client, kyc_form, compliance
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    fill_kyc(client, identity=png_bytes())
    expect(client.get_by_text("submitted for review")).to_be_visible()
    expect(client.locator("#kyc-status")).to_have_text("Pending review")

    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    review_latest_kyc(staff)
    image = staff.locator("#kyc-documents img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 4  # the real file, served to staff
    with staff.expect_download() as download:  # a PDF is never opened in the browser
        staff.get_by_role("link", name="Download bill.pdf").click()
    assert download.value.suggested_filename == "proof-of-address.pdf"
    assert Path(download.value.path()).read_bytes() == PDF
    expect(staff.get_by_text("Czechia (CZ)")).to_be_visible()
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")

    client.goto("/portal/kyc/")
    expect(client.locator("#kyc-status")).to_have_text("Approved")


def test_a_pdf_stored_before_the_checks_is_withheld_with_the_reason(
    new_page, active_client, kyc_form, compliance
):
    from propdesk.onboarding import kyc

    submission = kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    pdf = submission.documents.get(document_key="proof_of_address")
    replace_stored_file(pdf, build_pdf(catalog=b"/OpenAction<</S/JavaScript/JS(app.alert(1))>>"))

    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    review_latest_kyc(staff)
    staff.get_by_role("link", name="Download bill.pdf").click()
    expect(staff.get_by_text("Proof of address: this PDF contains JavaScript")).to_be_visible()


def test_rejected_kyc_is_corrected_and_resubmitted(new_page, active_client, kyc_form, compliance):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    fill_kyc(client, identity=png_bytes())

    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    review_latest_kyc(staff)
    staff.get_by_label("Reason").fill("The passport photo is cut off.")
    staff.get_by_role("button", name="Reject").click()
    expect(staff.locator("#request-status")).to_have_text("Rejected")

    client.goto("/portal/kyc/")
    expect(client.get_by_role("alert")).to_contain_text("The passport photo is cut off.")
    fill_kyc(client, identity=png_bytes(8, 8))
    expect(client.locator("#kyc-status")).to_have_text("Pending review")
    expect(client.locator("table tbody tr")).to_have_count(2)


def test_a_text_file_named_png_is_refused_in_the_browser(new_page, active_client, kyc_form):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    fill_kyc(client, identity=b"I am not a picture")
    expect(client.get_by_text("upload a PDF, JPEG or PNG")).to_be_visible()


def test_a_client_without_kyc_is_stopped_at_deposit_and_sent_to_kyc(
    new_page, active_client, kyc_form, compliance, admin, bank_transfer
):
    kyc.set_policy(["deposit"], actor=admin)
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    client.get_by_role("link", name="Wallet").click()
    client.get_by_role("button", name="Deposit").click()
    expect(client.get_by_role("alert")).to_contain_text("Verify your identity before you deposit")
    client.get_by_role("button", name="Verify my identity").click()
    expect(client).to_have_url(re.compile(r"/portal/kyc/$"))
    fill_kyc(client, identity=png_bytes())

    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    review_latest_kyc(staff)
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")

    client.goto("/portal/wallet/deposit/")
    client.get_by_label("Method").select_option(label="Bank transfer")
    client.get_by_label("Amount").fill("300.00")
    client.get_by_role("button", name="Request deposit").click()
    expect(client.get_by_text("Deposit of 300.00 USD requested")).to_be_visible()


def test_automatic_kyc_is_approved_as_soon_as_it_is_submitted(
    new_page, active_client, kyc_form, set_method
):
    set_method("kyc", "automatic")
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    fill_kyc(client, identity=png_bytes())
    expect(client.locator("#kyc-status")).to_have_text("Approved")
    expect(client.get_by_text("Your identity is already verified.")).to_be_visible()


def test_the_kyc_policy_lists_each_action_ticked_as_it_is_and_saves_a_change(new_page, admin):
    kyc.set_policy(["deposit", "join_challenge"], actor=admin)
    page = new_page()
    log_in(page, admin.email, PASSWORD)
    page.goto("/backoffice/settings/kyc/")
    policy = page.locator("#blocked_actions")
    expect(policy.get_by_text("Until KYC is approved, a client may not:")).to_be_visible()
    ticked = {"Deposit": True, "Withdraw": False, "Join a challenge": True}
    ticked.update({"Request a payout": False, "Trade": False})
    for label, checked in ticked.items():
        box = policy.get_by_label(label)
        expect(box).to_be_visible()
        (expect(box).to_be_checked if checked else expect(box).not_to_be_checked)()
    policy.get_by_label("Withdraw").check()
    policy.get_by_label("Deposit").uncheck()
    policy.get_by_label("Trade").check()
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("KYC policy saved.")).to_be_visible()
    assert set(kyc.policy().blocked_actions) == {"withdraw", "join_challenge", "trade"}
    expect(page.locator("#blocked_actions").get_by_label("Trade")).to_be_checked()


def test_the_kyc_form_shows_all_its_errors_and_keeps_the_file_that_passed(
    new_page, active_client, kyc_form
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    client.goto("/portal/kyc/")
    client.get_by_role("button", name="Start with Individual").click()
    client.get_by_label("Date of birth").fill("1990-05-17")
    client.get_by_label("Identity document type").select_option("Passport")
    client.get_by_label("Proof of address").set_input_files(
        files=[{"name": "bill.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    client.get_by_role("button", name="Submit for review").click()  # three things missing
    expect(client.locator("#residence-errors")).to_be_visible()
    expect(client.locator("#identity_document-errors")).to_contain_text("please upload it")
    expect(client.locator("#confirm-errors")).to_contain_text("Please confirm")
    expect(client.get_by_text("bill.pdf (kept)")).to_be_visible()
    expect(client.get_by_label("Date of birth")).to_have_value("1990-05-17")

    client.get_by_label("Country of residence").select_option("CZ")
    client.get_by_label("Identity document", exact=True).set_input_files(
        files=[{"name": "passport.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    client.get_by_label("I have reviewed these details").check()
    client.get_by_role("button", name="Submit for review").click()  # no new proof of address
    expect(client.get_by_text("submitted for review")).to_be_visible()
    expect(client.locator("#kyc-status")).to_have_text("Pending review")
    [submission] = kyc.history(active_client)
    names = sorted(d.original_name for d in submission.documents.all())
    assert names == ["bill.pdf", "passport.png"]
