from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from propdesk.onboarding.request_types import TRADER_REGISTRATION
from tests.browser.flows import log_in, open_first_in_queue, register_in_portal
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_manual_registration_is_approved_then_the_client_logs_in(new_page, compliance):
    client = new_page()
    register_in_portal(client, email="jana@example.com")
    expect(client.get_by_text("awaits approval")).to_be_visible()

    log_in(client, "jana@example.com", PASSWORD)
    expect(client.get_by_role("alert")).to_contain_text("awaiting approval")
    expect(client).to_have_url(re.compile(r"/login/$"))

    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    queue_link = staff.get_by_role("navigation", name="Back office").get_by_role(
        "link", name=re.compile("Trader Registration")
    )
    expect(queue_link).to_contain_text("1")
    open_first_in_queue(staff, "Trader Registration")
    expect(staff.get_by_text("jana@example.com").first).to_be_visible()
    staff.get_by_label("Comment").fill("Welcome")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")
    expect(queue_link).to_contain_text("0")

    log_in(client, "jana@example.com", PASSWORD)
    expect(client.get_by_role("heading", name="Hello, Jana Nováková")).to_be_visible()
    expect(client.get_by_text("your registration was approved").first).to_be_visible()


def test_automatic_registration_set_in_settings_lets_the_client_in_at_once(new_page, admin):
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    staff.get_by_role("link", name="Approval methods").click()
    staff.locator(f"tr[data-type={TRADER_REGISTRATION}]").get_by_role("link", name="Edit").click()
    staff.get_by_label("Automatic").check()
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_text("Approval method of Trader Registration saved.")).to_be_visible()

    client = new_page()
    register_in_portal(client, email="auto@example.com")
    expect(client.get_by_role("heading", name="Welcome aboard")).to_be_visible()
    log_in(client, "auto@example.com", PASSWORD)
    expect(client.get_by_role("heading", name=re.compile("Hello"))).to_be_visible()


def test_rejected_client_is_told_the_reason(new_page, compliance):
    client = new_page()
    register_in_portal(client, email="nope@example.com", kind="IB")
    staff = new_page()
    log_in(staff, compliance.email, PASSWORD)
    open_first_in_queue(staff, "IB Registration")
    staff.get_by_role("button", name="Reject").click()  # no reason: the browser holds it back
    assert staff.get_by_label("Reason").evaluate("field => field.validity.valueMissing")
    expect(staff.locator("#request-status")).to_have_text("Pending")
    staff.get_by_label("Reason").fill("We do not onboard IBs from your region yet.")
    staff.get_by_role("button", name="Reject").click()
    expect(staff.locator("#request-status")).to_have_text("Rejected")

    log_in(client, "nope@example.com", PASSWORD)
    expect(client.get_by_role("alert")).to_contain_text(
        "not approved: We do not onboard IBs from your region yet."
    )


def test_two_level_approval_needs_a_second_person(new_page, set_method, staff_factory):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Compliance"])
    first = staff_factory("Compliance")
    second = staff_factory("Compliance")
    client = new_page()
    register_in_portal(client, email="twice@example.com")

    staff = new_page()
    log_in(staff, first.email, PASSWORD)
    open_first_in_queue(staff, "Trader Registration")
    expect(staff.get_by_text("level 1 of 2")).to_be_visible()
    staff.get_by_role("button", name="Approve").click()
    expect(staff.get_by_text("Level 1 approved")).to_be_visible()
    expect(staff.locator("#decision-block")).to_contain_text("approved an earlier level")
    expect(staff.get_by_role("button", name="Approve")).to_have_count(0)
    expect(staff.locator("#nav-todo")).to_have_text("0")

    log_in(client, "twice@example.com", PASSWORD)
    expect(client.get_by_role("alert")).to_contain_text("awaiting approval")

    other = new_page()
    log_in(other, second.email, PASSWORD)
    expect(other.locator("#nav-todo")).to_have_text("1")
    open_first_in_queue(other, "Trader Registration")
    expect(other.get_by_text("level 2 of 2")).to_be_visible()
    other.get_by_role("button", name="Approve").click()
    expect(other.locator("#request-status")).to_have_text("Approved")

    log_in(client, "twice@example.com", PASSWORD)
    expect(client.get_by_role("heading", name=re.compile("Hello"))).to_be_visible()


def test_registration_form_shows_errors_and_creates_nothing(new_page, register):
    register(email="taken@example.com")
    page = new_page()
    page.goto("/portal/register/")
    page.get_by_label("Full name").fill("Someone")
    page.get_by_label("Email").fill("TAKEN@example.com")
    page.get_by_label("Phone").fill("12345")
    page.get_by_label("Nationality").select_option("DE")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password (again)").fill("short")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#email-errors")).to_contain_text("already exists")
    expect(page.locator("#phone-errors")).to_contain_text("country code")
    expect(page.locator("#password-errors")).to_contain_text("too short")
    expect(page.get_by_label("Full name")).to_have_value("Someone")
