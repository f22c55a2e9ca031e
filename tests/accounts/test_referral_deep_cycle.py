"""A move in the referral tree never makes a circle, however deep the tree is (deeper than the
levels a downline page reads)."""

from __future__ import annotations

import pytest

from propdesk.accounts import referrals
from propdesk.core.errors import Conflict

pytestmark = pytest.mark.django_db


def chain(register, length):
    """A line of clients, each referred by the one before: [top, ..., bottom]."""
    top, _ = register(kind="ib")
    line = [top]
    for _ in range(length - 1):
        client, _ = register(referral_code=line[-1].referral_code)
        line.append(client)
    return line


def test_moving_the_top_under_the_bottom_of_a_deep_tree_is_refused(register, admin):
    line = chain(register, referrals.MOST_DEPTH + 5)
    with pytest.raises(Conflict) as refused:
        referrals.move_client(line[0], new_referrer=line[-1], with_downline=True, actor=admin)
    assert refused.value.code == "referral_cycle"
    line[0].refresh_from_db()
    assert line[0].referrer_id is None
