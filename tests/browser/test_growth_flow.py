"""Growth in Chromium. An IB shares their referral link; a visitor registers through it and buys
a challenge with a 20% coupon; the fee entry shows the discount; the IB's wallet shows the
commission on the discounted fee, the IB above them their second-level share, and the IB's
Referrals page the new client. And a challenge limited to the group "VIP" is offered to a VIP
client and is a 404 to the others."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from propdesk.accounts import groups
from propdesk.accounts.models import Client
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth import commission, coupons
from propdesk.onboarding.services import register_client
from propdesk.wallet import deposits, ledger, services
from tests.browser.flows import log_in, menu
from tests.challenges.factories import definition
from tests.conftest import PASSWORD, registration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEWCOMER = "newcomer@example.com"


def approved_ib(name: str, referrer: Client | None = None) -> Client:
    """An IB registered (through `referrer`'s code, if any) and approved by the engine."""
    code = referrer.referral_code if referrer is not None else None
    made, _ = register_client(**registration(kind="ib", name=name, referral_code=code))
    made.refresh_from_db()
    assert made.status == Client.Status.ACTIVE
    return made


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def wallet_line(page: Page, kind: str):
    page.goto("/portal/wallet/")
    return page.locator("tr", has=page.get_by_role("cell", name=kind, exact=True))


def test_a_referred_client_buys_with_a_coupon_and_both_ibs_earn_on_the_discounted_fee(
    new_page, admin, compliance, finance, set_method
):
    set_method("ib_registration", "automatic")
    set_method("trader_registration", "manual")
    top = approved_ib("Anna Top")
    sub = approved_ib("Bruno Sub", referrer=top)
    assert sub.referrer == top
    commission.save_scheme(
        None,
        name="Standard IB",
        rates=["10", "3"],
        settlement="instant",
        is_default=True,
        actor=admin,
    )
    challenge = catalogue.create(definition(name="Starter 10K", fee="100.00"), actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    coupons.save_coupon(None, code="WELCOME20", kind="percent", value="20", actor=admin)

    # The sub-IB reads their link on the Referrals page, and logs out.
    ib = new_page()
    log_in(ib, sub.user.email, PASSWORD)
    ib.get_by_role("link", name="Referrals").click()
    expect(ib.locator("[data-referral-code]")).to_have_text(sub.referral_code)
    link = ib.get_by_label("Your referral link").input_value()
    assert link.endswith(f"/portal/register/?ref={sub.referral_code}")
    log_out(ib)

    # A visitor opens the link and registers: the referral code is filled in.
    visitor = new_page()
    visitor.goto(link)
    expect(visitor.get_by_label("Referral code (optional)")).to_have_value(sub.referral_code)
    visitor.get_by_label("Trader", exact=True).check()
    visitor.get_by_label("Full name").fill("Nina Newcomer")
    visitor.get_by_label("Email").fill(NEWCOMER)
    visitor.get_by_label("Phone").fill("+420 601 234 999")
    visitor.get_by_label("Nationality").select_option("CZ")
    visitor.get_by_label("Password", exact=True).fill(PASSWORD)
    visitor.get_by_label("Password (again)").fill(PASSWORD)
    visitor.get_by_role("button", name="Register").click()
    expect(visitor.get_by_role("heading", name="Thank you for registering")).to_be_visible()
    newcomer = Client.objects.get(user__email=NEWCOMER)
    assert newcomer.referrer == sub
    assert newcomer.status == Client.Status.PENDING_APPROVAL

    # The firm approves the registration; finance credits the wallet.
    request = ApprovalRequest.objects.get(type_key="trader_registration", client=newcomer)
    approvals.approve(request.pk, actor=compliance, comment="Documents look fine.")
    services.adjust(
        newcomer.pk,
        direction="credit",
        amount="150.00",
        currency="USD",
        comment="Opening balance",
        actor=finance,
    )

    # The client applies the coupon, sees the discounted price, and buys from the wallet.
    log_in(visitor, NEWCOMER, PASSWORD)
    visitor.goto("/portal/challenges/")
    visitor.locator(f'article[data-challenge="{challenge.pk}"]').get_by_role(
        "button", name="Details"
    ).click()
    visitor.get_by_label("Coupon code").fill("welcome20")
    visitor.get_by_role("button", name="Apply").click()
    expect(visitor.locator('[data-price="gross"]')).to_have_text("100.00 USD")
    expect(visitor.locator('[data-price="discount"]')).to_have_text(
        "\u221220.00 USD"
    )  # a minus sign
    expect(visitor.locator('[data-price="net"]')).to_have_text("80.00 USD")
    visitor.get_by_role("button", name="Start now: pay 80.00 USD").click()
    expect(
        visitor.get_by_text("80.00 USD was paid from your wallet (discount 20.00 USD)")
    ).to_be_visible()

    # The fee entry says gross, discount and net: in the client's wallet and the staff report.
    fee = wallet_line(visitor, "Prop Trading Fee")
    expect(fee).to_contain_text("-80.00 USD")
    expect(fee).to_contain_text("100.00 less discount 20.00 (WELCOME20) = 80.00 USD")
    expect(visitor.locator('[data-balance="USD"]')).to_have_text("70.00")
    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    menu(staff, "Reports", "CRM Reports", "Transactions")
    staff.get_by_label("Type").select_option(label="Prop Trading Fee")
    staff.get_by_role("button", name="Filter").click()
    row = staff.locator("#transactions tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("[data-amount]")).to_have_text("In 80.00 USD")
    expect(row.locator("[data-discount]")).to_have_text("Discount 20.00 USD (price 100.00 USD)")

    # The sub-IB earned 10% of the 80.00 paid, the IB above them 3%.
    log_in(ib, sub.user.email, PASSWORD)
    expect(wallet_line(ib, "IB Commission")).to_contain_text("8.00 USD")
    top_page = new_page()
    log_in(top_page, top.user.email, PASSWORD)
    expect(wallet_line(top_page, "IB Commission")).to_contain_text("2.40 USD")

    # The sub-IB's Referrals page lists the new client: name, status, challenge, fee, commission.
    ib.goto("/portal/referrals/")
    member = ib.locator(f'#downline tr[data-member="{newcomer.pk}"]')
    expect(member).to_contain_text("Nina Newcomer")
    expect(member).to_contain_text("Active")
    expect(member).to_contain_text("Starter 10K")
    expect(member).to_contain_text("80.00 USD")
    expect(member.locator("[data-commission]")).to_have_text("8.00 USD")
    expect(member).not_to_contain_text(NEWCOMER)  # nothing personal beyond name and status
    # ... and the top IB's, at level 2, with their own share.
    top_page.goto("/portal/referrals/")
    second = top_page.locator(f'#downline tr[data-member="{newcomer.pk}"]')
    expect(second).to_have_attribute("data-depth", "2")
    expect(second.locator("[data-commission]")).to_have_text("2.40 USD")
    assert ledger.check() == []


def test_a_vip_challenge_and_payment_method_are_offered_to_vip_clients_only(
    new_page, admin, register, set_method, bank_transfer
):
    set_method("trader_registration", "automatic")
    vip = groups.save_group(None, name="VIP", description="Our best traders", actor=admin)
    insider, _ = register(name="Vera Vip")
    outsider, _ = register(name="Otto Other")
    groups.assign([insider.pk], vip.pk, actor=admin)
    exclusive = catalogue.create(
        definition(name="VIP 200K", client_groups=["VIP"], fee="999.00"), actor=admin
    )
    everyone = catalogue.create(definition(name="Open 100K"), actor=admin)
    for made in (exclusive, everyone):
        catalogue.publish(made.pk, actor=admin)
    deposits.save_payment_method(
        None,
        name="Private banking",
        kind="offline",
        currencies=["USD"],
        min_amount="50",
        max_amount="100000",
        client_groups=[vip.pk],
        actor=admin,
    )

    member = new_page()
    log_in(member, insider.user.email, PASSWORD)
    member.goto("/portal/challenges/")
    expect(member.locator(f'article[data-challenge="{exclusive.pk}"]')).to_be_visible()
    expect(member.locator(f'article[data-challenge="{everyone.pk}"]')).to_be_visible()
    opened = member.goto(f"/portal/challenges/{exclusive.pk}/")
    assert opened is not None
    assert opened.status == 200
    expect(member.get_by_role("heading", name="VIP 200K")).to_be_visible()
    member.goto("/portal/wallet/deposit/")
    expect(
        member.get_by_label("Method").locator("option", has_text="Private banking")
    ).to_have_count(1)

    other = new_page()
    log_in(other, outsider.user.email, PASSWORD)
    other.goto("/portal/challenges/")
    expect(other.locator(f'article[data-challenge="{everyone.pk}"]')).to_be_visible()
    expect(other.locator(f'article[data-challenge="{exclusive.pk}"]')).to_have_count(0)
    refused = other.goto(f"/portal/challenges/{exclusive.pk}/")
    assert refused is not None
    assert refused.status == 404
    other.goto("/portal/wallet/deposit/")
    expect(
        other.get_by_label("Method").locator("option", has_text="Private banking")
    ).to_have_count(0)
    assert ledger.check() == []
