"""Outbound webhooks: signed as Standard Webhooks says (checked with its reference verifier),
sent after the commit by the job queue, in order and once each, tried again with back-off,
given up after the last attempt, redelivered by staff; secrets rotated without downtime."""

from __future__ import annotations

import base64
import json

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from propdesk.notifications import webhook_admin, webhooks
from propdesk.notifications.models import WebhookAttempt, WebhookDelivery, WebhookMessage
from tests.jobs.factories import closed_port
from tests.notifications.factories import make_endpoint, time_passes, verify

pytestmark = pytest.mark.django_db


def test_a_published_event_arrives_signed_as_the_standard_verifier_accepts(
    admin, webhook_receiver, run_jobs
):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    assert made.secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(made.secret.removeprefix("whsec_"))) <= 64
    message = webhooks.publish("stage.failed", {"reason": "Daily loss limit hit", "amount": "5"})
    assert webhook_receiver.requests == []  # nothing leaves inside the transaction
    run_jobs()
    [got] = webhook_receiver.requests
    assert verify(got, made.secret) == {
        "type": "stage.failed",
        "timestamp": message.payload["timestamp"],
        "data": {"reason": "Daily loss limit hit", "amount": "5"},
    }
    assert got.headers["webhook-id"] == message.msg_id
    assert got.headers["webhook-timestamp"].isdigit()
    assert got.body == message.body.encode()  # the exact bytes that were signed
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_wrong_secret_or_a_changed_body_is_refused_by_the_verifier(
    admin, webhook_receiver, run_jobs
):
    make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhooks.publish("stage.failed", {"reason": "x"})
    run_jobs()
    [got] = webhook_receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(got.body, got.headers)
    secret = make_endpoint(admin, webhook_receiver.url + "2", ["stage.passed"]).secret
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(got.body.replace(b"x", b"y"), got.headers)


def test_only_subscribed_active_endpoints_get_an_event(admin, webhook_receiver, run_jobs):
    make_endpoint(admin, webhook_receiver.url + "/a", ["stage.passed"])
    make_endpoint(admin, webhook_receiver.url + "/b", ["stage.failed"])
    make_endpoint(admin, webhook_receiver.url + "/c", ["stage.failed"], is_active=False)
    webhooks.publish("stage.failed", {})
    run_jobs()
    assert [r.path for r in webhook_receiver.requests] == ["/hooks/b"]


def test_a_rolled_back_transaction_sends_nothing(admin, webhook_receiver, run_jobs):
    make_endpoint(admin, webhook_receiver.url, ["stage.failed"])

    def use_case_that_fails() -> None:
        with transaction.atomic():
            webhooks.publish("stage.failed", {"reason": "never happened"})
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        use_case_that_fails()
    run_jobs()
    assert webhook_receiver.requests == []
    assert not WebhookMessage.objects.exists()


def test_an_endpoint_down_for_a_while_gets_every_event_afterwards_in_order_once_each(
    admin, webhook_receiver, run_jobs
):
    make_endpoint(admin, webhook_receiver.url, ["stage.failed", "stage.passed"])
    webhooks.publish("stage.passed", {"n": 0})
    run_jobs()
    webhook_receiver.status = 503  # down
    for n in range(1, 4):
        webhooks.publish("stage.failed", {"n": n})
        run_jobs()
    time_passes()
    run_jobs()
    webhook_receiver.stop()  # not even listening now
    webhooks.publish("stage.passed", {"n": 4})
    time_passes()
    run_jobs()
    first = WebhookDelivery.objects.order_by("id")[1]
    assert first.status == "pending"
    assert first.attempts >= 3
    assert (
        WebhookDelivery.objects.filter(attempts__gt=0, status="pending").count() == 1
    )  # only the head was tried
    webhook_receiver.status = 200
    webhook_receiver.start()  # up again
    time_passes()
    run_jobs()
    run_jobs()
    assert [r.json["data"]["n"] for r in webhook_receiver.requests] == [0, 1, 2, 3, 4]
    assert len(set(webhook_receiver.ids)) == 5
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    errors = list(first.tries.values_list("status_code", "error"))
    assert (503, "HTTP 503") in errors
    assert any(code is None and error for code, error in errors)  # connection refused
    assert errors[-1] == (200, "")


def test_a_failed_attempt_waits_longer_each_time(admin, run_jobs, settings):
    settings.WEBHOOK_RETRY_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS = 60, 3600
    make_endpoint(admin, f"http://127.0.0.1:{closed_port()}/x", ["stage.failed"])
    webhooks.publish("stage.failed", {})
    waits = []
    for _ in range(3):
        time_passes()
        run_jobs()
        delivery = WebhookDelivery.objects.get()
        last = delivery.tries.last()
        assert last is not None
        assert delivery.next_attempt_at is not None
        waits.append((delivery.next_attempt_at - last.at).total_seconds())
    assert 29 <= waits[0] <= 61
    assert 59 <= waits[1] <= 121
    assert 119 <= waits[2] <= 241


def test_after_the_last_attempt_a_delivery_fails_and_the_queue_moves_on(
    admin, webhook_receiver, run_jobs, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    make_endpoint(admin, webhook_receiver.url, ["stage.failed", "stage.passed"])
    webhook_receiver.status = 500
    webhook_receiver.answer = b"boom " * 1000
    webhooks.publish("stage.failed", {"n": 1})
    for _ in range(5):
        time_passes()
        run_jobs()
    failed = WebhookDelivery.objects.get()
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 3, 500)
    assert failed.tries.count() == 3
    assert len(failed.tries.first().response_body) == webhooks.RESPONSE_KEPT  # type: ignore[union-attr]
    webhook_receiver.status = 200
    webhooks.publish("stage.passed", {"n": 2})
    run_jobs()
    assert [r.json["data"]["n"] for r in webhook_receiver.requests] == [2]


