from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from propdesk.accounts.models import Client
from propdesk.approvals import registry
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalAction, ApprovalRequest
from propdesk.approvals.registry import Method, RequestType
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, Forbidden, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.notifications.models import Notification
from propdesk.onboarding.request_types import IB_REGISTRATION, TRADER_REGISTRATION

pytestmark = pytest.mark.django_db


def fresh(request: ApprovalRequest) -> ApprovalRequest:
    return ApprovalRequest.objects.get(pk=request.pk)


def test_approval_activates_the_client_and_records_who(register, compliance):
    client, request = register()
    approvals.approve(request.pk, actor=compliance, comment="ok")
    request = fresh(request)
    assert request.status == ApprovalRequest.Status.APPROVED
    assert request.decided_by == compliance
    assert request.decision_comment == "ok"
    assert Client.objects.get(pk=client.pk).status == Client.Status.ACTIVE


def test_rejection_keeps_the_reason_for_the_client(register, compliance):
    client, request = register()
    approvals.reject(request.pk, actor=compliance, reason="Incomplete details")
    client.refresh_from_db()
    assert client.status == Client.Status.REJECTED
    assert client.rejection_reason == "Incomplete details"


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 2001])
def test_rejection_without_a_proper_reason_is_refused_and_changes_nothing(
    register, compliance, reason
):
    _, request = register()
    with pytest.raises(ValidationFailed) as caught:
        approvals.reject(request.pk, actor=compliance, reason=reason)
    assert "reason" in caught.value.fields
    assert fresh(request).status == ApprovalRequest.Status.PENDING


def test_support_cannot_decide(register, support):
    _, request = register()
    with pytest.raises(Forbidden):
        approvals.approve(request.pk, actor=support)
    with pytest.raises(Forbidden):
        approvals.reject(request.pk, actor=support, reason="no")
    assert fresh(request).status == ApprovalRequest.Status.PENDING


def test_a_decided_request_cannot_be_decided_again(register, compliance, staff_factory):
    _, request = register()
    approvals.approve(request.pk, actor=compliance)
    with pytest.raises(Conflict):
        approvals.reject(request.pk, actor=staff_factory("Compliance"), reason="late")
    assert fresh(request).status == ApprovalRequest.Status.APPROVED


def test_two_levels_need_two_people(register, set_method, compliance, admin):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Administrator"])
    client, request = register()
    approvals.approve(request.pk, actor=compliance)
    request = fresh(request)
    assert request.status == ApprovalRequest.Status.PENDING
    assert request.current_level == 2
    assert Client.objects.get(pk=client.pk).status == Client.Status.PENDING_APPROVAL
    approvals.approve(request.pk, actor=admin)
    assert fresh(request).status == ApprovalRequest.Status.APPROVED
    assert Client.objects.get(pk=client.pk).status == Client.Status.ACTIVE


def test_one_person_cannot_approve_two_levels(register, set_method, compliance):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Compliance"])
    _, request = register()
    approvals.approve(request.pk, actor=compliance)
    with pytest.raises(Forbidden, match="earlier level"):
        approvals.approve(request.pk, actor=compliance)
    request = fresh(request)
    assert request.status == ApprovalRequest.Status.PENDING
    assert request.current_level == 2


def test_second_level_goes_to_another_person_of_the_same_role(
    register, set_method, compliance, staff_factory
):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Compliance"])
    _, request = register()
    approvals.approve(request.pk, actor=compliance)
    approvals.approve(request.pk, actor=staff_factory("Compliance"))
    assert fresh(request).status == ApprovalRequest.Status.APPROVED


def test_level_is_decided_only_by_its_role(register, set_method, compliance, admin):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Administrator"])
    _, request = register()
    with pytest.raises(Forbidden, match="Compliance"):
        approvals.approve(request.pk, actor=admin)
    assert fresh(request).current_level == 1


def test_any_level_may_reject(register, set_method, compliance, admin):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Administrator"])
    client, request = register()
    approvals.approve(request.pk, actor=compliance)
    approvals.reject(request.pk, actor=admin, reason="Not our market")
    assert fresh(request).status == ApprovalRequest.Status.REJECTED
    assert Client.objects.get(pk=client.pk).status == Client.Status.REJECTED


def test_a_stale_review_page_cannot_approve_a_level_it_did_not_see(
    register, set_method, compliance, staff_factory
):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Compliance"])
    _, request = register()
    approvals.approve(request.pk, actor=compliance, expected_level=1)
    with pytest.raises(Conflict):
        approvals.approve(request.pk, actor=staff_factory("Compliance"), expected_level=1)
    assert fresh(request).current_level == 2


def test_levels_in_force_at_submission_stay_with_the_request(register, set_method, compliance):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Administrator"])
    _, request = register()
    set_method(TRADER_REGISTRATION, "manual", [])
    approvals.approve(request.pk, actor=compliance)
    assert fresh(request).status == ApprovalRequest.Status.PENDING


def test_todo_lists_what_my_role_can_decide_now(register, set_method, compliance, admin, support):
    set_method(IB_REGISTRATION, "manual", ["Compliance", "Administrator"])
    _, trader = register()
    _, ib = register(kind="ib")
    assert set(approvals.todo(compliance).values_list("pk", flat=True)) == {trader.pk, ib.pk}
    assert set(approvals.todo(admin).values_list("pk", flat=True)) == {trader.pk}
    assert list(approvals.todo(support)) == []
    approvals.approve(ib.pk, actor=compliance)
    assert set(approvals.todo(compliance).values_list("pk", flat=True)) == {trader.pk}
    assert set(approvals.todo(admin).values_list("pk", flat=True)) == {trader.pk, ib.pk}


