"""Payments through a provider, proven with the built-in sandbox: the webhook is verified, kept
and handled once; the provider is asked and its answer applied by amounts (part then the rest,
over-payment, expiry); a client sees only their own payments."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import services as participation
from propdesk.wallet import deposits, ledger, payments, sandbox_payments
from propdesk.wallet.models import Deposit, JournalEntry, Payment, PaymentMessage, WebhookEvent
from propdesk.wallet.providers import registry
from tests.challenges.factories import definition
from tests.conftest import logged_in, post_form
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db

FEE = Decimal("499.00")


@pytest.fixture
def challenge(admin):
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


def buy(client, challenge, method):
    return participation.start(client, challenge.pk, payment="direct", method=method.pk)


def pay(joined, amount=None):
    return deliver(sandbox_payments.event_for(joined, paid=True, amount=amount)).json()


def test_a_purchase_opens_a_payment_under_its_checkout_token(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    payment = Payment.objects.get()
    assert payment.token == joined.checkout_token
    assert (payment.purpose, payment.amount, payment.provider) == ("purchase", FEE, "sandbox")
    assert payment.checkout_url == ""  # not started inside the purchase's transaction


def test_the_pay_step_starts_the_checkout_once_and_sends_the_client_there(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    browser = logged_in(active_client.user)
    first = browser.get(f"/portal/pay/{joined.checkout_token}/")
    second = browser.get(f"/portal/pay/{joined.checkout_token}/")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert first["Location"].endswith(f"/pay/sandbox/{joined.checkout_token}/")
    assert PaymentMessage.objects.filter(what="start_checkout").count() == 1


def test_a_client_never_sees_another_clients_payment(
    active_client, register, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    other, _ = register()
    response = logged_in(other.user).get(f"/portal/pay/{joined.checkout_token}/")
    assert response.status_code == 404
    assert Payment.objects.get().checkout_url == ""


def test_a_part_is_credited_to_the_wallet_and_the_purchase_waits_then_the_rest_pays_it(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    assert pay(joined, Decimal("200.00"))["outcome"].startswith("partially paid")
    joined.refresh_from_db()
    assert joined.status == "pending_payment"
    assert ledger.balances(active_client) == {"USD": Decimal("200.00")}
    assert Payment.objects.get().status == "partially_paid"
    assert pay(joined)["outcome"] == "paid"  # the rest: 299.00
    joined.refresh_from_db()
    assert joined.status != "pending_payment"
    assert joined.fee_entry is not None
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    payment = Payment.objects.get()
    assert (payment.status, payment.received) == ("paid", FEE)
    assert JournalEntry.objects.filter(type="prop_trading_fee").count() == 1
    assert ledger.check() == []


def test_an_over_payment_pays_the_fee_and_its_rest_stays_in_the_wallet(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    assert pay(joined, Decimal("600.00"))["outcome"] == "paid"
    assert ledger.balances(active_client) == {"USD": Decimal("101.00")}
    assert Payment.objects.get().received == Decimal("600.00")


def test_an_expired_checkout_with_nothing_paid_cancels_the_purchase(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    event = sandbox_payments.event_for(joined, paid=False)
    assert deliver(event).json()["outcome"] == "cancelled"
    joined.refresh_from_db()
    assert joined.status == "cancelled"
    assert Payment.objects.get().status == "expired"


def test_a_replayed_webhook_is_handled_once(active_client, challenge, sandbox_card):
    joined = buy(active_client, challenge, sandbox_card)
    event = sandbox_payments.event_for(joined, paid=True)
    assert deliver(event).json()["outcome"] == "paid"
    assert deliver(event).json()["outcome"] == "duplicate"
    assert WebhookEvent.objects.count() == 1
    assert PaymentMessage.objects.filter(direction="in").count() == 1
    assert JournalEntry.objects.filter(type="deposit").count() == 1


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"id": "x"}', b'{"id":"e","type":"payment.succeeded","data":{}}'],
)
def test_a_malformed_but_signed_webhook_is_refused_and_writes_nothing(
    active_client, challenge, sandbox_card, body
):
    buy(active_client, challenge, sandbox_card)
    response = HttpClient().post(
        "/webhooks/payments/sandbox/",
        body,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE=sandbox_payments.sign(body),
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert not PaymentMessage.objects.filter(direction="in").exists()


def test_a_forged_webhook_at_the_generic_url_is_refused_and_changes_nothing(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    event = sandbox_payments.event_for(joined, paid=True)
    body = json.dumps(event).encode()
    response = HttpClient().post(
        "/webhooks/payments/sandbox/",
        body,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE="t=1,v1=" + "0" * 64,
    )
    assert response.status_code == 400
    joined.refresh_from_db()
    assert joined.status == "pending_payment"
    assert not WebhookEvent.objects.exists()
    assert ledger.balances(active_client) == {}


def test_an_unknown_provider_kind_is_404(active_client):
    response = HttpClient().post("/webhooks/payments/nosuch/", b"{}", content_type="text/plain")
    assert response.status_code == 404


def test_the_raw_messages_are_kept_with_the_payment(active_client, challenge, sandbox_card):
    joined = buy(active_client, challenge, sandbox_card)
    pay(joined)
    kept = list(Payment.objects.get().messages.values_list("direction", "what"))
    assert kept == [("out", "start_checkout"), ("in", "payment.succeeded"), ("out", "confirm")]


def test_a_lost_webhook_is_found_by_the_sweep(
    active_client, challenge, sandbox_card, run_jobs, settings
):
    joined = buy(active_client, challenge, sandbox_card)
    sandbox_payments.event_for(joined, paid=True)  # paid at the sandbox, the webhook lost
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Payment.objects.update(updated_at=an_hour_ago, started_at=an_hour_ago)
    assert payments.sweep() == 1
    run_jobs()
    joined.refresh_from_db()
    assert joined.status != "pending_payment"
    assert Payment.objects.get().status == "paid"


def test_a_provider_that_cannot_be_reached_leaves_a_try_again(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    account = registry.account("sandbox")
    account.values = {"unreachable": "yes"}  # the sandbox's control: it plays a provider down
    account.save()
    browser = logged_in(active_client.user)
    page = browser.get(f"/portal/pay/{joined.checkout_token}/")
    assert page.status_code == 503
    assert b"Try again" in page.content
    # The client is told a fixed sentence; what the provider said (it may name the firm's key)
    # stays with the payment for staff.
    assert "The payment provider could not open the checkout." in page.content.decode()
    assert "sandbox plays" not in page.content.decode()
    assert Payment.objects.get().messages.filter(what="start_checkout").exists()
    assert Payment.objects.get().checkout_url == ""
    account.values = {}
    account.save()
    again = post_form(browser, f"/portal/pay/{joined.checkout_token}/", {})
    assert again.status_code == 302
    assert Payment.objects.get().checkout_url


def test_the_registry_offers_only_the_installed_providers():
    kinds = registry.kinds()
    assert kinds[0] == "sandbox"
    assert set(kinds) <= {"sandbox", "stripe", "nowpayments"}
    assert registry.adapter("nosuch") is None


def test_a_purchase_waiting_for_the_rest_stays_pending(active_client, challenge, sandbox_card):
    joined = buy(active_client, challenge, sandbox_card)
    pay(joined, Decimal("10.00"))
    assert Participation.objects.get(pk=joined.pk).status == "pending_payment"


def test_a_provider_turned_off_opens_no_checkout(active_client, challenge, sandbox_card):
    joined = buy(active_client, challenge, sandbox_card)
    account = registry.account("sandbox")
    account.enabled = False
    account.save()
    page = logged_in(active_client.user).get(f"/portal/pay/{joined.checkout_token}/")
    assert page.status_code == 503
    assert Payment.objects.get().checkout_url == ""


def lapse(joined):
    """The purchase (and its payment) were opened past the checkout deadline."""
    long_ago = timezone.now() - timedelta(hours=settings.CHECKOUT_EXPIRY_HOURS + 1)
    Participation.objects.filter(pk=joined.pk).update(created_at=long_ago)
    Payment.objects.update(started_at=long_ago, updated_at=long_ago)
    return participation.lapse_unpaid()


def test_a_lapsed_purchase_closes_its_payment_and_its_checkout_cannot_be_started(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    assert lapse(joined) == 1
    assert Payment.objects.get().status == "expired"
    page = logged_in(active_client.user).get(f"/portal/pay/{joined.checkout_token}/")
    assert page.status_code == 503
    assert b"closed" in page.content
    assert Payment.objects.get().checkout_url == ""  # nothing opened at the provider


def test_money_arriving_after_the_payment_lapsed_is_still_credited_to_the_wallet(
    active_client, challenge, sandbox_card, run_jobs
):
    joined = buy(active_client, challenge, sandbox_card)
    sandbox_payments.checkout(joined.checkout_token)  # started before it lapsed
    lapse(joined)
    assert pay(joined)["outcome"] == "credited to the wallet"
    assert ledger.balances(active_client) == {"USD": FEE}
    assert (Payment.objects.get().status, Payment.objects.get().received) == ("paid", FEE)
    joined.refresh_from_db()
    assert joined.status == "cancelled"


def test_the_sweep_still_asks_about_a_lapsed_payment_whose_webhook_was_lost(
    active_client, challenge, sandbox_card, run_jobs
):
    joined = buy(active_client, challenge, sandbox_card)
    payments.start(Payment.objects.get())
    lapse(joined)
    sandbox_payments.event_for(joined, paid=True)  # paid in time at the sandbox, webhook lost
    Payment.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    assert payments.sweep() == 1
    run_jobs()
    assert ledger.balances(active_client) == {"USD": FEE}
    assert Payment.objects.get().status == "paid"


def test_a_lapsed_deposit_closes_its_payment(active_client, sandbox_card):
    made = deposits.request_deposit(
        active_client, method=sandbox_card.pk, amount="100.00", currency="USD"
    )
    long_ago = timezone.now() - timedelta(hours=settings.CHECKOUT_EXPIRY_HOURS + 1)
    Deposit.objects.filter(pk=made.pk).update(created_at=long_ago)
    assert deposits.lapse_unpaid() == 1
    assert Payment.objects.get().status == "expired"


def test_staff_cancelling_an_unpaid_purchase_cancels_its_payment(
    active_client, challenge, sandbox_card, admin
):
    from propdesk.challenges.participation import interventions

    joined = buy(active_client, challenge, sandbox_card)
    interventions.cancel(joined.pk, actor=admin, reason="Client changed their mind")
    assert Payment.objects.get().status == "cancelled"
    assert pay(joined)["outcome"] == "credited to the wallet"  # money still never dropped
    assert ledger.balances(active_client) == {"USD": FEE}
    assert Payment.objects.get().status == "paid"
