"""Settings > Webhooks: who may use it, hostile input refused with a clear error, the secret
shown once, the delivery log, test events and redelivery through the pages."""

from __future__ import annotations

import pytest

from propdesk.core.errors import Forbidden, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.notifications import webhook_admin, webhooks, webhooks_backoffice
from propdesk.notifications.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import logged_in, post_form
from tests.notifications.factories import make_endpoint

pytestmark = pytest.mark.django_db

GOOD = {"url": "https://hooks.firm.test/propdesk", "event_types": ["stage.failed"]}


def test_staff_without_the_permission_see_nothing_and_change_nothing(support, admin):
    made = make_endpoint(admin, GOOD["url"], GOOD["event_types"])
    http = logged_in(support)
    assert http.get("/backoffice/settings/webhooks/").status_code == 403
    assert http.get(f"/backoffice/settings/webhooks/{made.endpoint.pk}/").status_code == 403
    assert post_form(http, "/backoffice/settings/webhooks/new/", GOOD).status_code == 403
    assert (
        post_form(http, f"/backoffice/settings/webhooks/{made.endpoint.pk}/rotate/", {}).status_code
        == 403
    )
    with pytest.raises(Forbidden):
        webhook_admin.create_endpoint(GOOD, actor=support)
    assert WebhookEndpoint.objects.count() == 1


def test_a_client_cannot_reach_the_page(active_client):
    response = logged_in(active_client.user).get("/backoffice/settings/webhooks/")
    assert response.status_code in (302, 403)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("javascript:alert(1)", "must start with https://"),
        ("ftp://files.firm.test/x", "must start with https://"),
        ("hooks.firm.test/x", "must start with https://"),
        ("https://" + "a" * 600 + ".test/", "at most 500"),
        ("https://user:pw@hooks.firm.test/", "no user name"),
        ("https://", "not a valid web address"),
        ("", "is required"),
    ],
)
def test_a_bad_url_is_refused_with_a_clear_error(admin, url, says):
    with pytest.raises(ValidationFailed) as refused:
        webhook_admin.create_endpoint({**GOOD, "url": url}, actor=admin)
    assert says in refused.value.fields["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("events", [[], ["no.such_event"], "stage.failed\x00", [1, 2], None])
def test_unknown_or_no_event_types_are_refused(admin, events):
    with pytest.raises(ValidationFailed) as refused:
        webhook_admin.create_endpoint({**GOOD, "event_types": events}, actor=admin)
    assert "event_types" in refused.value.fields


def test_the_form_shows_the_error_and_saves_nothing(admin):
    http = logged_in(admin)
    response = post_form(
        http,
        "/backoffice/settings/webhooks/new/",
        {"url": "javascript:alert(1)", "event_types": ["stage.failed"], "is_active": "on"},
    )
    assert response.status_code == 422
    assert "must start with https://" in response.content.decode()
    response = post_form(
        http, "/backoffice/settings/webhooks/new/", {"url": GOOD["url"], "event_types": ["nope"]}
    )
    assert "not one of the available choices" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_adding_an_endpoint_shows_its_secret_once_and_a_second_submission_adds_nothing(admin):
    http = logged_in(admin)
    form = {**GOOD, "description": "CRM", "is_active": "on"}
    response = post_form(http, "/backoffice/settings/webhooks/new/", form)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    secret = page.split('<pre id="webhook-secret">')[1].split("</pre>")[0]
    assert secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.event_types, endpoint.is_active) == (
        GOOD["url"],
        ["stage.failed"],
        True,
    )
    assert secret not in http.get(f"/backoffice/settings/webhooks/{endpoint.pk}/").content.decode()
    again = post_form(http, "/backoffice/settings/webhooks/new/", form)
    assert again.status_code == 422
    assert "exists already" in again.content.decode()
    assert WebhookEndpoint.objects.count() == 1
    assert AuditRecord.objects.filter(action="webhook_endpoint.create").count() == 1


def test_editing_switches_an_endpoint_off_and_is_audited(admin):
    made = make_endpoint(admin, GOOD["url"], GOOD["event_types"])
    response = post_form(
        logged_in(admin),
        f"/backoffice/settings/webhooks/{made.endpoint.pk}/edit/",
        {"url": GOOD["url"], "event_types": ["stage.failed", "stage.passed"], "description": "x"},
    )
    assert response.status_code == 302
    made.endpoint.refresh_from_db()
    assert made.endpoint.is_active is False
    assert set(made.endpoint.event_types) == {"stage.failed", "stage.passed"}
    record = AuditRecord.objects.get(action="webhook_endpoint.update")
    assert record.before["is_active"] is True
    assert record.after["is_active"] is False


