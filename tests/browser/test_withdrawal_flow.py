"""A client withdraws in Chromium: the form shows the fields of the chosen method's destination
and fills in the one they used last; the reviewer pays it to exactly that address."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from propdesk.wallet import withdrawals
from tests.browser.flows import log_in, open_first_in_queue
from tests.conftest import PASSWORD
from tests.wallet.factories import TRON, bank_destination, fund, usdt_method

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_crypto_withdrawal_from_the_form_to_its_payment(
    new_page, active_client, bank_transfer, admin, finance
):
    fund(active_client, finance)
    usdt_method(admin, networks=("TRC20",))
    withdrawals.request_withdrawal(
        active_client,
        method=bank_transfer.pk,
        amount="60.00",
        currency="USD",
        destination=bank_destination(),
    )
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    client.goto("/portal/wallet/withdraw/")
    # The bank transfer used last is chosen, with its account filled in; no crypto fields.
    expect(client.get_by_label("IBAN or account number")).to_have_value("DE89370400440532013000")
    expect(client.locator("#pay-to-crypto")).to_be_hidden()

    client.get_by_label("Method").select_option(label="USDT")
    expect(client.locator("#pay-to-bank")).to_be_hidden()
    network = client.get_by_label("Network")
    expect(network.locator("option[value=ERC20]")).to_be_disabled()  # not this method's
    network.select_option("TRC20")
    client.get_by_label("Wallet address").fill("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T")
    client.get_by_label("Amount").fill("40.00")
    client.get_by_role("button", name="Request withdrawal").click()
    expect(client.locator("#address-errors")).to_contain_text("checksum")
    client.get_by_label("Wallet address").fill(TRON)
    client.get_by_role("button", name="Request withdrawal").click()
    expect(client.locator("#destination")).to_contain_text(TRON)
    expect(client.locator("#destination")).to_contain_text("Tron (TRC20)")

    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    open_first_in_queue(staff, "^Withdrawal")
    expect(staff.get_by_text(TRON)).to_be_visible()
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")
