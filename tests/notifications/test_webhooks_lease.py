"""How a delivery job holds an endpoint (a lease, never a transaction across the network), the
addresses webhooks are never sent to, and payloads of any size sent byte for byte."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.core.errors import ValidationFailed
from propdesk.notifications import webhook_admin, webhooks, webhooks_http
from propdesk.notifications.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from tests.notifications.factories import make_endpoint, time_passes, verify

pytestmark = pytest.mark.django_db


def test_the_lease_outlasts_the_longest_post(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 10
    assert webhooks.lease_seconds() > 2 * 10


def test_a_lease_is_given_back_after_sending(admin, webhook_receiver, run_jobs):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhooks.publish("stage.failed", {})
    run_jobs()
    assert len(webhook_receiver.requests) == 1
    made.endpoint.refresh_from_db()
    assert (made.endpoint.lease_token, made.endpoint.leased_until) == ("", None)


def test_a_live_lease_keeps_other_jobs_off_and_one_looks_again_when_it_runs_out(
    admin, webhook_receiver, run_jobs
):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    until = timezone.now() + timedelta(minutes=1)
    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).update(
        lease_token="a worker that died", leased_until=until
    )
    webhooks.publish("stage.failed", {"n": 1})
    run_jobs()
    assert webhook_receiver.requests == []  # held: nobody else sends
    assert WebhookDelivery.objects.get().status == "pending"
    [later] = DBTaskResult.objects.filter(status="READY")
    assert later.run_after is not None
    assert later.run_after > until
    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)  # ... and it ran out
    )
    time_passes()
    run_jobs()
    assert [r.json["data"]["n"] for r in webhook_receiver.requests] == [1]
    assert WebhookEndpoint.objects.get().lease_token == ""


def test_a_switched_off_endpoint_is_not_claimed(admin, webhook_receiver, run_jobs):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhooks.publish("stage.failed", {})
    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).update(is_active=False)
    assert webhooks.claim(made.endpoint.pk) is None
    run_jobs()
    assert webhook_receiver.requests == []
    assert not DBTaskResult.objects.filter(status="READY").exists()  # nothing loops on it


def test_a_deleted_endpoint_leaves_nothing_to_send(admin, webhook_receiver, run_jobs):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhooks.publish("stage.failed", {})
    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).delete()
    run_jobs()
    assert webhook_receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_an_endpoint_that_always_fails_does_not_hold_up_the_others(
    admin, webhook_receiver, run_jobs
):
    make_endpoint(admin, webhook_receiver.url + "/up", ["stage.failed"])
    make_endpoint(admin, "http://127.0.0.1:9/never", ["stage.failed"])
    webhook_receiver.status = 200
    for n in range(3):
        webhooks.publish("stage.failed", {"n": n})
    run_jobs()
    assert [r.json["data"]["n"] for r in webhook_receiver.requests] == [0, 1, 2]
    waiting = WebhookDelivery.objects.filter(status="pending")
    assert waiting.count() == 3
    assert {d.attempts for d in waiting} == {0, 1}


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x",
        "http://[::ffff:169.254.169.254]/x",
        "http://[fd00:ec2::254]/x",
        "http://0.0.0.0/x",
    ],
)
def test_link_local_and_metadata_addresses_are_refused_when_saved(admin, url):
    with pytest.raises(ValidationFailed) as refused:
        webhook_admin.create_endpoint({"url": url, "event_types": ["stage.failed"]}, actor=admin)
    assert "link-local" in refused.value.fields["url"]
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_resolves_to_a_forbidden_address_is_not_sent_to(admin, run_jobs, monkeypatch):
    # Only "localhost" resolves without a network: loopback is listed as forbidden here.
    made = make_endpoint(admin, "http://localhost:9/x", ["stage.failed"])
    webhooks.publish("stage.failed", {})
    loopback = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    monkeypatch.setattr(
        webhooks_http, "METADATA_ADDRESSES", webhooks_http.METADATA_ADDRESSES | loopback
    )
    run_jobs()
    [attempt] = WebhookDelivery.objects.get(endpoint=made.endpoint).tries.all()
    assert attempt.error.startswith("Refused: localhost resolves to")
    assert "PROPDESK_WEBHOOK_ALLOW_LINK_LOCAL" in attempt.error


def test_the_firm_can_allow_link_local_addresses(settings):
    assert webhooks_http.forbidden("169.254.169.254")
    assert not webhooks_http.forbidden("127.0.0.1")
    assert not webhooks_http.forbidden("10.1.2.3")
    settings.WEBHOOK_ALLOW_LINK_LOCAL = True
    assert not webhooks_http.forbidden("169.254.169.254")


def test_an_answer_slower_than_the_timeout_is_a_failure(
    admin, webhook_receiver, run_jobs, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.delay = 3
    webhooks.publish("stage.failed", {})
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "timed out" in delivery.last_error


def test_a_large_payload_is_sent_and_signed_byte_for_byte_to_every_endpoint(
    admin, webhook_receiver, run_jobs
):
    a = make_endpoint(admin, webhook_receiver.url + "/a", ["stage.failed"])
    b = make_endpoint(admin, webhook_receiver.url + "/b", ["stage.failed"])
    message = webhooks.publish("stage.failed", {"notes": "ü€" * 300_000})
    run_jobs()
    got_a, got_b = sorted(webhook_receiver.requests, key=lambda r: r.path)
    assert got_a.body == got_b.body == message.body.encode()  # type: ignore[union-attr]
    assert verify(got_a, a.secret)["data"]["notes"] == "ü€" * 300_000
    verify(got_b, b.secret)
    assert got_a.headers["webhook-id"] == got_b.headers["webhook-id"]


def test_an_event_nobody_subscribed_to_writes_nothing(admin, webhook_receiver):
    make_endpoint(admin, webhook_receiver.url, ["stage.passed"])
    make_endpoint(admin, webhook_receiver.url + "/off", ["stage.failed"], is_active=False)
    assert webhooks.publish("stage.failed", {"n": 1}) is None
    assert not WebhookMessage.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_secret_no_key_opens_is_never_sent_unsigned(admin, webhook_receiver, run_jobs):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).update(secret="sealed-by-a-lost-key")
    webhooks.publish("stage.failed", {})
    run_jobs()
    assert webhook_receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == webhooks.UNSIGNED


def test_the_sweep_queues_a_job_for_a_due_delivery_whose_job_was_lost(
    admin, webhook_receiver, run_jobs
):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    held = make_endpoint(admin, webhook_receiver.url + "/held", ["stage.failed"])
    webhooks.publish("stage.failed", {"n": 1})
    DBTaskResult.objects.all().delete()  # the jobs are lost
    WebhookEndpoint.objects.filter(pk=held.endpoint.pk).update(
        lease_token="busy", leased_until=timezone.now() + timedelta(minutes=1)
    )
    assert webhooks.sweep() == 1  # the held one is its holder's
    run_jobs()
    assert [r.path for r in webhook_receiver.requests] == ["/hooks"]
    assert WebhookDelivery.objects.get(endpoint=made.endpoint).status == "delivered"
    assert webhooks.sweep() == 0
