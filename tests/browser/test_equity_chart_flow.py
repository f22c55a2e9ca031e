"""The stage's equity curve, in Chromium, drawn by the vendored uPlot: staff on the participant
page and the trader under My challenges > Chart see the equity and balance lines with the
profit target and the two loss floors, each named in the legend with its amount; pointing at the
chart reads the time and figures there; dragging across it zooms in on that stretch of time and
a double-click shows the whole curve again; on a phone it fits the screen and follows the
window's width."""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from propdesk.challenges.monitoring import monitor
from tests.browser.flows import log_in
from tests.challenges.factories import curve_of, server, trading
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# The colours chart.js draws each line in (equity, balance, target, daily floor, max floor).
COLOURS = {
    "equity": (0x1F, 0x6F, 0xEB),
    "balance": (0x57, 0x60, 0x6A),
    "target": (0x1A, 0x7F, 0x37),
    "daily": (0xBC, 0x4C, 0x00),
    "max": (0xCF, 0x22, 0x2E),
}
# How many of the plot's pixels are near each colour (the canvas as drawn).
COUNT_COLOURS = """(canvas, colours) => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const found = {};
  for (const [key, [r, g, b]] of Object.entries(colours)) {
    let n = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (Math.abs(pixels[i] - r) < 24 && Math.abs(pixels[i + 1] - g) < 24 &&
          Math.abs(pixels[i + 2] - b) < 24 && pixels[i + 3] > 200) { n++; }
    }
    found[key] = n;
  }
  return found;
}"""


@pytest.fixture
def stage_with_curve(active_client, finance, admin):
    """A running stage (target 108,000, daily floor 95,000, max floor 90,000) with twelve hours
    of curve behind the monitor's own bucket of now."""
    joined, attempt = trading(active_client, finance, admin)
    written = curve_of(attempt)
    monitor.process(server())  # the figures (and so the floors) and the bucket of now
    return joined, written


def legend_value(page: Page, key: str):
    return page.locator(f'#equity-chart .u-legend [data-series="{key}"] .u-value')


def assert_lines_drawn(page: Page) -> None:
    found = page.locator("#equity-chart canvas").evaluate(COUNT_COLOURS, COLOURS)
    for key in COLOURS:
        assert found[key] > 20, f"no {key} line drawn: {found}"


def plot_box(page: Page) -> dict[str, float]:
    """Where the plot is in the window, scrolled into view (the mouse moves within the window)."""
    plot = page.locator("#equity-chart .u-over")
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    assert box is not None
    return box


def shot(page: Page, name: str) -> None:
    if os.environ.get("CHART_SHOTS"):
        page.screenshot(path=f"{os.environ['CHART_SHOTS']}/{name}.png", full_page=True)


def test_staff_read_the_curve_its_floors_and_target_point_at_it_and_zoom_in_and_out(
    new_page, admin, stage_with_curve
):
    joined, written = stage_with_curve
    staff = new_page()
    staff.set_viewport_size({"width": 1280, "height": 900})
    log_in(staff, admin.email, PASSWORD)
    staff.goto(reverse("backoffice:participant", kwargs={"participation_id": joined.pk}))
    chart = staff.locator("#equity-chart")
    expect(chart).to_have_attribute("data-drawn", "chart")
    shot(staff, "staff")

    # The lines, and the legend naming each with its amount.
    assert_lines_drawn(staff)
    legend = chart.locator(".u-legend")
    expect(legend.locator('[data-series="equity"]')).to_contain_text("Equity (USD)")
    expect(legend.locator('[data-series="balance"]')).to_contain_text("Balance")
    expect(legend.locator('[data-series="target"]')).to_contain_text("Profit target")
    expect(legend_value(staff, "target")).to_have_text("108,000.00")
    expect(legend.locator('[data-series="daily"]')).to_contain_text("Daily-loss floor")
    expect(legend_value(staff, "daily")).to_have_text("95,000.00")
    expect(legend.locator('[data-series="max"]')).to_contain_text("Max-loss floor")
    expect(legend_value(staff, "max")).to_have_text("90,000.00")

    # Pointing at the chart's left edge reads the first bucket: its time and figures.
    box = plot_box(staff)
    staff.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2)
    expect(legend_value(staff, "equity")).to_have_text("100,000.00")
    expect(legend_value(staff, "balance")).to_have_text("100,000.00")
    first = written[0]["t"]  # UTC; the back office reads the firm's zone (UTC in the tests)
    expect(legend_value(staff, "time")).to_have_text(f"{first[:10]} {first[11:16]}")
    # A third of the way along: a later bucket, higher.
    staff.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    expect(legend_value(staff, "equity")).not_to_have_text("100,000.00")

    # Drag across a stretch: the chart shows that stretch only and says so; a double-click
    # shows the whole curve again.
    expect(chart).to_have_attribute("data-zoomed", "false")
    expect(chart.locator("[data-chart-zoom]")).to_be_hidden()
    y = box["y"] + box["height"] / 2
    staff.mouse.move(box["x"] + box["width"] * 0.2, y)
    staff.mouse.down()
    staff.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    staff.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    staff.mouse.up()
    expect(chart).to_have_attribute("data-zoomed", "true")
    expect(chart.locator("[data-chart-zoom]")).to_be_visible()
    expect(chart.locator("[data-chart-zoom-range]")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d$")
    )
    shot(staff, "staff-zoomed")
    staff.mouse.dblclick(box["x"] + box["width"] / 2, y)
    expect(chart).to_have_attribute("data-zoomed", "false")
    expect(chart.locator("[data-chart-zoom]")).to_be_hidden()

    # Zoomed in again, the button shows it all too (for a keyboard or a touch screen).
    staff.mouse.move(box["x"] + box["width"] * 0.6, y)
    staff.mouse.down()
    staff.mouse.move(box["x"] + box["width"] * 0.8, y, steps=5)
    staff.mouse.up()
    expect(chart).to_have_attribute("data-zoomed", "true")
    chart.get_by_role("button", name="Whole curve").click()
    expect(chart).to_have_attribute("data-zoomed", "false")

    # In words, for whoever cannot see it.
    expect(chart.locator("figcaption")).to_contain_text("equity 100,000.00 at first")
    expect(chart.locator("figcaption")).to_contain_text("Max-loss floor 90,000.00.")


