"""Every page of the site in Chromium under its Content-Security-Policy: the back office, the
portal, the terminal, the participant page and the trader's Chart tab with the equity curve,
the sandbox checkout and the API docs. Each page is served with the policy, nothing on it breaks
it (no `securitypolicyviolation` event, no "Refused to ..." console message), and what its
scripts do still happens: htmx polls and swaps, the countdown counts, the chart draws, the
terminal goes live, Swagger UI lists the operations."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from propdesk.accounts.models import Client
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Participation
from propdesk.demo import CLIENT_PASSWORD, STAFF_PASSWORD, seed_demo
from propdesk.onboarding.models import KycDocument
from tests.browser.flows import log_in, terminal_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Kept by the page across navigations: every violation the browser reports, as an event.
LISTEN = """
window.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber} on ${document.location.pathname}`);
}, true);
"""


class Watched:
    """A person's page whose CSP violations, reported either way, are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.violations: list[str] = []
        page.context.expose_binding("__cspViolation", lambda _source, text: self._add(text))
        page.context.add_init_script(LISTEN)
        page.on("console", self._console)

    def _add(self, text: str) -> None:
        self.violations.append(text)

    def _console(self, message: object) -> None:
        text = getattr(message, "text", "")
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.violations.append(f"console: {text}")

    def visit(self, path: str) -> None:
        """Open `path`: it answers with the site's policy (no inline script or style allowed)."""
        response = self.page.goto(path)
        assert response is not None, path
        assert response.ok, f"{path}: {response.status}"
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, f"{path} has no script policy: {policy!r}"
        assert "unsafe-inline" not in policy, (path, policy)
        assert "unsafe-eval" not in policy, (path, policy)
        self.flush()

    def flush(self) -> None:
        # One round trip to the page: events it fired before are delivered by then.
        self.page.evaluate("0")

    def assert_clean(self) -> None:
        self.flush()
        assert self.violations == []


@pytest.fixture
def watched(new_page: Callable[[], Page]) -> Callable[[], Watched]:
    seed_demo()
    return lambda: Watched(new_page())


def side_links(page: Page) -> list[str]:
    hrefs = page.locator(".side a[href]").evaluate_all("(links) => links.map((a) => a.pathname)")
    return list(dict.fromkeys(hrefs))


def test_the_back_office_pages_break_no_content_security_policy(watched):
    staff = watched()
    log_in(staff.page, "admin@propdesk.demo", STAFF_PASSWORD)
    staff.visit("/backoffice/")
    for path in side_links(staff.page):
        staff.visit(path)

    kyc = ApprovalRequest.objects.filter(type_key="kyc", status="pending").first()
    assert kyc is not None
    assert KycDocument.objects.filter(content_type="application/pdf").exists()
    ivan = Client.objects.get(user__email="ivan@example.com")
    for path in (
        f"/backoffice/approvals/{kyc.pk}/",
        f"/backoffice/clients/{ivan.pk}/",
        "/backoffice/prop-trading/challenges/new/",
        "/backoffice/roles/new/",
        "/backoffice/settings/payment-methods/new/",
        "/backoffice/settings/payment-providers/sandbox/",
        "/backoffice/settings/kyc/forms/new/",
        "/backoffice/settings/trading-platforms/new/",
        "/backoffice/settings/notifications/stage.failed/es/",
        "/backoffice/account/security/",
    ):
        staff.visit(path)
    staff.visit("/backoffice/finance/payments/")
    staff.page.locator("main table a[href*='/finance/payments/']").first.click()
    expect(staff.page.get_by_role("heading", level=1)).to_be_visible()
    staff.visit("/backoffice/trading/accounts/")
    staff.page.locator("main table a[href*='/trading/accounts/']").first.click()
    expect(staff.page.get_by_role("heading", level=1)).to_be_visible()
    staff.visit("/backoffice/prop-trading/challenges/")
    staff.page.locator("main table a[href*='/prop-trading/challenges/']").first.click()
    expect(staff.page.get_by_role("heading", level=1)).to_be_visible()

    # The participants list refreshes its rows by htmx: the swap happens under the policy.
    staff.visit("/backoffice/prop-trading/participants/")
    with staff.page.expect_response(re.compile(r"/participants/rows/")) as rows:
        pass
    assert rows.value.ok
    expect(staff.page.locator("#participant-rows tr").first).to_be_visible()

    # A participant's page draws the equity curve (its script reads the JSON beside it).
    failed = Participation.objects.get(client__user__email="jonas@example.com")
    staff.visit(f"/backoffice/prop-trading/participants/{failed.pk}/")
    expect(staff.page.locator("figure[data-chart]")).to_have_attribute("data-drawn", "chart")
    staff.assert_clean()


def test_the_portal_pages_and_the_checkout_break_no_content_security_policy(watched):
    client = watched()
    client.visit("/portal/register/")
    # A form sent once its CSRF cookie is gone: the refusal page is styled by our sheets too.
    client.visit("/login/")
    client.page.context.clear_cookies()
    client.page.get_by_label("Email").fill("ivan@example.com")
    client.page.get_by_label("Password").fill(CLIENT_PASSWORD)
    client.page.get_by_role("button", name="Log in").click()
    expect(client.page.get_by_role("heading", name="This form has expired")).to_be_visible()
    log_in(client.page, "ivan@example.com", CLIENT_PASSWORD)
    for path in (
        "/portal/",
        "/portal/wallet/",
        "/portal/wallet/deposit/",
        "/portal/wallet/withdraw/",
        "/portal/kyc/",
        "/portal/notifications/",
        "/portal/challenges/",
    ):
        client.visit(path)
    client.page.locator("main a[href^='/portal/challenges/']").first.click()
    expect(client.page.get_by_role("heading", level=1)).to_be_visible()

    # My challenges: the credentials, and the day reset counting down from a static script.
    client.visit("/portal/my-challenges/")
    expect(client.page.locator("[data-countdown-left]").first).to_contain_text("resets in")
    running = Participation.objects.get(client__user__email="ivan@example.com")
    client.visit(f"/portal/my-challenges/{running.pk}/")
    expect(client.page.locator("[data-countdown-left]").first).to_contain_text("resets in")
    expect(client.page.locator("#credentials [data-login]")).not_to_be_empty()
    # Its tabs: the equity curve, drawn by the vendored uPlot from our own static files, and the
    # account's trade history.
    client.visit(f"/portal/my-challenges/{running.pk}/?tab=chart")
    expect(client.page.locator("#equity-chart")).to_have_attribute("data-drawn", "chart")
    client.visit(f"/portal/my-challenges/{running.pk}/?tab=trades")
    expect(client.page.locator("#trades tr[data-deal]").first).to_be_visible()

    waiting = Participation.objects.get(client__user__email="oscar@example.com")
    client.visit(f"/pay/sandbox/{waiting.checkout_token}/")
    expect(client.page.get_by_role("button", name="Pay", exact=True)).to_be_visible()
    client.assert_clean()


def test_the_terminal_breaks_no_content_security_policy(watched):
    trader = watched()
    login, password, note = seed_demo().trading[0]  # the demo's logins, as `propdesk demo` prints
    assert note == "two open positions"
    terminal_log_in(trader.page, login, password)
    expect(trader.page.locator("#terminal-status")).to_have_text("live")
    trader.visit("/terminal/")
    expect(trader.page.locator("#terminal-status")).to_have_text("live")
    expect(trader.page.locator("#positions tr[data-position]").first).to_be_visible()
    trader.assert_clean()


def test_the_api_docs_work_under_their_content_security_policy(watched):
    reader = watched()
    log_in(reader.page, "admin@propdesk.demo", STAFF_PASSWORD)
    reader.visit("/api/v1/docs")
    expect(reader.page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(reader.page.get_by_text("propdesk API", exact=False).first).to_be_visible()
    # Trying an operation out: Swagger UI calls the API from the page.
    reader.page.locator(".opblock-summary-path", has_text="/api/v1/me").first.click()
    reader.page.get_by_role("button", name="Try it out").click()
    with reader.page.expect_response(re.compile(r"/api/v1/me$")) as answer:
        reader.page.get_by_role("button", name="Execute").click()
    assert answer.value.status == 200
    reader.assert_clean()
