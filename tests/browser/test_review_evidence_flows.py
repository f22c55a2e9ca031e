"""Decisions with their evidence, in Chromium: the live step's review shows the equity curve,
the profit, the trading days, each stage's verdict and a warning for the stage staff passed by
hand, and leads to the participant page and back; a bank-transfer deposit is approved only with
the transfer's bank reference."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from propdesk.challenges.participation import interventions
from propdesk.wallet import deposits
from tests.browser.flows import log_in, open_first_in_queue
from tests.challenges.factories import pass_stage, running, stage
from tests.conftest import PASSWORD
from tests.support import carry_out_platform_commands

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_live_step_review_shows_the_performance_and_the_stage_passed_by_hand(
    new_page, active_client, finance, admin
):
    joined, first = running(
        active_client,
        finance,
        admin,
        stages=[stage(min_trading_days=4), stage(min_trading_days=1), stage("live")],
    )
    interventions.advance(first.pk, actor=admin, reason="Passed on the old platform")
    carry_out_platform_commands()
    joined.refresh_from_db()
    pass_stage(joined.current_attempt())  # stage 2: +8,880 on 100,000, passed at the day's close

    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    open_first_in_queue(staff, "Live [Ss]tep")
    evidence = staff.locator("#evidence")
    expect(evidence.locator('[data-evidence="profit"]')).to_contain_text(
        "8,880.00 USD (8.88% of the account size 100,000.00)"
    )
    expect(evidence.locator('[data-evidence="days"]')).to_contain_text("1 (at least 1 needed: met)")
    # The curve, drawn by the page's chart script with uPlot (no inline script under the CSP),
    # its legend naming the equity line and the target's.
    chart = staff.locator("#equity-chart")
    expect(chart).to_have_attribute("data-drawn", "chart")
    expect(chart.locator('.u-legend [data-series="equity"]')).to_be_visible()
    expect(chart.locator('.u-legend [data-series="target"]')).to_contain_text("108,000.00")
    # Each stage's verdict, and the warning for the one staff passed by hand.
    expect(staff.locator('#verdicts tr[data-stage="1"]')).to_contain_text("by hand (staff)")
    expect(staff.locator('#verdicts tr[data-stage="2"]')).to_contain_text("by the evaluator")
    expect(staff.locator('#verdicts tr[data-stage="2"]')).to_contain_text("All objectives met")
    warning = staff.locator('[data-by-hand="1"]')
    expect(warning).to_contain_text("passed by hand by staff, not by the evaluator")
    expect(warning).to_contain_text("Passed on the old platform")
    review_url = staff.url

    # To the participant page, and back to the decision from its pending request.
    staff.locator("#participant-link").click()
    expect(staff).to_have_url(re.compile(rf"/prop-trading/participants/{joined.pk}/$"))
    staff.locator("[data-pending-request]").get_by_role("link").click()
    expect(staff).to_have_url(review_url)
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")


def test_a_bank_transfer_is_approved_with_its_bank_reference_and_refused_without(
    new_page, active_client, bank_transfer, finance
):
    deposits.request_deposit(
        active_client, method=bank_transfer.pk, amount="750.00", currency="USD"
    )
    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    open_first_in_queue(staff, "^Deposit")

    staff.get_by_role("button", name="Approve").click()
    expect(
        staff.get_by_text("a bank transfer is approved only against the transfer")
    ).to_be_visible()
    expect(staff.locator("#request-status")).to_have_text("Pending")

    staff.get_by_label("Bank reference").fill("  FT26339XK01 ")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")
    expect(staff.locator("dl.details").first).to_contain_text("Bank referenceFT26339XK01")
    expect(staff.locator("#history")).to_contain_text("Bank reference: FT26339XK01.")