def test_the_trader_reads_the_same_curve_on_a_phone_and_it_follows_the_window(
    new_page, active_client, stage_with_curve
):
    joined, written = stage_with_curve
    trader = new_page()
    trader.set_viewport_size({"width": 390, "height": 844})
    log_in(trader, active_client.user.email, PASSWORD)
    trader.goto(reverse("portal:my_challenge", kwargs={"participation_id": joined.pk}))
    trader.get_by_role("navigation", name="This challenge").get_by_role(
        "link", name="Chart"
    ).click()
    chart = trader.locator("#equity-chart")
    expect(chart).to_have_attribute("data-drawn", "chart")
    shot(trader, "trader-phone")
    width, window = trader.evaluate(FITS)
    assert width <= window, f"the chart tab is {width} px wide in a {window} px window"
    assert_lines_drawn(trader)
    expect(legend_value(trader, "target")).to_have_text("108,000.00")
    expect(legend_value(trader, "daily")).to_have_text("95,000.00")
    expect(legend_value(trader, "max")).to_have_text("90,000.00")

    box = plot_box(trader)
    assert box["width"] <= 390
    trader.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2)
    expect(legend_value(trader, "equity")).to_have_text("100,000.00")
    first = written[0]["t"]  # the trader set no time zone of their own: the firm's (UTC)
    expect(legend_value(trader, "time")).to_have_text(f"{first[:10]} {first[11:16]}")

    # Drag to zoom, double-click to see it all, as on the staff page.
    y = box["y"] + box["height"] / 2
    trader.mouse.move(box["x"] + box["width"] * 0.3, y)
    trader.mouse.down()
    trader.mouse.move(box["x"] + box["width"] * 0.7, y, steps=5)
    trader.mouse.up()
    expect(chart).to_have_attribute("data-zoomed", "true")
    trader.mouse.dblclick(box["x"] + box["width"] / 2, y)
    expect(chart).to_have_attribute("data-zoomed", "false")

    # The window grows: the chart grows with it.
    trader.set_viewport_size({"width": 1024, "height": 768})
    trader.wait_for_function(
        "(least) => document.querySelector('#equity-chart .u-over').clientWidth > least",
        arg=box["width"] + 300,
    )
    shot(trader, "trader-wide")


def test_a_curve_of_one_bucket_is_drawn_across_its_five_minutes_with_its_lines(
    new_page, admin, active_client, finance
):
    joined, _ = trading(active_client, finance, admin)
    monitor.process(server())  # the account's first figures: one bucket, of now
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    staff.goto(reverse("backoffice:participant", kwargs={"participation_id": joined.pk}))
    expect(staff.locator("#equity-chart")).to_have_attribute("data-drawn", "chart")
    assert_lines_drawn(staff)
    box = plot_box(staff)
    staff.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2)
    expect(legend_value(staff, "equity")).to_have_text("100,000.00")
    shot(staff, "one-bucket")
