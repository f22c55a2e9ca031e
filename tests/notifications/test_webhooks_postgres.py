"""Several workers at once (PostgreSQL row locks): one endpoint's deliveries are never sent in
parallel nor twice, and still arrive in order."""

from __future__ import annotations

import pytest
from django.db import connection

from propdesk.jobs.worker import Worker
from propdesk.notifications import webhooks
from propdesk.notifications.models import WebhookDelivery
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
