"""Staff find a command the platform refused from the menu, read why, and cancel it so that the
account's later commands run; and test a server's connection from its settings, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from tests.browser.flows import log_in, menu
from tests.conftest import PASSWORD
from tests.platforms.factories import debit, refused_debit, sandbox_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_cancel_a_refused_command_and_the_accounts_next_one_is_released(new_page, admin):
    account = sandbox_account()
    refused = refused_debit(account, subject="stage:7")
    behind = debit(account, "10", subject="stage:7", key="after-the-refusal")
    staff = new_page()
    staff.set_viewport_size({"width": 1280, "height": 900})
    log_in(staff, admin.email, PASSWORD)
    menu(staff, "Trading", "Platform commands")
    table = staff.locator("table#commands")
    expect(table.locator(f'tr[data-command="{refused.pk}"]')).to_contain_text("Failed")
    expect(table.locator(f'tr[data-command="{behind.pk}"]')).to_contain_text("Pending")
    table.get_by_role("link", name=f"#{refused.pk}").click()
    expect(staff.locator("#command-error")).to_contain_text("free margin")
    expect(staff.locator("pre#answer")).to_have_text("conflict")
    staff.get_by_role("button", name=re.compile("^Cancel the command")).click()
    expect(staff.locator(".messages")).to_contain_text("1 later command(s) of stage:7 now run")
    assert PlatformCommand.objects.get(pk=refused.pk).status == PlatformCommand.Status.CANCELLED


def test_staff_test_a_servers_connection_from_its_settings(new_page, admin):
    server = sandbox_accounts.default_server()
    staff = new_page()
    staff.set_viewport_size({"width": 1280, "height": 900})
    log_in(staff, admin.email, PASSWORD)
    menu(staff, "Settings", "Trading platforms")
    staff.locator(f'tr[data-server="{server.name}"]').get_by_role("link", name="Edit").click()
    staff.get_by_role("button", name="Test connection").click()
    expect(staff.locator("#check-result")).to_have_text(
        f"The built-in sandbox answers: 0 account(s) on {server.name}."
    )
    # The page still edits the server: saving goes to its own address, not the test's.
    staff.get_by_role("button", name="Save").click()
    expect(staff.locator(".messages")).to_contain_text(f"Trading server {server.name} saved.")
