"""Two people deciding the same request at the same moment (PostgreSQL row locks)."""

from __future__ import annotations

import pytest
from django.db import connection

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalAction, ApprovalRequest
from propdesk.core.errors import DomainError
from propdesk.core.models import AuditRecord
from propdesk.notifications.models import Notification
from propdesk.onboarding.request_types import TRADER_REGISTRATION
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


@pytest.mark.parametrize("attempt", range(5))
def test_approve_and_reject_racing_decide_once(register, staff_factory, attempt):
    client, request = register()
    a, b = staff_factory("Compliance"), staff_factory("Compliance")
    outcomes = at_once(
        lambda: approvals.approve(request.pk, actor=a),
        lambda: approvals.reject(request.pk, actor=b, reason="duplicate"),
    )
    errors = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(errors) == 1
    assert errors[0].code == "already_decided"
    decided = ApprovalRequest.objects.get(pk=request.pk)
    final = decided.actions.filter(
        kind__in=[ApprovalAction.Kind.APPROVED, ApprovalAction.Kind.REJECTED]
    )
    assert final.count() == 1
    assert Notification.objects.filter(user=client.user).count() == 1
    decisions = AuditRecord.objects.filter(
        object_type="approval_request", object_id=str(request.pk)
    )
    assert decisions.count() == 1
    client.refresh_from_db()
    assert client.status == ("active" if decided.status == "approved" else "rejected")


@pytest.mark.parametrize("attempt", range(5))
def test_two_people_approving_the_same_level_move_it_once(
    register, set_method, staff_factory, attempt
):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Administrator"])
    _, request = register()
    a, b = staff_factory("Compliance"), staff_factory("Compliance")
    outcomes = at_once(
        lambda: approvals.approve(request.pk, actor=a, expected_level=1),
        lambda: approvals.approve(request.pk, actor=b, expected_level=1),
    )
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1
    request.refresh_from_db()
    assert request.current_level == 2
    assert request.status == "pending"
    assert request.actions.filter(kind=ApprovalAction.Kind.LEVEL_APPROVED).count() == 1
