"""The firm's "Go Live" guide, step by step, as its operator clicks it: every request is approved
by hand and each step is reached by the menu names the guide gives.

1. A trader registers: *Approvals > Trader Registration*, approve.
2. They verify their identity: *Approvals > KYC*, approve.
3. They ask to deposit by bank transfer: *Approvals > Deposit*, approve.
4. They buy a challenge from the wallet: *Approvals > Prop Trading Participation*, approve; the
   first stage's credentials appear in the portal.
5. *Prop Trading > Participants* lists them.
6. The stage is passed (the trading itself is the challenge flow's test: here the factories
   trade it): *Approvals > Prop Trading Live Step*, approve; live credentials in the portal.
7. *Reports > CRM Reports > Transactions*, type *Prop Trading Fee*, shows the fee.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.platforms.sandbox import auth
from tests.browser.flows import (
    credentials_on_page,
    fill_kyc,
    log_in,
    menu,
    register_in_portal,
    reload,
)
from tests.challenges.factories import definition, pass_stage, stage
from tests.conftest import PASSWORD
from tests.onboarding.factories import png_bytes
from tests.support import carry_out_platform_commands

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "jana@example.com"


def approve_first(
    staff: Page,
    *path: str,
    bank_reference: str = "",
    evidence: Callable[[Page], None] | None = None,
) -> None:
    """Open the queue by the guide's menu path, review its first request, look at the evidence
    the decision rests on and approve it."""
    menu(staff, *path)
    expect(staff.get_by_role("heading", level=1)).to_contain_text(path[-1])
    staff.get_by_role("link", name="Review").first.click()
    if evidence is not None:
        evidence(staff)
    if bank_reference:  # a bank transfer is approved against the transfer that arrived
        staff.get_by_label("Bank reference").fill(bank_reference)
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#request-status")).to_have_text("Approved")


def test_the_go_live_guide_with_every_request_approved_by_hand(
    new_page, admin, kyc_form, bank_transfer, set_method
):
    for request_type in ("trader_registration", "kyc", "deposit", "prop_participation"):
        set_method(request_type, "manual")  # the live step is always a person's decision
    challenge = catalogue.create(
        definition(name="Go Live 100K", stages=[stage(), stage("live")]), actor=admin
    )
    catalogue.publish(challenge.pk, actor=admin)
    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    expect(staff.get_by_role("heading", name="Approvals overview")).to_be_visible()

    # 1. Registration.
    trader = new_page()
    register_in_portal(trader, email=EMAIL)
    approve_first(staff, "Approvals", "Trader Registration")

    # 2. KYC.
    log_in(trader, EMAIL, PASSWORD)
    fill_kyc(trader, identity=png_bytes())
    expect(trader.get_by_text("submitted for review")).to_be_visible()
    approve_first(staff, "Approvals", "KYC")

    # 3. A bank-transfer deposit.
    trader.goto("/portal/wallet/deposit/")
    trader.get_by_label("Method").select_option(label="Bank transfer")
    trader.get_by_label("Amount").fill("1,000.00")  # as the page shows the method's limits
    trader.get_by_label("Currency").select_option("USD")
    trader.get_by_role("button", name="Request deposit").click()
    approve_first(staff, "Approvals", "Deposit", bank_reference="FT26340GL01")

    # 4. The challenge, bought from the wallet.
    trader.goto("/portal/challenges/")
    trader.locator(f'article[data-challenge="{challenge.pk}"]').get_by_role(
        "button", name="Details"
    ).click()
    expect(trader.locator('[data-balance="USD"]')).to_have_text("1,000.00 USD")
    trader.get_by_label("Wallet deduction", exact=False).check()
    trader.get_by_role("button", name="Start now: pay 499.00 USD").click()
    expect(trader.locator("#participation-status")).to_have_text("Waiting for approval")

    def fee_paid(review: Page) -> None:
        fee = review.locator("#fee-payment")
        expect(fee).to_contain_text("499.00")
        expect(fee).to_contain_text("wallet")

    approve_first(staff, "Approvals", "Prop Trading Participation", evidence=fee_paid)
    reload(trader)
    expect(trader.locator("#participation-status")).to_have_text("Active")
    # Until the worker has opened the account on the platform, the trader is told so.
    expect(trader.locator("#being-prepared")).to_contain_text("being prepared")
    carry_out_platform_commands()
    reload(trader)
    joined = Participation.objects.get(client__user__email=EMAIL)
    attempt = joined.current_attempt()
    assert attempt is not None
    login, password = credentials_on_page(trader)
    assert login == attempt.login
    assert auth.authenticate(login, password).group != "live"

    # 5. The participant.
    menu(staff, "Prop Trading", "Participants")
    expect(staff.locator(f'tr[data-participation="{joined.pk}"]')).to_contain_text(EMAIL)

    # 6. The stage passed, the live step.
    pass_stage(attempt)

    def performance(review: Page) -> None:
        shown = review.locator("#evidence")
        expect(shown.locator('[data-evidence="profit"]')).to_contain_text("USD")
        expect(shown.locator('[data-evidence="days"]')).to_be_visible()
        expect(shown.locator("#equity-chart canvas")).to_be_visible()
        expect(shown.locator("#verdicts")).to_contain_text("Passed")
        expect(shown.locator("#participant-link")).to_be_visible()

    approve_first(staff, "Approvals", "Prop Trading Live Step", evidence=performance)
    carry_out_platform_commands()
    reload(trader)
    expect(trader.locator("#stage")).to_contain_text("2 of 2")
    login, password = credentials_on_page(trader)
    assert auth.authenticate(login, password).group == "live"

    # 7. The fee in the report.
    menu(staff, "Reports", "CRM Reports", "Transactions")
    expect(staff.get_by_role("heading", level=1)).to_have_text(
        "Reports \u203a CRM Reports \u203a Transactions"
    )
    staff.get_by_label("Type").select_option(label="Prop Trading Fee")
    staff.get_by_role("button", name="Filter").click()
    expect(staff.locator("#transactions tbody tr")).to_have_count(1)
    expect(staff.locator("#transactions")).to_contain_text("499.00 USD")
