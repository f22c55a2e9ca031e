"""Default roles across releases: a permission a release adds to a default role reaches an
existing install once; what an Administrator took away stays away."""

from __future__ import annotations

import pytest

from propdesk.accounts.models import OfferedPermission, Role
from propdesk.accounts.roles import DEFAULT_ROLES, ensure_default_roles

pytestmark = pytest.mark.django_db


def next_release(name: str, code: str):
    """The default roles as a later release defines them: `name` gains `code`."""
    return [
        (n, text, everything, [*codes, code] if n == name else codes)
        for n, text, everything, codes in DEFAULT_ROLES
    ]


def test_a_permission_a_release_adds_reaches_the_existing_role_once():
    support = Role.objects.get(name="Support")
    ensure_default_roles(next_release("Support", "reports.view"))
    support.refresh_from_db()
    assert "reports.view" in support.permissions
    assert OfferedPermission.objects.filter(role=support, code="reports.view").exists()


def test_a_permission_the_administrator_took_away_stays_away():
    ensure_default_roles(next_release("Support", "reports.view"))
    support = Role.objects.get(name="Support")
    support.permissions = [c for c in support.permissions if c != "reports.view"]
    support.save()
    ensure_default_roles(next_release("Support", "reports.view"))
    ensure_default_roles(next_release("Support", "reports.view"))
    support.refresh_from_db()
    assert "reports.view" not in support.permissions


def test_an_install_older_than_the_bookkeeping_keeps_its_roles_as_they_are():
    finance = Role.objects.get(name="Finance")
    finance.permissions = ["approvals.view"]  # edited long ago
    finance.save()
    OfferedPermission.objects.filter(role=finance).delete()  # as before this release
    ensure_default_roles()
    finance.refresh_from_db()
    assert finance.permissions == ["approvals.view"]
    offered = set(OfferedPermission.objects.filter(role=finance).values_list("code", flat=True))
    assert "wallet.adjust" in offered  # counted as offered: not pushed back later


def test_a_deleted_default_role_comes_back_whole():
    Role.objects.filter(name="Compliance").delete()
    ensure_default_roles()
    compliance = Role.objects.get(name="Compliance")
    expected = next(codes for n, _, _, codes in DEFAULT_ROLES if n == "Compliance")
    assert sorted(compliance.permissions) == sorted(expected)