def test_pending_counts_per_type(register, support):
    register()
    register()
    register(kind="ib")
    counts = approvals.pending_counts(support)
    assert counts[TRADER_REGISTRATION] == 2
    assert counts[IB_REGISTRATION] == 1


@pytest.mark.django_db(transaction=True)  # the worker reads committed jobs, as in production
def test_decision_notifies_the_client_in_portal_and_by_email(register, compliance, run_jobs):
    client, request = register()
    approvals.reject(request.pk, actor=compliance, reason="Blurry details")
    note = Notification.objects.get(user=client.user)
    assert note.event == "registration.rejected"
    assert note.title == "Your registration was not approved"
    assert "Blurry details" in note.body
    assert mail.outbox == []  # the email is a job, sent after commit by a worker
    run_jobs()
    # The registration's own email (the verification link) went out too.
    decisions = [m for m in mail.outbox if "Blurry details" in m.body]
    assert len(decisions) == 1
    assert decisions[0].to == [client.user.email]


def test_decisions_and_settings_changes_are_audited(register, compliance, set_method):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance"])
    setting = AuditRecord.objects.get(action=AuditAction.APPROVAL_POLICY_UPDATE)
    assert setting.before["levels"] == []
    assert setting.after["levels"] == ["Compliance"]
    _, request = register()
    approvals.approve(request.pk, actor=compliance, comment="fine")
    record = AuditRecord.objects.get(action=AuditAction.APPROVAL_APPROVE, object_id=str(request.pk))
    assert record.actor == compliance
    assert record.before["status"] == "pending"
    assert record.after["status"] == "approved"


def test_automatic_approval_is_audited_as_the_system(register, set_method):
    set_method(TRADER_REGISTRATION, "automatic")
    _, request = register()
    record = AuditRecord.objects.get(action=AuditAction.APPROVAL_APPROVE, object_id=str(request.pk))
    assert record.actor is None
    assert record.actor_label == "system"


def test_notes_go_to_the_log_and_need_text(register, compliance, support):
    _, request = register()
    approvals.add_note(request.pk, actor=compliance, text="Called the client")
    assert request.actions.filter(kind=ApprovalAction.Kind.NOTE).get().text == "Called the client"
    with pytest.raises(ValidationFailed):
        approvals.add_note(request.pk, actor=compliance, text="  ")
    with pytest.raises(Forbidden):
        approvals.add_note(request.pk, actor=support, text="I cannot")


def test_policy_refuses_a_method_the_type_does_not_allow(admin):
    with pytest.raises(ValidationFailed) as caught:
        approvals.set_policy(TRADER_REGISTRATION, method="partial", threshold="10", actor=admin)
    assert "method" in caught.value.fields


def test_policy_refuses_unknown_roles_and_too_many_levels(admin):
    with pytest.raises(ValidationFailed):
        approvals.set_policy(
            TRADER_REGISTRATION, method="manual", level_roles=["Nobody"], actor=admin
        )
    with pytest.raises(ValidationFailed):
        approvals.set_policy(
            TRADER_REGISTRATION, method="manual", level_roles=["Compliance"] * 6, actor=admin
        )
    assert approvals.policy_snapshot(approvals.policy_for(TRADER_REGISTRATION))["levels"] == []


def test_only_settings_managers_change_policies(compliance):
    with pytest.raises(Forbidden):
        approvals.set_policy(TRADER_REGISTRATION, method="automatic", actor=compliance)


@pytest.fixture
def amount_type():
    """A request type that carries an amount, as the deposits issue will register."""
    rtype = registry.register(
        RequestType(
            key="test_payout",
            label="Test payout",
            review_permission="approvals.view",
            allowed_methods=(Method.AUTOMATIC, Method.MANUAL, Method.PARTIAL),
        )
    )
    yield rtype
    registry._TYPES.pop(rtype.key)


def test_partial_method_approves_below_the_threshold_only(amount_type, admin, register):
    client, _ = register()
    approvals.set_policy(amount_type.key, method="partial", threshold="500.00", actor=admin)
    small = approvals.submit(
        amount_type.key, client=client, amount=Decimal("499.99"), currency="USD"
    )
    equal = approvals.submit(
        amount_type.key, client=client, amount=Decimal("500.00"), currency="USD"
    )
    assert small.status == ApprovalRequest.Status.APPROVED
    assert equal.status == ApprovalRequest.Status.PENDING


@pytest.mark.parametrize("threshold", [None, "", "0", "-5", "abc", "1.234", "NaN", "1e30"])
def test_partial_method_needs_a_sensible_threshold(amount_type, admin, threshold):
    with pytest.raises(ValidationFailed) as caught:
        approvals.set_policy(amount_type.key, method="partial", threshold=threshold, actor=admin)
    assert "threshold" in caught.value.fields


def test_the_types_are_named_as_the_firms_guide_names_their_queues():
    labels = {t.key: t.label for t in registry.all_types()}
    assert labels["trader_registration"] == "Trader Registration"
    assert labels["ib_registration"] == "IB Registration"
    assert labels["prop_participation"] == "Prop Trading Participation"
    assert labels["prop_live_step"] == "Prop Trading Live Step"
    ib = registry.get(IB_REGISTRATION)
    assert ib is not None
    assert ib.description == "A new IB asks to open an account in the portal."


def test_an_ib_is_told_of_their_registration_by_the_registration_event(register, compliance):
    client, request = register(kind="ib")
    approvals.reject(request.pk, reason="Incomplete", actor=compliance)
    note = Notification.objects.get(user=client.user, event="registration.rejected")
    assert note.title == "Your registration was not approved"
    assert f"your registration (reference {request.reference}) was not approved" in note.body
    assert "Reason: Incomplete" in note.body
