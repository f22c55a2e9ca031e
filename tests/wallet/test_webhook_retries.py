"""The payment webhook when our web tier is down: retried until it gets through, never lost;
refused for good only when our endpoint refuses the event itself."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django.live_server_helper import LiveServer

from propdesk.jobs import services as jobs
from propdesk.jobs.models import Attempt
from propdesk.wallet import deposits, ledger, sandbox_payments
from propdesk.wallet.models import Deposit, WebhookEvent
from tests.jobs.factories import closed_port

pytestmark = pytest.mark.django_db(transaction=True)


def pay(deposit: Deposit) -> None:
    """The client presses Pay on the provider's checkout page."""
    HttpClient().post(f"/pay/sandbox/{deposit.checkout_token}/", {"action": "pay"})


def delivery() -> DBTaskResult:
    return DBTaskResult.objects.get(task_path=sandbox_payments.deliver_webhook.module_path)


def test_card_deposits_paid_while_the_site_was_down_are_credited_once_it_is_up(
    active_client, sandbox_card, set_method, settings, run_jobs, admin
):
    port = closed_port()
    settings.PROPDESK_SITE_URL = f"http://127.0.0.1:{port}"  # where the web tier should be
    set_method("deposit", "automatic")
    made = [
        deposits.request_deposit(
            active_client, method=sandbox_card.pk, amount=f"{n}0.00", currency="USD"
        )
        for n in (1, 2, 3)
    ]
    for deposit in made:
        pay(deposit)
    run_jobs()  # the site is down: every delivery fails
    jobs_now = DBTaskResult.objects.filter(task_path=sandbox_payments.deliver_webhook.module_path)
    assert sorted(j.status for j in jobs_now) == ["READY"] * 3  # re-queued, not failed
    assert all(j.run_after > timezone.now() for j in jobs_now)  # after a back-off
    assert Attempt.objects.filter(outcome="failed").count() == 3
    assert "Connection refused" in Attempt.objects.first().message
    assert {d.status for d in Deposit.objects.all()} == {"awaiting_payment"}
    listed = jobs.problems(admin)[jobs.WAITING]
    assert len(listed) == 3

    server = LiveServer(f"127.0.0.1:{port}")  # the web tier is back
    try:
        DBTaskResult.objects.update(run_after=timezone.now())  # the back-off is over
        run_jobs()
    finally:
        server.stop()
    assert {d.status for d in Deposit.objects.all()} == {"approved"}
    assert ledger.balances(active_client) == {"USD": Decimal("60.00")}
    assert set(jobs_now.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_a_webhook_our_endpoint_refuses_gives_up_at_once_and_shows_to_staff(
    active_client, sandbox_card, settings, run_jobs, live_server, admin
):
    settings.PROPDESK_SITE_URL = live_server.url
    deposit = deposits.request_deposit(
        active_client, method=sandbox_card.pk, amount="10.00", currency="USD"
    )
    event = sandbox_payments.event_for(deposit, paid=True)
    # A dispute of a payment propdesk does not know: 404 from our endpoint (for a provider's
    # later retries; unknown payment news itself is answered 200).
    event["type"] = "dispute.created"
    event["data"]["reference"] = "00000000-0000-0000-0000-000000000000"
    event["data"]["payment_id"] = "pay_unknown"
    event["data"]["dispute_id"] = "dp_unknown"
    result = sandbox_payments.deliver_webhook.enqueue(
        live_server.url + sandbox_payments.WEBHOOK_PATH, json.dumps(event)
    )
    run_jobs()
    gave_up = DBTaskResult.objects.get(pk=result.id)
    assert gave_up.status == "FAILED"
    assert len(gave_up.worker_ids) == 1
    assert "HTTP 404" in Attempt.objects.get(result=gave_up).message
    assert [row.id for row in jobs.problems(admin)[jobs.GAVE_UP]] == [str(result.id)]
    assert not WebhookEvent.objects.exists()


def test_a_webhook_delivered_twice_is_applied_once(
    active_client, sandbox_card, set_method, settings, run_jobs, live_server
):
    """A retry after a lost answer (the site applied it, the provider never heard): the event
    id is the same, so the second delivery changes nothing."""
    settings.PROPDESK_SITE_URL = live_server.url
    set_method("deposit", "automatic")
    deposit = deposits.request_deposit(
        active_client, method=sandbox_card.pk, amount="25.00", currency="USD"
    )
    pay(deposit)
    run_jobs()
    sent = delivery()
    sandbox_payments.deliver_webhook.enqueue(*sent.args_kwargs["args"])  # the same event again
    run_jobs()
    assert ledger.balances(active_client) == {"USD": Decimal("25.00")}
    assert WebhookEvent.objects.filter(provider=sandbox_payments.PROVIDER).count() == 1
