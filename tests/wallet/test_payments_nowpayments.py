"""The payment core with NOWPayments plugged in by the registry, on its fake: a challenge paid
half in crypto is credited to the wallet and waits; the rest arrives and the fee is taken."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import services as participation
from propdesk.wallet import deposits, ledger, payments, provider_settings
from propdesk.wallet.models import Payment
from propdesk.wallet.providers.fakes.nowpayments import FakeNowPayments
from tests.challenges.factories import definition

pytestmark = pytest.mark.django_db(transaction=True)


def control(fake: FakeNowPayments, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        fake.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # the local fake
        return json.loads(answer.read())


@pytest.fixture
def crypto(live_server, settings, admin):
    settings.PROPDESK_SITE_URL = live_server.url
    fake = FakeNowPayments().start()
    provider_settings.save(
        "nowpayments",
        enabled=True,
        given={"api_key": fake.api_key, "ipn_secret": fake.ipn_secret, "api_url": fake.url},
        actor=admin,
    )
    yield fake
    fake.stop()


def test_a_partial_crypto_payment_is_credited_and_the_purchase_waits_for_the_rest(
    crypto, active_client, admin, run_jobs
):
    method = deposits.save_payment_method(
        None,
        name="Crypto",
        kind="online",
        provider="nowpayments",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    joined = participation.start(active_client, made.pk, payment="direct", method=method.pk)
    payment = payments.start(Payment.objects.get(token=joined.checkout_token))
    assert payment.checkout_url.startswith(crypto.url)

    control(crypto, "/_fake/pay", {"invoice_id": payment.provider_ref, "fraction": "0.5"})
    run_jobs()
    joined.refresh_from_db()
    assert joined.status == "pending_payment"
    half = Payment.objects.get().received
    assert Decimal(0) < half < Decimal("499.00")
    assert ledger.balances(active_client) == {"USD": half}
    assert Payment.objects.get().status == "partially_paid"
    assert ledger.check() == []


def test_a_crypto_deposit_whose_settle_job_was_lost_is_settled_by_the_sweep(
    crypto, active_client, admin, set_method, run_jobs
):
    """NOWPayments is asked by its payment id: the verified IPN's is kept on the payment at
    once, so the sweep can ask even when the job the IPN queued never ran."""
    set_method("deposit", "automatic")
    method = deposits.save_payment_method(
        None,
        name="Crypto",
        kind="online",
        provider="nowpayments",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )
    made = deposits.request_deposit(
        active_client, method=method.pk, amount="100.00", currency="USD"
    )
    payment = payments.start(Payment.objects.get(token=made.checkout_token))
    control(crypto, "/_fake/pay", {"invoice_id": payment.provider_ref, "fraction": "1"})
    payment.refresh_from_db()
    assert payment.payment_id  # kept from the verified IPN, before any job ran
    DBTaskResult.objects.filter(task_path=payments.settle_payment.module_path).delete()  # lost
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Payment.objects.update(updated_at=an_hour_ago, started_at=an_hour_ago)
    assert payments.sweep() == 1
    run_jobs()
    assert Payment.objects.get().status == "paid"
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert ledger.check() == []


def test_an_invoice_nobody_paid_yet_is_swept_without_a_failed_job(
    crypto, active_client, admin, set_method, run_jobs
):
    """An invoice cannot be asked about before an IPN names its payment: the sweep's question
    waits quietly (no job given up on every quarter of an hour for a week)."""
    method = deposits.save_payment_method(
        None,
        name="Crypto",
        kind="online",
        provider="nowpayments",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )
    made = deposits.request_deposit(
        active_client, method=method.pk, amount="100.00", currency="USD"
    )
    payments.start(Payment.objects.get(token=made.checkout_token))
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Payment.objects.update(updated_at=an_hour_ago, started_at=an_hour_ago)
    assert payments.sweep() == 1
    run_jobs()
    settled = DBTaskResult.objects.get(task_path=payments.settle_payment.module_path)
    assert settled.status == "SUCCESSFUL"
    assert Payment.objects.get().status == "open"
