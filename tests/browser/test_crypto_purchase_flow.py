"""A challenge bought with crypto through NOWPayments (its fake, started in-process) in Chromium:
the firm sets NOWPayments up in *Settings > Payment providers*; the client sends part of the
coins on the invoice's page, sees the part in their wallet while the purchase waits, then pays
the fee from the wallet; coins beyond the fee stay in the wallet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.wallet import deposits, ledger
from propdesk.wallet.models import Payment
from propdesk.wallet.providers.fakes.nowpayments import FakeNowPayments
from tests.browser.flows import log_in, set_up_payment_provider
from tests.challenges.factories import definition
from tests.conftest import PASSWORD
from tests.wallet.factories import fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SATOSHI = Decimal("0.00000001")


@pytest.fixture
def crypto(live_server, settings, admin, new_page):
    """The fake NOWPayments (its IPNs go to the invoice's `ipn_callback_url`, the live
    server's `/webhooks/payments/nowpayments/`); set up by an administrator in the browser, and
    a crypto method using it."""
    settings.PROPDESK_SITE_URL = live_server.url
    fake = FakeNowPayments().start()
    page = new_page()
    log_in(page, admin.email, PASSWORD)
    set_up_payment_provider(
        page,
        "NOWPayments (crypto)",
        {"api_key": fake.api_key, "ipn_secret": fake.ipn_secret, "api_url": fake.url},
    )
    deposits.save_payment_method(
        None,
        name="Crypto (NOWPayments)",
        kind="online",
        provider="nowpayments",
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


def send_coins(client: Page, challenge_pk: int, share: Decimal) -> None:
    """From the challenge's page to NOWPayments' invoice page: pick a coin, send `share` of
    what it asks, and go back to the portal."""
    client.goto(f"/portal/challenges/{challenge_pk}/")
    client.locator('input[name="payment"][value="direct"]').check()
    client.get_by_role("button", name="Start now: pay 499.00 USD").click()
    client.get_by_role("button", name="Continue to the payment page").click()
    expect(client.locator("#price")).to_have_text("499 USD")  # NOWPayments' page
    client.locator("#coin").select_option("btc")
    client.locator("#choose").click()
    asked = Decimal(client.locator("#pay-amount").inner_text())
    client.locator("#amount").fill(str((asked * share).quantize(SATOSHI)))
    client.locator("#send").click()
    expect(client.locator("#status")).to_be_visible()
    client.locator("#back").click()
    expect(client.locator("h1").first).to_be_visible()


def test_a_part_paid_in_crypto_is_credited_and_waits_then_the_wallet_pays_the_fee(
    crypto, challenge, active_client, admin, live_server, new_page, run_jobs
):
    fund(active_client, admin, amount="300.00")
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    send_coins(client, challenge.pk, Decimal("0.5"))
    expect(client).to_have_url(f"{live_server.url}/portal/my-challenges/")  # back in the portal
    run_jobs()  # propdesk asks NOWPayments about the payment its IPN named
    joined = Participation.objects.get()
    assert joined.status == "pending_payment"  # the purchase waits
    assert joined.fee_entry is None
    payment = Payment.objects.get()
    assert payment.status == "partially_paid"
    part = payment.received
    assert Decimal("240.00") < part < Decimal("260.00")
    assert ledger.balances(active_client) == {"USD": Decimal("300.00") + part}

    client.goto(f"/portal/my-challenges/{joined.pk}/")
    expect(client.locator("#paid-so-far")).to_contain_text(f"{part} USD")
    client.goto("/portal/wallet/")
    expect(client.locator('[data-balance="USD"]')).to_have_text(f"{Decimal('300.00') + part:,}")

    # The rest from the wallet: the fee is taken, the purchase goes on.
    client.goto(f"/portal/my-challenges/{joined.pk}/")
    client.get_by_role("button", name="Pay 499.00 USD from my wallet").click()
    expect(client.get_by_text("The fee was paid from your wallet.")).to_be_visible()
    expect(client.locator("#pay-now")).to_have_count(0)
    joined.refresh_from_db()
    assert joined.status != "pending_payment"
    assert joined.fee_entry is not None
    left = Decimal("300.00") + part - Decimal("499.00")
    assert ledger.balances(active_client) == {"USD": left}

    # Coins NOWPayments tells about again change nothing more (the IPN replayed).
    run_jobs()
    assert ledger.balances(active_client) == {"USD": left}
    assert ledger.check() == []


def test_more_crypto_than_the_fee_pays_it_and_the_rest_stays_in_the_wallet(
    crypto, challenge, active_client, live_server, new_page, run_jobs
):
    client = new_page()
    log_in(client, active_client.user.email, PASSWORD)
    send_coins(client, challenge.pk, Decimal("1.2"))
    expect(client).to_have_url(f"{live_server.url}/portal/my-challenges/")
    run_jobs()
    joined = Participation.objects.get()
    assert joined.status != "pending_payment"
    assert joined.fee_entry is not None
    payment = Payment.objects.get()
    assert payment.status == "paid"
    rest = payment.received - Decimal("499.00")
    assert Decimal("90.00") < rest < Decimal("110.00")
    assert ledger.balances(active_client) == {"USD": rest}
    client.goto("/portal/wallet/")
    expect(client.locator('[data-balance="USD"]')).to_have_text(f"{rest:,}")
    assert ledger.check() == []