def test_staff_redeliver_a_failed_delivery_with_the_same_id(
    admin, webhook_receiver, run_jobs, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.status = 503
    message = webhooks.publish("stage.failed", {})
    run_jobs()
    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed"
    webhook_receiver.status = 200
    webhook_admin.redeliver(failed.pk, actor=admin)
    run_jobs()
    [got] = webhook_receiver.requests
    assert got.headers["webhook-id"] == message.msg_id  # type: ignore[union-attr]
    verify(got, made.secret)
    failed.refresh_from_db()
    assert failed.status == "delivered"
    assert failed.tries.count() == 2
    webhook_admin.redeliver(failed.pk, actor=admin)  # a delivered one too
    run_jobs()
    assert webhook_receiver.ids == [message.msg_id] * 2  # type: ignore[union-attr]


def test_a_waiting_delivery_is_not_redelivered(admin, webhook_receiver):
    from propdesk.core.errors import Conflict

    make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhooks.publish("stage.failed", {})
    with pytest.raises(Conflict):
        webhook_admin.redeliver(WebhookDelivery.objects.get().pk, actor=admin)


def test_after_a_rotation_both_secrets_sign_until_the_old_one_expires(
    admin, webhook_receiver, run_jobs
):
    old = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    new = webhook_admin.rotate_secret(old.endpoint.pk, keep_old_hours=24, actor=admin)
    assert new.secret != old.secret
    webhooks.publish("stage.failed", {"n": 1})
    run_jobs()
    [got] = webhook_receiver.requests
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify(got, old.secret) == verify(got, new.secret)  # old and new receivers accept
    endpoint = new.endpoint
    endpoint.refresh_from_db()
    endpoint.previous_secret_until = endpoint.previous_secret_until.replace(year=2000)  # type: ignore[union-attr]
    endpoint.save()
    webhooks.publish("stage.failed", {"n": 2})
    run_jobs()
    latest = webhook_receiver.requests[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    verify(latest, new.secret)
    with pytest.raises(WebhookVerificationError):
        verify(latest, old.secret)


def test_a_rotation_that_keeps_nothing_drops_the_old_secret_at_once(
    admin, webhook_receiver, run_jobs
):
    old = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    new = webhook_admin.rotate_secret(old.endpoint.pk, keep_old_hours="0", actor=admin)
    webhooks.publish("stage.failed", {})
    run_jobs()
    [got] = webhook_receiver.requests
    verify(got, new.secret)
    with pytest.raises(WebhookVerificationError):
        verify(got, old.secret)


def test_the_secret_is_kept_sealed(admin, webhook_receiver):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    made.endpoint.refresh_from_db()
    assert made.secret not in made.endpoint.secret
    assert "whsec_" not in made.endpoint.secret


def test_the_test_event_goes_to_that_endpoint_only(admin, webhook_receiver, run_jobs):
    made = make_endpoint(admin, webhook_receiver.url + "/a", ["stage.failed"])
    make_endpoint(admin, webhook_receiver.url + "/b", ["stage.failed"])
    webhook_admin.send_test(made.endpoint.pk, actor=admin)
    run_jobs()
    [got] = webhook_receiver.requests
    assert got.path == "/hooks/a"
    assert verify(got, made.secret)["type"] == "webhook.test"


def test_a_redirect_is_an_answer_not_followed(admin, webhook_receiver, run_jobs):
    make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.status = 302
    webhooks.publish("stage.failed", {})
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert WebhookAttempt.objects.get().error == "HTTP 302"


def test_the_body_is_the_compact_json_of_type_timestamp_and_data(admin, webhook_receiver, run_jobs):
    make_endpoint(admin, webhook_receiver.url, ["deposit.approved"])
    webhooks.publish("deposit.approved", {"amount": "100.00", "currency": "USD", "név": "ü"})
    run_jobs()
    [got] = webhook_receiver.requests
    assert list(json.loads(got.body)) == ["type", "timestamp", "data"]
    assert b" " not in got.body.replace(b"\xc3", b"")


def test_an_emitted_event_reaches_the_endpoint_after_the_commit(
    admin, active_client, webhook_receiver, run_jobs
):
    from decimal import Decimal

    from propdesk.notifications import events

    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    events.emit(
        "stage.failed",
        user=active_client.user,
        data={
            "challenge": "50K",
            "stage": "Phase 1",
            "login": "7001",
            "reason": "Max loss hit.",
            "equity": Decimal("44870.00"),
        },
    )
    run_jobs()
    [got] = webhook_receiver.requests
    payload = verify(got, made.secret)
    assert payload["type"] == "stage.failed"
    assert payload["data"]["reason"] == "Max loss hit."
    assert payload["data"]["equity"] == "44870.00"
    assert payload["data"]["client"]["email"] == active_client.user.email


def test_by_default_a_delivery_is_tried_for_about_a_day():
    policy = webhooks.policy()
    waits = range(1, policy.max_attempts)
    shortest = sum(policy.delay(n, rand=lambda: 0.0) for n in waits)
    longest = sum(policy.delay(n, rand=lambda: 1.0) for n in waits)
    assert shortest >= 12 * 3600
    assert longest <= 30 * 3600


def test_the_signature_header_is_exactly_what_the_reference_library_signs():
    from datetime import UTC, datetime

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the specification's example secret
    body = b'{"test": 2432232314}'
    msg_id, when = "msg_p5jXN8AQM9LWM0D4loKWxJek", datetime.fromtimestamp(1614265330, tz=UTC)
    ours = webhooks.signature(secret, msg_id, 1614265330, body)
    assert ours == Webhook(secret).sign(msg_id, when, body.decode())
    assert ours == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="  # the specification's own
