"""Growth > Referral tree: the tops of the trees with their counts, read in a fixed number of
queries however many there are, the biggest downline first among all of them."""

from __future__ import annotations

import pytest

from propdesk.accounts import referrals
from tests.accounts.factories import referred, tree
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def test_the_tops_are_counted_in_a_fixed_number_of_queries(register, django_assert_max_num_queries):
    for _ in range(4):
        ib = referred(register, kind="ib")
        referred(register, referred(register, ib))
    with django_assert_max_num_queries(2):
        rows = referrals.top_referrers()
    assert [(direct, total) for _top, direct, total in rows] == [(1, 2)] * 4


def test_the_biggest_tree_comes_first_even_past_the_limit(register):
    small = [referred(register, kind="ib") for _ in range(3)]
    for top in small:
        referred(register, top)
    ib, *_ = tree(register)  # made last: 4 below it
    rows = referrals.top_referrers(limit=2)
    assert len(rows) == 2
    top, direct, total = rows[0]
    assert (top.pk, direct, total) == (ib.pk, 2, 4)


def test_the_referral_tree_page_counts_each_top(register, support):
    ib, *_ = tree(register)
    lone = referred(register, kind="ib")
    referred(register, lone)
    text = logged_in(support).get("/backoffice/growth/referral-tree/").content.decode()
    assert text.index(f'data-referrer="{ib.pk}"') < text.index(f'data-referrer="{lone.pk}"')
