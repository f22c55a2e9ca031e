"""Back office > Audit log in Chromium at a laptop's width: the change of each record reads as
field | before | after and nothing on the page is wider than the window."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from propdesk.core import audit
from propdesk.core.audit import AuditAction
from tests.browser.flows import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_audit_log_fits_a_1280_pixel_window_with_long_values_and_actions(new_page, admin):
    long_hours = [{"days": f"day{n}", "open": "00:00", "close": "23:59"} for n in range(30)]
    with transaction.atomic():
        audit.record(
            actor=admin,
            action=AuditAction.TWO_FACTOR_REGENERATE_RECOVERY_CODES,
            object_type="instrument",
            object_id="EURUSD-" + "X" * 57,  # the longest an object id may be (64)
            summary="A summary that has no spaces: " + "y" * 200,
            before={"trading_hours": [], "spread_points": 12, "description": "z" * 300},
            after={"trading_hours": long_hours, "spread_points": 30, "description": "z" * 300},
        )
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, admin.email, PASSWORD)
    page.goto("/backoffice/audit/")
    row = page.locator("tr.changed", has_text="Spread points")
    expect(row.locator("td").nth(0)).to_have_text("12")
    expect(row.locator("td").nth(1)).to_have_text("30")
    expect(page.locator("tr.unchanged", has_text="Description")).to_be_visible()
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    hours = page.locator("tr.changed", has_text="Trading hours").locator("details")
    expect(hours.locator("summary")).to_contain_text("…")
    hours.locator("summary").click()
    expect(hours).to_contain_text("days day29, open 00:00, close 23:59")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the opened value scrolls sideways: {widths}"
