from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.flows import log_in
from tests.challenges.factories import running, stage
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_see_every_section_of_a_clients_page_and_write_a_note(
    new_page, active_client, admin, finance
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    staff.goto("/backoffice/clients/")
    staff.get_by_role("link", name=active_client.user.name).first.click()

    summary = staff.locator("#summary")
    expect(summary.locator('[data-summary="status"]')).to_have_text("Active")
    expect(summary.locator('[data-summary="balance"]')).to_contain_text("USD")
    expect(summary.locator('[data-summary="challenges"]')).to_contain_text("1")
    for key, title in [
        ("wallet", "Wallet"),
        ("challenges", "Challenges"),
        ("trading-accounts", "Trading accounts"),
        ("kyc", "KYC"),
        ("requests", "Requests"),
        ("notes", "Notes"),
        ("actions", "Actions"),
    ]:
        expect(staff.locator(f"#{key} h2")).to_have_text(title)
    expect(staff.locator("#wallet")).to_contain_text("1,000.00 USD")
    expect(staff.locator("#challenges")).to_contain_text(attempt.login)
    expect(staff.locator(f'#trading-accounts [data-login="{attempt.login}"]')).to_contain_text(
        "Trading"
    )
    # The heavy action waits at the end, folded.
    expect(staff.get_by_role("button", name="Suspend client")).to_be_hidden()

    staff.locator("#client-sections").get_by_role("link", name="Notes").click()
    staff.get_by_label("Note (for staff only)").fill("Asked about the live step by phone.")
    staff.get_by_role("button", name="Add note").click()
    expect(staff.locator("#notes .note").first).to_contain_text("Asked about the live step")
    expect(staff.locator("#notes .note").first).to_contain_text(admin.name)

    staff.locator("#challenges").get_by_role("link", name=joined.version.spec.name).click()
    expect(staff).to_have_url(f"/backoffice/prop-trading/participants/{joined.pk}/")
