"""Two staff move two clients under each other at the same instant (PostgreSQL row locks): one
move is made, the other is refused as a circle, and the tree keeps no cycle."""

from __future__ import annotations

import pytest
from django.db import connection

from propdesk.accounts import referrals
from propdesk.accounts.models import Client
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict
from propdesk.core.models import AuditRecord
from tests.accounts.factories import referred
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


@pytest.mark.parametrize("attempt", range(3))
def test_two_opposite_moves_at_once_make_one_move_and_no_circle(register, admin, attempt):
    a = referred(register, kind="ib")
    b = referred(register, kind="ib")
    outcomes = at_once(
        lambda: referrals.move_client(a, new_referrer=b, with_downline=True, actor=admin),
        lambda: referrals.move_client(b, new_referrer=a, with_downline=True, actor=admin),
    )
    assert sum(isinstance(o, Client) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.referrer_id, b.referrer_id) in ((b.pk, None), (None, a.pk))
    assert AuditRecord.objects.filter(action=AuditAction.CLIENT_MOVE_REFERRER).count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_two_moves_that_close_a_circle_only_together_are_not_both_made(register, admin, attempt):
    a = referred(register, kind="ib")
    b = referred(register, a)
    c = referred(register, kind="ib")
    d = referred(register, c)
    outcomes = at_once(
        lambda: referrals.move_client(a, new_referrer=d, with_downline=True, actor=admin),
        lambda: referrals.move_client(c, new_referrer=b, with_downline=True, actor=admin),
    )
    assert sum(isinstance(o, Client) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    for member in (a, b, c, d):
        assert len(referrals.upline(member, 10)) < 4  # no circle: every chain ends
