"""A client who forgot their password resets it from the login page, through the link in the
email, and logs in with the new one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import link_in_email
from tests.browser.flows import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

NEW = "a-brand-new-passphrase-7"


def test_client_resets_a_forgotten_password_from_the_login_page(new_page, active_client, run_jobs):
    email = active_client.user.email
    page = new_page()
    page.goto("/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.locator("#sent")).to_contain_text("If an account exists for this address")

    run_jobs()  # the worker sends the email
    page.goto(link_in_email(email, "/login/reset/"))
    expect(page).to_have_url(re.compile(r"/login/reset/[^/]+/set-password/$"))
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    expect(
        page.get_by_text("Your password was changed. Log in with your new password.")
    ).to_be_visible()

    log_in(page, email, NEW)
    expect(page).to_have_url(re.compile(r"/portal/$"))
