"""One reference per thing, seen in the browser: the bank-transfer instructions and the
reference to quote after a deposit request, and the same reference for the client and for the
staff member who reviews it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from propdesk.wallet import deposits
from tests.browser.flows import fill_kyc, log_in, review_latest_kyc
from tests.conftest import PASSWORD
from tests.onboarding.factories import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFERENCE = re.compile(r"^(DEP|KYC)-\d{6}$")


@pytest.fixture
def bank_account(admin):
    return deposits.save_payment_method(
        None,
        name="Bank transfer EUR",
        kind="offline",
        currencies=["EUR"],
        min_amount="50",
        max_amount="10000",
        bank_beneficiary="Propdesk Trading s.r.o.",
        bank_account="CZ6508000000192000145399",
        bank_bic="GIBACZPX",
        bank_name="Česká spořitelna",
        actor=admin,
    )


def _request_deposit(page, amount="750.00"):
    page.goto("/portal/wallet/deposit/")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Method").select_option(label="Bank transfer EUR")
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Request deposit").click()


def test_after_a_bank_transfer_request_the_client_sees_where_to_pay_and_what_to_quote(
    new_page, active_client, bank_account, sandbox_card
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    client.goto("/portal/wallet/deposit/")
    method = client.get_by_label("Method")
    client.get_by_label("Currency").select_option("USD")  # the card takes USD, the bank not
    expect(method.locator("option", has_text="Bank transfer EUR")).to_be_disabled()
    client.get_by_label("Currency").select_option("EUR")
    expect(method.locator("option", has_text="Bank transfer EUR")).to_be_enabled()

    _request_deposit(client)
    instructions = client.locator("#transfer-instructions")
    expect(instructions).to_be_visible()
    reference = client.locator("#reference").inner_text()
    assert REFERENCE.match(reference)
    expect(instructions.locator('[data-field="beneficiary"]')).to_have_text(
        "Propdesk Trading s.r.o."
    )
    expect(instructions.locator('[data-field="account"]')).to_have_text(
        "CZ65 0800 0000 1920 0014 5399"
    )
    expect(instructions.locator('[data-field="bic"]')).to_have_text("GIBACZPX")
    expect(instructions.locator('[data-field="reference"]')).to_have_text(reference)
    expect(instructions).to_contain_text("750.00 EUR")

    # Later, from the wallet's history: the same page, the same reference.
    client.goto("/portal/wallet/")
    client.locator("#deposits").get_by_role("link", name=reference).click()
    expect(client.locator("#transfer-instructions")).to_contain_text(reference)


def test_the_client_and_the_staff_member_see_the_same_deposit_reference(
    new_page, active_client, bank_account, finance
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    _request_deposit(client)
    reference = client.locator("#reference").inner_text()

    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    staff.get_by_role("navigation", name="Back office").get_by_role(
        "link", name=re.compile("^Deposit")
    ).click()
    staff.get_by_role("searchbox").fill(reference.lower())
    staff.get_by_role("searchbox").press("Enter")
    row = staff.locator("tr[data-request]")
    expect(row).to_have_count(1)
    expect(row.locator(".reference")).to_have_text(reference)
    row.get_by_role("link", name="Review").click()
    expect(staff.locator("#reference")).to_have_text(reference)
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")

    staff.get_by_role("link", name="Transactions").click()
    staff.get_by_label("Reference").fill(reference)
    staff.get_by_role("button", name="Filter").click()
    expect(staff.locator("#transactions tbody tr")).to_have_count(1)
    expect(staff.locator("#transactions .reference")).to_have_text(reference)

    client.goto("/portal/wallet/")
    expect(client.locator("table .reference", has_text=reference)).to_have_count(2)


def test_the_client_and_the_staff_member_see_the_same_kyc_reference(
    new_page, active_client, kyc_form, compliance
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    fill_kyc(client, identity=png_bytes())
    client.goto("/portal/kyc/")
    reference = client.locator("td.reference").first.inner_text()
    assert REFERENCE.match(reference)

    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    review_latest_kyc(staff)
    expect(staff.locator("#reference")).to_have_text(reference)
