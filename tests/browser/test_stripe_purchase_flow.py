"""A challenge bought by card through Stripe (its fake, started in-process) in Chromium: the firm
sets Stripe up in *Settings > Payment providers*, the client pays on Stripe's hosted page and
comes back to a paid purchase; a declined card leaves it unpaid with nothing moved; a forged or
replayed webhook changes nothing; Finance refunds it (the fee's entry reversed, the purchase
cancelled); a disputed card reaches staff (the request in their queue, the hold shown)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.wallet import deposits, ledger
from propdesk.wallet.models import JournalEntry, Payment, PaymentDispute, WebhookEvent
from propdesk.wallet.providers.fakes.stripe import FakeStripe, signature_header
from tests.browser.flows import log_in, menu, set_up_payment_provider
from tests.challenges.factories import definition
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET_KEY = "sk_test_propdesk_browser"
WEBHOOK_SECRET = "whsec_propdesk_browser_0123456789"


@pytest.fixture
def stripe(live_server, settings, admin, new_page):
    """The fake Stripe, its webhooks to the live server; Stripe set up by an administrator in
    the browser, and a card method using it."""
    settings.PROPDESK_SITE_URL = live_server.url
    fake = FakeStripe(
        secret_key=SECRET_KEY,
        webhook_url=live_server.url + "/webhooks/payments/stripe/",
        webhook_secret=WEBHOOK_SECRET,
        rate_limit=0,
        retry_delays=(0.05, 0.1, 0.2),
    ).start()
    page = new_page()
    log_in(page, admin.email, PASSWORD)
    set_up_payment_provider(
        page,
        "Stripe",
        {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": fake.url},
    )
    expect(page.get_by_text("Stripe accepted the key")).to_be_visible()
    deposits.save_payment_method(
        None,
        name="Card (Stripe)",
        kind="online",
        provider="stripe",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )
    yield fake
    fake.stop()


@pytest.fixture
def challenge(admin):
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


def settle(fake: FakeStripe, run_jobs) -> None:
    """Stripe's due webhooks reach the live server, then the jobs they started run (asking
    Stripe and applying its answer; a dispute is read after the payment it names)."""
    for _ in range(3):
        assert fake.settle()
        run_jobs()


def buy_on_stripe(client: Page, challenge_pk: int, card: str) -> None:
    """From the challenge's page to Stripe's hosted page, paying with `card`."""
    client.goto(f"/portal/challenges/{challenge_pk}/")
    client.locator('input[name="payment"][value="direct"]').check()
    client.get_by_role("button", name="Start now: pay 499.00 USD").click()
    client.get_by_role("button", name="Continue to the payment page").click()
    expect(client.locator(".amount")).to_have_text("499.00 USD")  # Stripe's page
    client.get_by_label("Card number").fill(card)
    client.get_by_label("Expiry").fill("12 / 34")
    client.get_by_label("CVC").fill("123")
    client.get_by_role("button", name="Pay").click()


def state(client: Any) -> dict[str, Any]:
    """What a webhook could change: money, the purchase, the payment, the ledger."""
    return {
        "balances": ledger.balances(client),
        "participations": list(Participation.objects.values_list("pk", "status")),
        "payments": list(Payment.objects.values_list("pk", "status", "received", "refunded")),
        "entries": JournalEntry.objects.count(),
        "disputes": PaymentDispute.objects.count(),
    }


def fake_control(fake: FakeStripe, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        fake.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # the local fake
        return json.loads(answer.read())


def post_webhook(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # the live server
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_a_challenge_paid_by_card_on_stripe_is_paid_once_then_refunded_by_finance(
    stripe, challenge, active_client, finance, live_server, new_page, run_jobs
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    buy_on_stripe(client, challenge.pk, "4242 4242 4242 4242")
    expect(client).to_have_url(f"{live_server.url}/portal/my-challenges/")  # back from Stripe
    settle(stripe, run_jobs)
    joined = Participation.objects.get()
    assert joined.status not in ("pending_payment", "cancelled")  # paid (then per the policy)
    assert joined.fee_entry is not None
    assert Payment.objects.get().status == "paid"
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}  # in, then the fee out
    client.goto(f"/portal/my-challenges/{joined.pk}/")
    expect(client.locator("#pay-now")).to_have_count(0)

    # A forged webhook (signed with another secret, or not at all) and a replayed one change
    # nothing.
    before = state(active_client)
    events_kept = WebhookEvent.objects.count()
    completed = stripe.events("checkout.session.completed")[0]
    body = json.dumps(completed).encode()
    url = live_server.url + "/webhooks/payments/stripe/"
    now = int(time.time())
    forged = signature_header(body, "whsec_not_the_firms_secret_000000", now)
    assert post_webhook(url, body, forged) == 400
    assert post_webhook(url, body, "t=1,v1=" + "0" * 64) == 400
    assert WebhookEvent.objects.count() == events_kept
    # The same event again: as Stripe's Dashboard resends it, and POSTed again signed anew.
    assert post_webhook(url, body, signature_header(body, WEBHOOK_SECRET, now)) == 200
    for event in stripe.events():
        fake_control(stripe, f"/_fake/events/{event['id']}/replay", {})
    settle(stripe, run_jobs)
    assert state(active_client) == before
    assert ledger.check() == []

    # Finance refunds it from Finance > Payments: the fee's entry is reversed.
    staff = new_page()
    log_in(staff, finance.email, PASSWORD)
    menu(staff, "Finance", "Payments")
    staff.locator("#payments tbody a").first.click()
    expect(staff.locator("#payment-status")).to_have_text("Paid")
    staff.locator('#refund-form input[name="amount"]').fill("499.00")
    staff.locator('#refund-form input[name="reason"]').fill("Client asked before trading")
    staff.get_by_role("button", name="Refund…").click()
    expect(staff.locator("#refund-confirm-text")).to_contain_text("499.00 USD")
    staff.locator("#refund-confirm").click()
    settle(stripe, run_jobs)  # the refund asked of Stripe after commit; its webhooks after
    staff.reload()
    expect(staff.locator("#payment-status")).to_have_text("Refunded")
    expect(staff.locator("#refunds")).to_contain_text("Succeeded")
    expect(staff.locator("#payment-refunded")).to_have_text("499.00 USD")
    at_stripe = [o for o in stripe.book.objects.values() if o.get("object") == "refund"]
    assert [r["amount"] for r in at_stripe] == [49900]  # one refund at Stripe

    joined.refresh_from_db()
    assert joined.refund_entry is not None
    assert joined.status == "cancelled"  # no longer active
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    client.goto("/portal/wallet/")
    expect(client.get_by_text("Refund of the fee for participation")).to_be_visible()
    assert ledger.check() == []


def test_a_declined_card_leaves_the_purchase_unpaid_and_moves_nothing(
    stripe, challenge, active_client, new_page, run_jobs
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    buy_on_stripe(client, challenge.pk, "4000 0000 0000 0002")
    expect(client.get_by_role("alert")).to_contain_text("Your card was declined")
    settle(stripe, run_jobs)
    joined = Participation.objects.get()
    assert joined.status == "pending_payment"
    assert joined.fee_entry is None
    assert Payment.objects.get().received == Decimal("0.00")
    assert Payment.objects.get().status != "paid"
    assert ledger.balances(active_client) in ({}, {"USD": Decimal("0.00")})
    assert not JournalEntry.objects.filter(client=active_client).exists()
    client.goto(f"/portal/my-challenges/{joined.pk}/")
    expect(client.locator("#pay-now")).to_be_visible()  # they may try another card
    assert ledger.check() == []


def test_a_dispute_opened_at_stripe_reaches_staff_with_the_hold_shown(
    stripe, challenge, active_client, admin, new_page, run_jobs
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    buy_on_stripe(client, challenge.pk, "4242 4242 4242 4242")
    settle(stripe, run_jobs)
    paid = Payment.objects.get()
    assert paid.status == "paid"
    # Weeks later the cardholder's bank disputes the charge (the fake's control plays it).
    fake_control(stripe, f"/_fake/charges/{paid.payment_id}/dispute", {"reason": "fraudulent"})
    settle(stripe, run_jobs)
    dispute = PaymentDispute.objects.get()
    assert dispute.status == "open"
    told = ApprovalRequest.objects.get(type_key="payment_dispute")

    staff = new_page()
    log_in(staff, admin.email, PASSWORD)
    staff.goto("/backoffice/approvals/all/")
    expect(staff.locator(f'[href="/backoffice/approvals/{told.pk}/"]').first).to_be_visible()
    staff.goto(f"/backoffice/finance/payments/{Payment.objects.get().pk}/")
    row = staff.locator(f'#disputes tr[data-dispute="{dispute.provider_dispute_id}"]')
    expect(row).to_contain_text("499.00")
    expect(row).to_contain_text("Open")
    staff.goto(f"/backoffice/clients/{active_client.pk}/")
    expect(staff.locator(f'[data-open-dispute="{dispute.provider_dispute_id}"]')).to_contain_text(
        "held"
    )
    assert ledger.check() == []
