"""Several workers at once (PostgreSQL): one endpoint's deliveries are never sent in parallel
nor twice, and still arrive in order; the endpoint is held by a lease, never by a transaction
or a row lock while the endpoint answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from propdesk.jobs.worker import Worker
from propdesk.notifications import webhook_admin, webhooks
from propdesk.notifications.models import WebhookDelivery, WebhookEndpoint
from tests.notifications.factories import make_endpoint
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


@pytest.mark.parametrize("attempt", range(2))
def test_workers_at_once_send_one_endpoints_deliveries_one_at_a_time_in_order_once_each(
    attempt, admin, webhook_receiver
):
    make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.delay = 0.02
    for n in range(12):
        webhooks.publish("stage.failed", {"n": n})
    at_once(*(lambda: Worker(heartbeat=False).run(batch=True) for _ in range(3)))
    assert [r.json["data"]["n"] for r in webhook_receiver.requests] == list(range(12))
    assert webhook_receiver.most_busy == 1
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}


def test_delivery_jobs_called_at_once_never_send_the_same_delivery_twice(admin, webhook_receiver):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.delay = 0.02
    for n in range(6):
        webhooks.publish("stage.failed", {"n": n})
    pk = made.endpoint.pk
    sent = at_once(*(lambda: webhooks.deliver.call(pk) for _ in range(4)))
    more = webhooks.deliver.call(pk)  # whoever left early: nothing is left behind either
    assert sum(sent) + more == 6  # type: ignore[arg-type]
    assert [r.json["data"]["n"] for r in webhook_receiver.requests] == list(range(6))
    assert webhook_receiver.most_busy == 1


def test_no_transaction_and_no_row_lock_is_held_while_the_endpoint_answers(admin, webhook_receiver):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    seen: list[object] = []

    def staff_edit_meanwhile(_request: object) -> None:
        with transaction.atomic():  # NOWAIT: a row lock held by the sender would refuse it
            row = WebhookEndpoint.objects.select_for_update(nowait=True).get(pk=made.endpoint.pk)
            seen.append(row.lease_token)
        webhook_admin.update_endpoint(
            made.endpoint.pk,
            {"url": webhook_receiver.url, "event_types": ["stage.failed"], "description": "x"},
            actor=admin,
        )

    webhook_receiver.on_request = staff_edit_meanwhile
    webhooks.publish("stage.failed", {"n": 1})
    assert webhooks.deliver.call(made.endpoint.pk) == 1
    assert seen
    assert seen[0]
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.lease_token, endpoint.leased_until, endpoint.description) == ("", None, "x")


def test_a_sender_that_lost_its_lease_mid_post_leaves_the_delivery_to_the_new_holder(
    admin, webhook_receiver
):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    pk = made.endpoint.pk

    def lease_runs_out_and_another_worker_takes_it(_request: object) -> None:
        WebhookEndpoint.objects.filter(pk=pk).update(
            lease_token="other", leased_until=timezone.now() + timedelta(minutes=1)
        )

    webhook_receiver.on_request = lease_runs_out_and_another_worker_takes_it
    webhooks.publish("stage.failed", {"n": 1})
    assert webhooks.deliver.call(pk) == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 0)  # the holder's to decide
    assert delivery.tries.count() == 1  # what was sent is in the log all the same
    assert WebhookEndpoint.objects.get().lease_token == "other"  # not released by the loser


def test_an_endpoint_switched_off_mid_queue_stops_after_the_post_under_way(
    admin, webhook_receiver, run_jobs
):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    pk = made.endpoint.pk
    data = {"url": webhook_receiver.url, "event_types": ["stage.failed"], "is_active": False}

    def switched_off(_request: object) -> None:
        if len(webhook_receiver.requests) == 0:
            webhook_admin.update_endpoint(pk, data, actor=admin)

    webhook_receiver.on_request = switched_off
    for n in range(3):
        webhooks.publish("stage.failed", {"n": n})
    assert webhooks.deliver.call(pk) == 1  # the POST under way is recorded, then it stops
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == [
        "delivered",
        "pending",
        "pending",
    ]
    webhook_receiver.on_request = None
    webhook_admin.update_endpoint(pk, {**data, "is_active": True}, actor=admin)
    run_jobs()
    assert [r.json["data"]["n"] for r in webhook_receiver.requests] == [0, 1, 2]
