"""A trader's certificate, in Chromium: once their stage passed, their challenge's page lists
it; they download its PDF and open its public page, which a visitor who is not logged in
reads too (the name, what was achieved, the figures), and where a guessed code finds
nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from propdesk.challenges.models import Certificate
from tests.browser.flows import log_in
from tests.challenges.factories import pass_stage, running, stage
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_trader_downloads_their_certificate_and_anyone_checks_it(
    new_page, active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)
    made = Certificate.objects.get(attempt=attempt)

    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(f"/portal/my-challenges/{joined.pk}/")
    listed = trader.locator("#certificates")
    expect(listed).to_contain_text("Certificate of achievement")
    expect(listed).to_contain_text(made.reference)
    with trader.expect_download() as download:
        listed.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == f"{made.reference}.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    address = listed.get_by_role("link", name="Public page").get_attribute("href")
    assert address == f"/certificates/{made.code}/"

    visitor = new_page()  # not logged in
    visitor.goto(address)
    shown = visitor.locator("#certificate")
    expect(shown.locator("#trader")).to_have_text(active_client.user.name)
    expect(shown).to_contain_text("passed stage 1 of 2 in 2-Step 100K")
    expect(shown.locator("#figures")).to_contain_text("8,880.00 USD (8.88%)")
    expect(shown.locator("#verified")).to_be_visible()

    visitor.goto("/certificates/" + "A" * 32 + "/")  # well formed, issued to nobody
    expect(visitor.get_by_role("alert")).to_contain_text("No certificate has this code.")
