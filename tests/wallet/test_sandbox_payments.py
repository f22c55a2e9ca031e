from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django_tasks_db.models import DBTaskResult

from propdesk.approvals import services as approvals
from propdesk.wallet import deposits, ledger, sandbox_payments
from propdesk.wallet.models import Deposit, PaymentMessage, WebhookEvent
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db


def start(client, method, amount="100.00"):
    return deposits.request_deposit(client, method=method.pk, amount=amount, currency="USD")


def test_online_deposit_waits_for_the_provider(active_client, sandbox_card):
    deposit = start(active_client, sandbox_card)
    assert deposit.status == "awaiting_payment"
    assert deposit.checkout_token is not None
    assert ledger.balances(active_client) == {}


def test_a_signed_payment_under_the_threshold_is_credited_at_once(
    active_client, sandbox_card, admin
):
    approvals.set_policy("deposit", method="partial", threshold="500", actor=admin)
    deposit = start(active_client, sandbox_card, "100.00")
    response = deliver(sandbox_payments.event_for(deposit, paid=True))
    assert response.status_code == 200
    assert response.json()["outcome"] == "paid"
    deposit.refresh_from_db()
    assert deposit.status == "approved"
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}


def test_a_large_payment_is_queued_for_review(active_client, sandbox_card, admin):
    approvals.set_policy("deposit", method="partial", threshold="500", actor=admin)
    deposit = start(active_client, sandbox_card, "800.00")
    deliver(sandbox_payments.event_for(deposit, paid=True))
    deposit.refresh_from_db()
    assert deposit.status == "pending"
    assert ledger.balances(active_client) == {}


def test_a_replayed_webhook_changes_nothing(active_client, sandbox_card, set_method):
    set_method("deposit", "automatic")
    deposit = start(active_client, sandbox_card)
    event = sandbox_payments.event_for(deposit, paid=True)
    assert deliver(event).json()["outcome"] == "paid"
    assert deliver(event).json()["outcome"] == "duplicate"
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    "signature",
    ["", "t=1,v1=deadbeef", "garbage", "t=abc,v1=00", "t=²,v1=00", "t=NOW,v1=é", "t=NOW,v1=0G"],
)
def test_a_forged_webhook_is_refused_and_changes_nothing(
    active_client, sandbox_card, set_method, signature
):
    set_method("deposit", "automatic")
    deposit = start(active_client, sandbox_card)
    signature = signature.replace("NOW", str(int(time.time())))
    response = deliver(sandbox_payments.event_for(deposit, paid=True), signature=signature)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    deposit.refresh_from_db()
    assert deposit.status == "awaiting_payment"
    assert not WebhookEvent.objects.exists()


def test_a_stale_signature_is_refused(active_client, sandbox_card):
    deposit = start(active_client, sandbox_card)
    old = int(time.time()) - 3600
    response = deliver(sandbox_payments.event_for(deposit, paid=True), at=old)
    assert response.status_code == 400


def test_a_webhook_lying_about_the_amount_credits_only_what_the_provider_says_arrived(
    active_client, sandbox_card, set_method
):
    set_method("deposit", "automatic")
    deposit = start(active_client, sandbox_card)
    event = sandbox_payments.event_for(deposit, paid=True)
    event["data"]["amount"] = "1000000.00"  # the body is not believed: the sandbox is asked
    assert deliver(event).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == "approved"
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}


def test_a_cancelled_checkout_cancels_the_deposit(active_client, sandbox_card):
    deposit = start(active_client, sandbox_card)
    assert deliver(sandbox_payments.event_for(deposit, paid=False)).json()["outcome"] == "cancelled"
    deposit.refresh_from_db()
    assert deposit.status == "cancelled"


def test_payment_news_of_a_checkout_not_ours_is_kept_answered_and_changes_nothing(
    active_client, sandbox_card
):
    """The provider's account may serve other shops: answered 200 (refused, it would be resent
    for days and the endpoint turned off), kept for staff, and nothing moves."""
    deposit = start(active_client, sandbox_card)
    event = sandbox_payments.event_for(deposit, paid=True)
    event["data"]["reference"] = "00000000-0000-0000-0000-000000000000"
    answer = deliver(event)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored"
    deposit.refresh_from_db()
    assert deposit.status == "awaiting_payment"
    assert PaymentMessage.objects.filter(payment=None, direction="in").count() == 1


def test_a_bank_transfer_cannot_have_a_provider(admin):
    from propdesk.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        deposits.save_payment_method(
            None,
            name="Odd",
            kind="offline",
            provider="sandbox",
            currencies=["USD"],
            min_amount="1",
            max_amount="10",
            actor=admin,
        )
    assert "provider" in caught.value.fields


@pytest.mark.django_db(transaction=True)
def test_pressing_pay_sends_a_real_signed_webhook_over_http(
    active_client, sandbox_card, set_method, live_server, settings, run_jobs
):
    settings.PROPDESK_SITE_URL = live_server.url
    set_method("deposit", "automatic")
    deposit = start(active_client, sandbox_card, "42.00")
    page = HttpClient().get(f"/pay/sandbox/{deposit.checkout_token}/")
    assert b"42.00 USD" in page.content
    HttpClient().post(f"/pay/sandbox/{deposit.checkout_token}/", {"action": "pay"})
    assert Deposit.objects.get(pk=deposit.pk).status == "awaiting_payment"  # not yet: a job
    run_jobs()
    assert Deposit.objects.get(pk=deposit.pk).status == "approved"
    assert ledger.balances(active_client) == {"USD": Decimal("42.00")}


def test_a_part_then_the_rest_is_credited_as_it_arrives_each_part_once(
    active_client, sandbox_card, set_method
):
    """Money that arrived is never dropped: a part goes to the deposit, the rest is a deposit
    of its own, reviewed and credited like any; the same news told again changes nothing."""
    set_method("deposit", "automatic")
    deposit = start(active_client, sandbox_card, "100.00")
    first = sandbox_payments.event_for(deposit, paid=True, amount=Decimal("60.00"))
    assert deliver(first).json()["outcome"] == "paid"
    assert ledger.balances(active_client) == {"USD": Decimal("60.00")}
    second = sandbox_payments.event_for(deposit, paid=True)  # the rest: 40.00
    assert deliver(second).json()["outcome"].startswith("paid again: deposit DEP-")
    retold = {**second, "id": "evt_retold"}  # the same news under a new event id
    assert deliver(retold).json()["outcome"] == "nothing new"
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert Deposit.objects.filter(client=active_client, status="approved").count() == 2


def test_pressing_pay_twice_charges_once(active_client, sandbox_card):
    deposit = start(active_client, sandbox_card, "42.00")
    page = f"/pay/sandbox/{deposit.checkout_token}/"
    HttpClient().post(page, {"action": "pay"})
    HttpClient().post(page, {"action": "pay"})  # a double click, or Back and Pay again
    queued = DBTaskResult.objects.filter(task_path=sandbox_payments.deliver_webhook.module_path)
    assert queued.count() == 1
