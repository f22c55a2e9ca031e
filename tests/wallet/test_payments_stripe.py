"""The payment core with Stripe plugged in by the registry, on the Stripe fake: a card deposit
is started after commit, paid at the fake, told by its signed webhook over HTTP, confirmed by
asking the fake, and credited once; a refund goes back through the fake."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tasks_db.models import DBTaskResult

from propdesk.wallet import deposits, disputes, ledger, payments, provider_settings, refunds
from propdesk.wallet.models import (
    Payment,
    PaymentDispute,
    PaymentMessage,
    PaymentRefund,
    WebhookEvent,
)
from propdesk.wallet.providers.fakes.stripe import FakeStripe

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_KEY = "sk_test_propdesk_core"
WEBHOOK_SECRET = "whsec_propdesk_core_0123456789"


@pytest.fixture
def stripe(live_server, settings, admin):
    settings.PROPDESK_SITE_URL = live_server.url
    fake = FakeStripe(
        secret_key=SECRET_KEY,
        webhook_url=live_server.url + "/webhooks/payments/stripe/",
        webhook_secret=WEBHOOK_SECRET,
        rate_limit=0,
        retry_delays=(0.05, 0.1, 0.2),
    ).start()
    provider_settings.save(
        "stripe",
        enabled=True,
        given={"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": fake.url},
        actor=admin,
    )
    yield fake
    fake.stop()


def test_a_card_deposit_through_stripe_is_credited_once_and_refunded(
    stripe, active_client, admin, finance, set_method, run_jobs
):
    set_method("deposit", "automatic")
    card = deposits.save_payment_method(
        None,
        name="Card (Stripe)",
        kind="online",
        provider="stripe",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )
    made = deposits.request_deposit(active_client, method=card.pk, amount="120.00", currency="USD")
    payment = payments.start(Payment.objects.get(token=made.checkout_token))
    assert payment.provider_ref.startswith("cs_")
    assert payment.checkout_url.startswith(stripe.url)

    stripe.book.pay(payment.provider_ref, "4242424242424242", "")
    assert stripe.settle()  # the fake's webhooks reached our endpoint
    assert WebhookEvent.objects.filter(provider="stripe").exists()
    run_jobs()  # propdesk asks Stripe (the fake) and applies its answer
    made.refresh_from_db()
    assert made.status == "approved"
    assert ledger.balances(active_client) == {"USD": Decimal("120.00")}
    run_jobs()
    assert ledger.balances(active_client) == {"USD": Decimal("120.00")}  # once

    refunds.request_refund(payment.pk, amount="20.00", reason="Asked", actor=finance)
    run_jobs()
    assert PaymentRefund.objects.get().status == "succeeded"
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    stripe.settle()
    run_jobs()  # Stripe's own refund webhook: not booked a second time
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert Payment.objects.get().refunded == Decimal("20.00")
    assert ledger.check() == []


def test_a_card_disputed_at_once_holds_the_whole_payment_whatever_job_runs_first(
    stripe, active_client, admin, set_method, run_jobs
):
    """Stripe's test card 4000000000000259 is paid, then disputed at once: the dispute's
    webhook names only the payment intent, and may be handled before the settle job ran."""
    set_method("deposit", "automatic")
    card = deposits.save_payment_method(
        None,
        name="Card (Stripe)",
        kind="online",
        provider="stripe",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )
    made = deposits.request_deposit(active_client, method=card.pk, amount="120.00", currency="USD")
    payment = payments.start(Payment.objects.get(token=made.checkout_token))
    stripe.book.pay(payment.provider_ref, "4000000000000259", "")
    assert stripe.settle()
    assert WebhookEvent.objects.filter(provider="stripe").exists()
    # The completed session's payment intent is kept at once: the dispute found its payment.
    payment.refresh_from_db()
    assert payment.payment_id.startswith("pi_")
    assert PaymentMessage.objects.filter(payment=payment, what="charge.dispute.created").exists()
    # The dispute's job first (as a worker may pick it): the money is applied, then held.
    tracked = DBTaskResult.objects.filter(task_path=disputes.track.module_path).first()
    assert disputes.track.call(*tracked.args_kwargs["args"]).startswith("dispute opened")
    run_jobs()
    dispute = PaymentDispute.objects.get()
    assert (dispute.amount, dispute.held) == (Decimal("120.00"), Decimal("120.00"))
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    assert Payment.objects.get().received == Decimal("120.00")
    assert ledger.check() == []
