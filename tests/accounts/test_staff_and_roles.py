from __future__ import annotations

import pytest

from propdesk.accounts import services as accounts
from propdesk.accounts.models import Role
from propdesk.core.errors import Forbidden, ValidationFailed
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def people_manager(admin):
    """A non-administrator who may manage staff (a firm's HR lead, say)."""
    accounts.save_role(
        None,
        name="People",
        description="",
        permission_codes=["staff.manage", "clients.view"],
        actor=admin,
    )
    return accounts.create_staff_user(
        email="hr@firm.test", name="HR", role_name="People", password=PASSWORD, actor=admin
    )


def test_staff_manager_cannot_promote_themself_to_administrator(people_manager):
    administrator = Role.objects.get(name="Administrator")
    with pytest.raises(Forbidden):
        accounts.update_staff_user(
            people_manager.pk, role_id=administrator.pk, is_active=True, actor=people_manager
        )
    people_manager.refresh_from_db()
    assert people_manager.role.name == "People"


def test_staff_manager_cannot_create_an_administrator(people_manager):
    with pytest.raises(Forbidden):
        accounts.create_staff_user(
            email="boss@firm.test",
            name="",
            role_name="Administrator",
            password=PASSWORD,
            actor=people_manager,
        )


def test_staff_manager_cannot_grant_permissions_they_lack(people_manager):
    with pytest.raises(Forbidden, match=r"settings\.manage"):
        accounts.save_role(
            None,
            name="Sneaky",
            description="",
            permission_codes=["settings.manage"],
            actor=people_manager,
        )
    assert not Role.objects.filter(name="Sneaky").exists()


def test_staff_manager_cannot_move_someone_off_a_stronger_role(people_manager, compliance):
    support = Role.objects.get(name="Support")
    with pytest.raises(Forbidden):
        accounts.update_staff_user(
            compliance.pk, role_id=support.pk, is_active=True, actor=people_manager
        )


def test_staff_manager_may_hand_out_what_they_hold(people_manager):
    role = accounts.save_role(
        None, name="Viewer", description="", permission_codes=["clients.view"], actor=people_manager
    )
    user = accounts.create_staff_user(
        email="v@firm.test", name="", role_name="Viewer", password=PASSWORD, actor=people_manager
    )
    assert user.role == role


def test_nobody_removes_staff_management_from_their_own_role(people_manager):
    with pytest.raises(ValidationFailed):
        accounts.save_role(
            people_manager.role_id,
            name="People",
            description="",
            permission_codes=["clients.view"],
            actor=people_manager,
        )
    assert "staff.manage" in Role.objects.get(name="People").permissions


def test_only_staff_managers_create_staff(compliance):
    with pytest.raises(Forbidden):
        accounts.create_staff_user(
            email="x@firm.test", name="", role_name="Support", password=PASSWORD, actor=compliance
        )
