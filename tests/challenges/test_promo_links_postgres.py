"""Promotional links under load, on PostgreSQL: clicks at the same instant are all counted
(each adds one in the database, no read-then-write)."""

from __future__ import annotations

import pytest
from django.db import connection

from propdesk.challenges.growth import links
from propdesk.challenges.growth.models import PromoLink
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's concurrency"),
    pytest.mark.django_db(transaction=True),
]


def test_clicks_at_the_same_instant_are_all_counted(admin):
    links.save_link(None, code="Rush", name="Rush hour", landing="register", actor=admin)
    outcomes = at_once(*(lambda: links.click("rush") for _ in range(8)))
    assert all(isinstance(o, PromoLink) for o in outcomes)
    assert PromoLink.objects.get().clicks == 8