def test_rotating_through_the_page_shows_the_new_secret(admin):
    made = make_endpoint(admin, GOOD["url"], GOOD["event_types"])
    http = logged_in(admin)
    response = post_form(
        http, f"/backoffice/settings/webhooks/{made.endpoint.pk}/rotate/", {"keep_old_hours": "48"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The new signing secret" in page
    assert made.secret not in page
    bad = post_form(
        http, f"/backoffice/settings/webhooks/{made.endpoint.pk}/rotate/", {"keep_old_hours": "-1"}
    )
    assert bad.status_code == 302
    assert AuditRecord.objects.filter(action="webhook_endpoint.rotate_secret").count() == 1


def test_the_delivery_log_shows_the_answers_and_a_failed_delivery_is_sent_again(
    admin, webhook_receiver, run_jobs, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.status, webhook_receiver.answer = 500, b"<script>x</script> down"
    webhooks.publish("stage.failed", {"n": 1})
    run_jobs()
    http = logged_in(admin)
    log = http.get(f"/backoffice/settings/webhooks/{made.endpoint.pk}/?status=failed")
    assert log.status_code == 200
    assert "HTTP 500" in log.content.decode()
    delivery = WebhookDelivery.objects.get()
    page = http.get(f"/backoffice/settings/webhooks/deliveries/{delivery.pk}/").content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; down" in page
    assert "<script>x" not in page
    webhook_receiver.status = 200
    post_form(http, f"/backoffice/settings/webhooks/deliveries/{delivery.pk}/redeliver/", {})
    post_form(http, f"/backoffice/settings/webhooks/deliveries/{delivery.pk}/redeliver/", {})
    run_jobs()
    assert len(webhook_receiver.requests) == 1  # the second click found it waiting already
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert AuditRecord.objects.filter(action="webhook_delivery.redeliver").count() == 1


def test_a_delivery_still_being_retried_says_so_and_how_many_attempts_it_has(
    admin, webhook_receiver, run_jobs, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.status = 503
    webhooks.publish("stage.failed", {"n": 1})
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    http = logged_in(admin)
    page = http.get(f"/backoffice/settings/webhooks/deliveries/{delivery.pk}/").content.decode()
    assert "Retrying: the last attempt failed" in page
    assert "1 of at most 5" in page
    log = http.get(f"/backoffice/settings/webhooks/{made.endpoint.pk}/").content.decode()
    assert "Retrying" in log


def test_the_test_event_button_sends_webhook_test(admin, webhook_receiver, run_jobs):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.passed"])
    response = post_form(
        logged_in(admin), f"/backoffice/settings/webhooks/{made.endpoint.pk}/test/", {}
    )
    assert response.status_code == 302
    run_jobs()
    assert webhook_receiver.types == ["webhook.test"]


def test_unknown_ids_are_not_found(admin):
    http = logged_in(admin)
    assert http.get("/backoffice/settings/webhooks/999999/").status_code == 404
    assert http.get("/backoffice/settings/webhooks/deliveries/999999/").status_code == 404


def test_without_the_permission_the_log_test_redelivery_and_edit_are_refused(
    support, admin, webhook_receiver, run_jobs, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    webhook_receiver.status = 500
    webhooks.publish("stage.failed", {})
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    audited = AuditRecord.objects.count()
    http = logged_in(support)
    base = f"/backoffice/settings/webhooks/{made.endpoint.pk}"
    assert http.get(f"/backoffice/settings/webhooks/deliveries/{delivery.pk}/").status_code == 403
    assert http.get(f"{base}/edit/").status_code == 403
    for path in (
        f"/backoffice/settings/webhooks/deliveries/{delivery.pk}/redeliver/",
        f"{base}/test/",
        f"{base}/edit/",
    ):
        assert post_form(http, path, {**GOOD, "is_active": ""}).status_code == 403
    delivery.refresh_from_db()
    made.endpoint.refresh_from_db()
    assert (delivery.status, made.endpoint.is_active) == ("failed", True)
    assert WebhookDelivery.objects.count() == 1  # no test event either
    assert AuditRecord.objects.count() == audited


def test_the_delivery_log_pages_keep_the_status_filter_and_survive_bad_page_numbers(
    admin, webhook_receiver
):
    made = make_endpoint(admin, webhook_receiver.url, ["stage.failed"])
    for n in range(webhooks_backoffice.PAGE_SIZE + 5):
        webhooks.publish("stage.failed", {"n": n})
    http = logged_in(admin)
    base = f"/backoffice/settings/webhooks/{made.endpoint.pk}/"
    first = http.get(base + "?status=pending").content.decode()
    assert "Page 1 of 2" in first
    assert "status=pending&amp;page=2" in first
    second = http.get(base + "?status=pending&page=2").content.decode()
    assert second.count("/backoffice/settings/webhooks/deliveries/") == 5
    for page in ("abc", "-1", "999999", "1" * 40):
        assert http.get(base + f"?page={page}").status_code == 200
    assert "Page 1 of" not in http.get(base + "?status=delivered").content.decode()


def test_no_secret_is_in_the_audit_log_nor_on_any_page_after_it_was_shown(admin):
    made = make_endpoint(admin, GOOD["url"], GOOD["event_types"])
    rotated = webhook_admin.rotate_secret(made.endpoint.pk, actor=admin)
    http = logged_in(admin)
    pages = [
        http.get("/backoffice/settings/webhooks/").content.decode(),
        http.get(f"/backoffice/settings/webhooks/{made.endpoint.pk}/").content.decode(),
        http.get(f"/backoffice/settings/webhooks/{made.endpoint.pk}/edit/").content.decode(),
    ]
    records = [
        f"{r.summary} {r.before} {r.after}"
        for r in AuditRecord.objects.filter(object_type="webhook_endpoint")
    ]
    assert len(records) == 2
    for secret in (made.secret, rotated.secret):
        key = secret.removeprefix("whsec_")
        assert not any(key in text for text in pages + records)
    assert "whsec_" not in repr(rotated)
