"""No page is wider than its window, in Chromium: the portal on a 390-pixel phone (its menu wraps,
its tables scroll in their own box, a challenge's equity curve is drawn to the screen's width),
the back office's lists and client page at 1024 pixels, and the live step's review with its
evidence (the verdicts' table, the chart) at 1366 pixels, the Client box in view."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue.presets import PRESETS
from tests.browser.flows import log_in
from tests.challenges.factories import pass_stage, running, stage
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def assert_fits(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.locator("main")).to_be_visible()
    page_width, window = page.evaluate(FITS)
    assert page_width <= window, f"{path} is {page_width} px wide in a {window} px window"


@pytest.fixture
def live_step(active_client, finance, admin):
    """A trader whose evaluation passed and whose live step waits for a decision."""
    joined, first = running(
        active_client, finance, admin, stages=[stage(min_trading_days=1), stage("live")]
    )
    pass_stage(first)
    return joined


def test_the_portal_fits_a_390_pixel_phone_with_its_menu_wrapped(
    new_page, active_client, live_step
):
    trader = new_page()
    trader.set_viewport_size({"width": 390, "height": 844})
    log_in(trader, active_client.user.email, PASSWORD)
    pages = [
        reverse("portal:home"),
        reverse("portal:wallet"),
        reverse("portal:deposit"),
        reverse("portal:challenges"),
        reverse("portal:my_challenges"),
        reverse("portal:my_challenge", kwargs={"participation_id": live_step.pk}),
    ]
    mine = pages[-1]
    pages += [f"{mine}?tab={tab}" for tab in ("chart", "trades", "payouts")]
    for path in pages:
        assert_fits(trader, path)
    # Every menu link is still there, on the page rather than beyond its right edge.
    log_out = trader.get_by_role("button", name="Log out")
    expect(log_out).to_be_in_viewport()
    box = log_out.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 390


def test_the_back_office_lists_and_client_page_fit_a_1024_pixel_window(
    new_page, admin, active_client, live_step
):
    staff = new_page()
    staff.set_viewport_size({"width": 1024, "height": 768})
    log_in(staff, admin.email, PASSWORD)
    pages = [
        reverse("backoffice:dashboard"),
        reverse("backoffice:participants"),
        reverse("backoffice:transactions_report"),
        reverse("backoffice:client", kwargs={"client_id": active_client.pk}),
        reverse("backoffice:participant", kwargs={"participation_id": live_step.pk}),
        reverse("backoffice:clients"),  # with its boxes to tick and the move to a group
        reverse("backoffice:client_groups"),
    ]
    for path in pages:
        assert_fits(staff, path)
    # A wide table scrolls inside its own box, not the page.
    staff.goto(reverse("backoffice:participants"))
    expect(staff.locator(".overflow-auto > table#participants")).to_be_visible()


def test_the_live_step_review_fits_a_1366_pixel_window_with_the_client_box_in_view(
    new_page, admin, live_step
):
    request = ApprovalRequest.objects.get(type_key="prop_live_step", status="pending")
    staff = new_page()
    staff.set_viewport_size({"width": 1366, "height": 768})
    log_in(staff, admin.email, PASSWORD)
    path = reverse("backoffice:approval_review", kwargs={"request_id": request.pk})
    assert_fits(staff, path)
    expect(staff.locator('#verdicts tr[data-stage="1"]')).to_contain_text("by the evaluator")
    expect(staff.locator('#equity-chart .u-legend [data-series="equity"]')).to_be_visible()
    page_width, window = staff.evaluate(FITS)
    assert page_width <= window, f"with the chart drawn the review is {page_width} px wide"
    client_box = staff.locator("aside article").first
    expect(client_box).to_contain_text(live_step.client.user.email)
    box = client_box.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 1366


def test_the_new_challenge_page_and_each_preset_fit_a_1024_pixel_window(new_page, admin):
    staff = new_page()
    staff.set_viewport_size({"width": 1024, "height": 768})
    log_in(staff, admin.email, PASSWORD)
    new = "/backoffice/prop-trading/challenges/new/"
    assert_fits(staff, new)
    for key in PRESETS:
        assert_fits(staff, f"{new}?preset={key}")
