"""A staff member turns two-factor login on in Chromium, then logs in with password and code."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from propdesk.accounts.models import Authenticator
from tests.accounts.factories import app_code
from tests.browser.flows import log_in
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_staff_member_enrols_then_logs_in_with_password_and_code(new_page, compliance):
    page = new_page()
    log_in(page, compliance.email, PASSWORD)
    expect(page.get_by_role("heading", name="Approvals overview")).to_be_visible()

    page.get_by_role("link", name="Two-factor login").click()
    page.get_by_role("button", name="Set up two-factor login").click()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    # The phone's app gets the key by hand, as someone who cannot scan would type it in.
    key = b32decode(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.get_by_label("Code the app shows").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor login is on.")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)

    page.get_by_role("button", name="Log out").click()
    log_in(page, compliance.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    page.goto("/backoffice/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))  # not in without the code

    log_in(page, compliance.email, PASSWORD)
    # The code just used at set-up is good once: the app's next one (the step the server
    # takes next, from its record of the last step used).
    device = Authenticator.objects.get(user=compliance, confirmed=True)
    page.get_by_label("Code", exact=True).fill(
        app_code(key, last_t=device.last_t, drift=device.drift)
    )
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Approvals overview")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
