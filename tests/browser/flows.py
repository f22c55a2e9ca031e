"""What a person does in the browser, step by step, shared by the browser tests: log in (to the
site or to the web terminal), register in the portal, fill in KYC, follow the back office's menu
(open a queue), read a stage's credentials in the portal, reload a page that may be reloading
itself, set a payment provider up in *Settings > Payment providers*."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from propdesk.platforms.sandbox import feed, ticks
from tests.challenges.factories import move
from tests.conftest import PASSWORD
from tests.onboarding.factories import PDF


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def reload(page: Page) -> None:
    """Reload the page, as a person presses F5. A portal page that polls its figures reloads
    itself when the stage it shows has changed (htmx's HX-Refresh); when that reload is under
    way, the browser aborts ours (net::ERR_ABORTED), so let the page's own finish and reload
    once more."""
    try:
        page.reload()
    except PlaywrightError as error:
        if "ERR_ABORTED" not in str(error):
            raise
        page.wait_for_load_state("load")
        page.reload()


def terminal_log_in(page: Page, login: str, password: str) -> None:
    """Log in to the web terminal with a trading account's own credentials."""
    page.goto("/terminal/")
    expect(page).to_have_url(re.compile(r"/terminal/login/$"))
    page.get_by_label("Login", exact=True).fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def trade_in_terminal(page: Page, login: str, password: str, *, close_at: str) -> None:
    """In the sandbox terminal: buy 10 lots of EURUSD at 1.08512, the price rises, close with
    profit at the bid `close_at` (+8,880 at 1.09400)."""
    ticks.apply_tick("EURUSD", Decimal("1.08500"), Decimal("1.08512"))
    terminal_log_in(page, login, password)
    page.get_by_label("Symbol").select_option("EURUSD")
    page.get_by_label("Volume").fill("10.00")
    page.get_by_role("button", name="Buy", exact=True).click()
    expect(page.get_by_text("Bought 10.00 EURUSD at 1.08512")).to_be_visible()
    move(feed.Feed(), close_at, str(Decimal(close_at) + Decimal("0.00012")))
    position = page.locator("#positions tr[data-position]")
    expect(position.locator('[data-field="current_price"]')).to_have_text(close_at)
    position.get_by_role("button", name="Close").click()
    expect(page.locator("#positions tr[data-position]")).to_have_count(0)


def register_in_portal(page: Page, *, email: str, kind: str = "Trader") -> None:
    page.goto("/portal/register/")
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("Full name").fill("Jana Nováková")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone").fill("+420 601 234 567")
    page.get_by_label("Nationality").select_option("CZ")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()


def open_first_in_queue(page: Page, queue: str) -> None:
    page.get_by_role("navigation", name="Back office").get_by_role(
        "link", name=re.compile(queue)
    ).click()
    page.get_by_role("link", name="Review").first.click()


def fill_kyc(page: Page, *, identity: bytes) -> None:
    page.goto("/portal/kyc/")
    page.get_by_role("button", name="Start with Individual").click()
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_label("Country of residence").select_option("CZ")
    page.get_by_label("Identity document type").select_option("Passport")
    page.get_by_label("Identity document", exact=True).set_input_files(
        files=[{"name": "passport.png", "mimeType": "image/png", "buffer": identity}]
    )
    page.get_by_label("Proof of address").set_input_files(
        files=[{"name": "bill.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_label("I have reviewed these details").check()
    page.get_by_role("button", name="Submit for review").click()


def review_latest_kyc(staff: Page) -> None:
    staff.get_by_role("navigation", name="Back office").get_by_role(
        "link", name=re.compile("^KYC")
    ).first.click()
    staff.get_by_role("link", name="Review").first.click()


def menu(page: Page, *path: str) -> None:
    """Follow the back office's side menu as the firm's guide names it: `menu(page, "Approvals",
    "KYC")`, `menu(page, "Reports", "CRM Reports", "Transactions")` (a heading, an optional
    sub-heading, then the link, whose pending count may follow its name)."""
    heading, *groups, label = path
    section = page.get_by_role("navigation", name="Back office").locator(
        f'h6:text-is("{heading}") + ul'
    )
    for group in groups:
        expect(section.locator(f'li.menu-group[data-group="{group}"]')).to_be_visible()
    section.get_by_role("link", name=re.compile(rf"^{re.escape(label)}( \d+)?$")).click()


def set_up_payment_provider(page: Page, label: str, values: dict[str, str]) -> None:
    """Staff with the settings permission: *Settings > Payment providers*, the provider's
    Settings, enable it with `values` (the fields' names), save, then Test connection."""
    menu(page, "Settings", "Payment providers")
    page.locator("#providers tr", has_text=label).get_by_role("link", name="Settings").click()
    form = page.locator("#provider-form")
    form.locator('input[name="enabled"]').check()
    for name, value in values.items():
        form.locator(f'input[name="{name}"]').fill(value)
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"{label} saved.")).to_be_visible()
    page.locator("#test-connection").click()
    expect(page.get_by_text("Test connection:")).to_be_visible()


def credentials_on_page(page: Page) -> tuple[str, str]:
    """The login and password of the current stage on the portal's challenge page."""
    box = page.locator("#credentials")
    box.get_by_text("Show / hide").click()
    return box.locator("[data-login]").inner_text(), box.locator("[data-password]").inner_text()
