"""A decided request tells its client with the catalogue's event of its type, in the deciding
transaction: the portal notification, the email job, the reviewer's personal message."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from propdesk.accounts.models import ApiToken
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalAction, ApprovalRequest
from propdesk.core.errors import ValidationFailed
from propdesk.notifications.models import (
    Notification,
    NotificationTemplate,
    WebhookDelivery,
    WebhookMessage,
)
from propdesk.wallet import deposits
from tests.conftest import logged_in, post_form
from tests.notifications.factories import make_endpoint

pytestmark = pytest.mark.django_db


def _deposit(client, method, amount="1000"):
    made = deposits.request_deposit(client, method=method.pk, amount=amount, currency="USD")
    return ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=made.pk)


def _email_jobs() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="send_email").count()


@pytest.mark.django_db(transaction=True)  # the worker reads committed jobs, as in production
def test_an_approved_deposit_tells_the_client_in_the_portal_and_by_email(
    active_client, bank_transfer, finance, run_jobs
):
    request = _deposit(active_client, bank_transfer)
    mail.outbox.clear()
    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "FT-1"})
    note = Notification.objects.get(user=active_client.user, event="deposit.approved")
    assert note.title == "Your deposit of 1,000.00 USD was approved"
    assert f"(reference {request.reference}) was approved and is in your wallet" in note.body
    assert note.level == Notification.Level.SUCCESS
    run_jobs()
    sent = [m for m in mail.outbox if m.subject == note.title]
    assert len(sent) == 1
    assert sent[0].to == [active_client.user.email]
    assert request.reference in sent[0].body


def test_a_rejected_deposit_gives_the_reason_and_the_personal_message(
    active_client, bank_transfer, finance
):
    request = _deposit(active_client, bank_transfer)
    approvals.reject(
        request.pk,
        actor=finance,
        reason="The transfer did not arrive.",
        message="Call us on +420 123 456 if you sent it.",
    )
    note = Notification.objects.get(user=active_client.user, event="deposit.rejected")
    assert note.title == "Your deposit of 1,000.00 USD was rejected"
    assert "Reason: The transfer did not arrive." in note.body
    assert note.body.endswith("Call us on +420 123 456 if you sent it.")
    told = ApprovalAction.objects.get(request=request, kind=ApprovalAction.Kind.NOTE)
    assert told.text == "Message to the client: Call us on +420 123 456 if you sent it."


def test_the_reviewers_comment_stays_internal_and_the_message_reaches_the_client(
    active_client, bank_transfer, finance
):
    request = _deposit(active_client, bank_transfer)
    approvals.approve(
        request.pk,
        actor=finance,
        comment="Checked the statement twice",
        message="Thank you for your patience.",
        inputs={"bank_reference": "FT-2"},
    )
    note = Notification.objects.get(user=active_client.user, event="deposit.approved")
    assert "Thank you for your patience." in note.body
    assert "Checked the statement" not in note.body


@pytest.mark.parametrize(
    ("message", "field_error"),
    [
        ("x" * 2001, "at most 2000"),
        ("Hello\x00there", "control"),
        (["a", "list"], ""),
    ],
)
def test_a_huge_or_hostile_message_is_refused_and_nothing_changes(
    active_client, bank_transfer, finance, message, field_error
):
    request = _deposit(active_client, bank_transfer)
    before = _email_jobs()
    with pytest.raises(ValidationFailed) as refused:
        approvals.reject(request.pk, actor=finance, reason="No", message=message)
    assert "message" in refused.value.fields
    assert field_error.lower() in refused.value.fields["message"].lower()
    request.refresh_from_db()
    assert request.is_pending
    assert not Notification.objects.filter(user=active_client.user, event__startswith="deposit")
    assert _email_jobs() == before


def test_markup_in_a_message_is_kept_as_text_on_the_portal(active_client, bank_transfer, finance):
    request = _deposit(active_client, bank_transfer)
    approvals.reject(
        request.pk, actor=finance, reason="No", message="<script>alert(1)</script> {{ reason }}"
    )
    note = Notification.objects.get(user=active_client.user, event="deposit.rejected")
    assert note.body.endswith("<script>alert(1)</script> {{ reason }}")  # not filled in again
    page = logged_in(active_client.user).get("/portal/notifications/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_message_at_an_earlier_level_is_refused_until_the_last(
    active_client, bank_transfer, finance, admin, set_method
):
    set_method("deposit", "manual", ["Finance", "Administrator"])
    request = _deposit(active_client, bank_transfer)
    with pytest.raises(ValidationFailed) as refused:
        approvals.approve(
            request.pk, actor=finance, message="Soon!", inputs={"bank_reference": "FT-3"}
        )
    assert "last level" in refused.value.fields["message"]
    request.refresh_from_db()
    assert request.current_level == 1
    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "FT-3"})
    approvals.approve(
        request.pk, actor=admin, message="All done.", inputs={"bank_reference": "FT-3"}
    )
    note = Notification.objects.get(user=active_client.user, event="deposit.approved")
    assert note.body.endswith("All done.")


def test_a_rolled_back_decision_raises_no_event(active_client, bank_transfer, finance, admin):
    make_endpoint(admin, "https://hooks.example.com/in", ["deposit.rejected"])
    request = _deposit(active_client, bank_transfer)
    before = _email_jobs()

    def decide_then_fail() -> None:
        with transaction.atomic():
            approvals.reject(request.pk, actor=finance, reason="No", message="Sorry")
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        decide_then_fail()
    request.refresh_from_db()
    assert request.is_pending
    assert not Notification.objects.filter(user=active_client.user, event="deposit.rejected")
    assert _email_jobs() == before
    assert not WebhookMessage.objects.exists()  # no webhook delivery either
    assert not WebhookDelivery.objects.exists()


def test_the_back_office_form_sends_the_personal_message(active_client, bank_transfer, finance):
    request = _deposit(active_client, bank_transfer)
    page = logged_in(finance).get(reverse("backoffice:approval_review", args=[request.pk]))
    assert "Personal message to the client" in page.content.decode()
    post_form(
        logged_in(finance),
        reverse("backoffice:approval_reject", args=[request.pk]),
        {"level": 1, "reason": "Wrong amount", "message": "Please send it again."},
    )
    note = Notification.objects.get(user=active_client.user, event="deposit.rejected")
    assert "Reason: Wrong amount" in note.body
    assert note.body.endswith("Please send it again.")


def test_each_decision_forms_message_label_points_at_its_own_box(
    active_client, bank_transfer, finance
):
    request = _deposit(active_client, bank_transfer)
    html = logged_in(finance).get(reverse("backoffice:approval_review", args=[request.pk]))
    text = html.content.decode()
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # no two fields share an id on the review page
    assert 'for="approve_message"' in text
    assert 'for="reject_message"' in text
    assert 'id="reject_message"' in text


def test_the_back_office_refuses_a_message_too_long(active_client, bank_transfer, finance):
    request = _deposit(active_client, bank_transfer)
    answer = post_form(
        logged_in(finance),
        reverse("backoffice:approval_reject", args=[request.pk]),
        {"level": 1, "reason": "Wrong amount", "message": "y" * 2001},
    )
    assert answer.status_code == 422
    request.refresh_from_db()
    assert request.is_pending


def test_the_api_decision_carries_the_personal_message(active_client, bank_transfer, finance):
    _token, secret = ApiToken.objects.issue(finance, label="script")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    request = _deposit(active_client, bank_transfer)
    answer = HttpClient().post(
        f"/api/v1/approvals/{request.pk}/reject",
        {"reason": "Wrong amount", "message": "Write to us."},
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 200, answer.content
    note = Notification.objects.get(user=active_client.user, event="deposit.rejected")
    assert note.body.endswith("Write to us.")
    huge = _deposit(active_client, bank_transfer, amount="200")
    refused = HttpClient().post(
        f"/api/v1/approvals/{huge.pk}/reject",
        {"reason": "No", "message": "z" * 5000},
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 422
    assert "message" in refused.content.decode()
    huge.refresh_from_db()
    assert huge.is_pending


def test_a_client_reads_the_decision_in_their_language(active_client, bank_transfer, finance):
    NotificationTemplate.objects.create(
        event="deposit.rejected",
        language="es",
        subject="Su depósito de {{ amount }} {{ currency }} fue rechazado",
        body="Hola {{ client_name }}: {{ reason }}\n\n{{ message }}",
    )
    user = active_client.user
    user.language = "es"
    user.save(update_fields=["language"])
    request = _deposit(active_client, bank_transfer, amount="1234.5")
    approvals.reject(request.pk, actor=finance, reason="No llegó.", message="Gracias.")
    note = Notification.objects.get(user=user, event="deposit.rejected")
    assert note.title == "Su depósito de 1.234,50 USD fue rechazado"  # Spanish numbers too
    assert note.body == f"Hola {user.name}: No llegó.\n\nGracias."


def test_a_registration_decision_is_the_registration_event(register, compliance):
    client, request = register()
    approvals.approve(request.pk, actor=compliance, message="Welcome aboard!")
    note = Notification.objects.get(user=client.user, event="registration.approved")
    assert note.title.startswith("Welcome to ")
    assert f"your registration (reference {request.reference}) was approved" in note.body
    assert note.body.endswith("Welcome aboard!")
