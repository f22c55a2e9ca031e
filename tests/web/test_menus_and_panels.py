"""The menus and the client page's panels, which each app adds to core's registries: who sees
which headings and links, in which order, and which parts of another app's page."""

from __future__ import annotations

import re

import pytest

from propdesk.accounts.models import Role
from propdesk.onboarding import kyc
from propdesk.wallet import services as wallet_services
from tests.conftest import logged_in
from tests.onboarding.factories import answers, documents

pytestmark = pytest.mark.django_db

EVERY_LINK = {
    "Approvals": ["Approvals overview", "My to-do", "__queues__", "All requests"],
    "Clients": ["Clients"],
    "Trading": ["Trading accounts", "Platform commands"],
    "Finance": ["Payments"],
    "Prop Trading": [
        "Prop Trading Dashboard",
        "Challenge Settings",
        "Participants",
        "Monitor",
        "IB Commission Settlements",
    ],
    "Growth": ["Referral tree", "Coupons", "Promotional links"],
    "Reports": ["Transactions", "IB commission"],
    "Settings": [
        "Approval methods",
        "KYC",
        "Payment methods",
        "Payment providers",
        "Commission schemes",
        "Trading platforms",
        "Sandbox instruments",
        "Client groups",
        "Notifications",
        "Staff users",
        "Roles",
        "Audit log",
        "Webhooks",
        "Background jobs",
    ],
}


def side_menu(html: str) -> dict[str, list[str]]:
    """The back office's menu: each heading with the labels of its links, in order."""
    side = html[html.index('<div class="side"') : html.index("<hr>")]
    menu: dict[str, list[str]] = {}
    for heading, links in re.findall(r"<h6>(.*?)</h6>\s*<ul>(.*?)</ul>", side, re.S):
        menu[heading] = [
            re.sub(r"<span.*?</span>", "", label).strip()
            for label in re.findall(r"<a [^>]*>(.*?)</a>", links, re.S)
        ]
    return menu


def queues(menu: dict[str, list[str]]) -> dict[str, list[str]]:
    """The menu with the approval queues (one per request type) folded into one entry."""
    if "Approvals" in menu:
        links = menu["Approvals"]
        menu["Approvals"] = [*links[:2], "__queues__", links[-1]]
    return menu


def test_an_administrator_sees_every_heading_and_link_in_order(admin):
    html = logged_in(admin).get("/backoffice/").content.decode()
    assert list(side_menu(html)) == list(EVERY_LINK)
    assert queues(side_menu(html)) == EVERY_LINK
    assert 'id="nav-todo">0</span>' in html  # shown at zero, greyed
    assert 'data-queue="trader_registration"' in html


def test_the_menu_names_pages_as_the_firms_guide_does(admin):
    """Approvals > Prop Trading Participation and Live Step, Reports > CRM Reports >
    Transactions, and two dashboards told apart."""
    html = logged_in(admin).get("/backoffice/").content.decode()
    menu = side_menu(html)
    for queue in ("Trader Registration", "IB Registration", "KYC", "Deposit"):
        assert queue in menu["Approvals"]
    for queue in ("Prop Trading Participation", "Prop Trading Live Step"):
        assert queue in menu["Approvals"]
    reports = html[html.index("<h6>Reports</h6>") :]
    reports = reports[: reports.index("</ul>")]
    assert reports.index('data-group="CRM Reports"') < reports.index(">Transactions<")
    assert "<h1>Approvals overview</h1>" in html
    dashboard = logged_in(admin).get("/backoffice/prop-trading/dashboard/").content.decode()
    assert "<h1>Prop Trading Dashboard</h1>" in dashboard
    report = logged_in(admin).get("/backoffice/reports/transactions/").content.decode()
    assert "<h1>Reports \u203a CRM Reports \u203a Transactions</h1>" in report


def test_support_sees_only_what_its_role_allows(support):
    html = logged_in(support).get("/backoffice/").content.decode()
    assert queues(side_menu(html)) == {
        "Approvals": ["Approvals overview", "My to-do", "__queues__", "All requests"],
        "Clients": ["Clients"],
        "Trading": ["Trading accounts", "Platform commands"],
        "Prop Trading": ["Prop Trading Dashboard", "Challenge Settings", "Participants", "Monitor"],
        "Growth": ["Referral tree"],
        "Reports": ["Transactions"],
        "Settings": [
            "Approval methods",
            "KYC",
            "Payment methods",
            "Trading platforms",
            "Sandbox instruments",
            "Notifications",  # the templates, read-only
        ],
    }


def test_staff_without_permissions_see_only_the_settings_heading(staff_factory):
    Role.objects.create(name="Visitor", description="Nothing yet", permissions=[])
    visitor = staff_factory("Visitor")
    html = logged_in(visitor).get("/backoffice/account/security/").content.decode()
    assert side_menu(html) == {"Settings": []}


def test_the_portal_bar_lists_the_apps_pages_and_counts_unread_notifications(active_client):
    html = logged_in(active_client.user).get("/portal/").content.decode()
    bar = html[html.index("<nav>") : html.index("</nav>")]
    labels = [
        re.sub(r"<span.*?</span>", "", label).strip()
        for label in re.findall(r'<li><a href="[^"]*">(.*?)</a></li>', bar, re.S)
    ]
    assert labels == [
        "Home",
        "Wallet",
        "Prop Trading",
        "My challenges",
        "Trading terminal",
        "Identity",
        "Referrals",
        "Notifications",
        "Profile",
    ]
    assert 'id="unread-count">1</span>' in bar  # the registration's welcome


def test_the_client_page_shows_the_panels_each_role_may_see(
    active_client, admin, finance, support, compliance, kyc_form
):
    wallet_services.adjust(
        active_client.pk,
        direction="credit",
        amount="25.00",
        currency="USD",
        comment="Goodwill",
        actor=admin,
    )
    path = f"/backoffice/clients/{active_client.pk}/"

    def panels(user):
        html = logged_in(user).get(path).content.decode()
        return re.findall(r"<h2>(.*?)</h2>", html), "Adjust the wallet" in html

    apps = ["Wallet", "Challenges", "Trading accounts"]
    # Finance may see IBs' commission (commission.view) and online payments (payments.view).
    money = ["Wallet", "Online payments", *apps[1:]]
    assert panels(finance) == ([*money, "IB commission", "Requests", "Referrals", "Notes"], True)
    assert panels(support) == ([*apps, "Requests", "Referrals", "Notes"], False)
    # Compliance may suspend: the actions come last.
    assert panels(compliance) == (
        [*apps[:2], "KYC", "Requests", "Referrals", "Notes", "Actions"],
        False,
    )
    kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    # KYC is not Finance's.
    assert panels(finance) == ([*money, "IB commission", "Requests", "Referrals", "Notes"], True)
