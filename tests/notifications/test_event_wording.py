"""What an event's wording makes of the values put in it: a subject is one line whatever a
name holds, a value is never read as a template, an empty placeholder leaves no gap, and a
request type's name is written in the client's language."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils.functional import Promise

from propdesk.approvals import notices
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.notifications import events, firm_templates
from propdesk.notifications.models import Notification, NotificationTemplate, WebhookMessage
from propdesk.wallet import deposits
from tests.notifications.factories import make_endpoint

pytestmark = pytest.mark.django_db


def _deposit(client, method, amount="1000"):
    made = deposits.request_deposit(client, method=method.pk, amount=amount, currency="USD")
    return ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=made.pk)


def _rename(client, name):
    user = client.user
    user.name = name  # as an older row or an import could hold it
    user.save(update_fields=["name"])


@pytest.mark.django_db(transaction=True)  # the worker reads committed jobs
def test_a_line_break_in_a_name_never_reaches_the_emails_subject(
    active_client, bank_transfer, finance, run_jobs
):
    NotificationTemplate.objects.create(
        event="deposit.approved",
        language="en",
        subject="{{ client_name }}, your deposit is in",
        body="Hello {{ client_name }}",
    )
    _rename(active_client, "Eve\r\nBcc: victim@example.com\nX")
    request = _deposit(active_client, bank_transfer)
    mail.outbox.clear()
    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "FT-1"})
    note = Notification.objects.get(user=active_client.user, event="deposit.approved")
    assert note.title == "Eve Bcc: victim@example.com X, your deposit is in"
    run_jobs()
    [sent] = [m for m in mail.outbox if m.subject == note.title]
    assert sent.bcc == []
    assert sent.message()["Bcc"] is None


def test_a_value_is_never_read_as_a_template(active_client, bank_transfer, finance):
    _rename(active_client, "{{ portal_url }} {{ firm_name }}")
    request = _deposit(active_client, bank_transfer)
    approvals.reject(request.pk, actor=finance, reason="{{ client_name }}", message="{{ reason }}")
    note = Notification.objects.get(user=active_client.user, event="deposit.rejected")
    assert note.body.startswith("Hello {{ portal_url }} {{ firm_name }},")
    assert "Reason: {{ client_name }}" in note.body
    assert note.body.endswith("{{ reason }}")


def test_an_empty_message_leaves_no_gap_in_the_body(active_client, bank_transfer, finance):
    NotificationTemplate.objects.create(
        event="deposit.rejected",
        language="en",
        subject="Deposit {{ reference }} rejected   ",
        body="Hello {{ client_name }},  \n\n{{ message }}\n\nReason: {{ reason }}\n\n"
        "{{ message }}\n",
    )
    request = _deposit(active_client, bank_transfer)
    approvals.reject(request.pk, actor=finance, reason="Not received.")
    note = Notification.objects.get(user=active_client.user, event="deposit.rejected")
    name = active_client.user.name
    assert note.body == f"Hello {name},\n\nReason: Not received."
    assert note.title == f"Deposit {request.reference} rejected"


def test_every_default_wording_fills_every_placeholder_and_keeps_no_gap():
    for key in events.CATALOGUE:
        subject, body = firm_templates.default_wording(key, "en")
        values = events.sample(key)
        filled = events.one_line(events.fill(subject, values))
        text = events.tidy_body(events.fill(body, values))
        assert "{{" not in filled + text, key
        assert "\n" not in filled, key
        assert "\n\n\n" not in text, key
        assert not text.endswith("\n"), key


def test_the_request_placeholder_is_written_when_rendered_and_in_english_for_webhooks(
    active_client, finance, admin
):
    named = notices.request_name("Prop Trading Next Stage")
    assert isinstance(named, Promise)  # translated in the reader's language, at render
    assert str(named) == "prop trading next stage"
    make_endpoint(admin, "https://hooks.example.com/in", ["request.rejected"])
    from propdesk.challenges.participation import lifecycle
    from tests.challenges.factories import pass_stage, running, stage

    _, attempt = running(
        active_client,
        finance,
        admin,
        stages=[stage(min_trading_days=1), stage(), stage("live")],
        progression="approved",
    )
    pass_stage(attempt)
    request = ApprovalRequest.objects.get(type_key=lifecycle.STAGE_PROGRESSION)
    approvals.reject(request.pk, actor=admin, reason="Review pending.")
    note = Notification.objects.get(user=active_client.user, event="request.rejected")
    assert note.title == "Your prop trading next stage was rejected"
    [message] = WebhookMessage.objects.filter(event_type="request.rejected")
    assert message.payload["data"]["request"] == "prop trading next stage"
