"""Two-factor login's use cases: enrol, codes, recovery codes, turning off, resets, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from propdesk.accounts import services as accounts
from propdesk.accounts import two_factor
from propdesk.accounts.models import Authenticator, RecoveryCodes, Role
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Forbidden, NotAuthenticated, Throttled, ValidationFailed
from propdesk.core.models import AuditRecord
from tests.accounts.factories import code_for, enrol, next_code, require_two_factor
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_code_waits(settings):
    """A right code straight after a wrong one: django-otp's waits off (tested on their own)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_is_confirmed_only_by_a_right_code_and_gives_ten_recovery_codes(
    compliance, no_code_waits
):
    device = two_factor.begin_enrolment(actor=compliance)
    assert not two_factor.is_enrolled(compliance)
    with pytest.raises(two_factor.InvalidCode):
        two_factor.confirm_enrolment(actor=compliance, code="000000")
    assert not two_factor.is_enrolled(compliance)

    _device, codes = two_factor.confirm_enrolment(actor=compliance, code=code_for(device))

    assert two_factor.is_enrolled(compliance)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert two_factor.recovery_codes_left(compliance) == 10
    record = AuditRecord.objects.get(action=AuditAction.TWO_FACTOR_ENROL)
    assert record.actor == compliance
    assert record.object_id == str(compliance.pk)


def test_a_set_up_left_too_long_expires(compliance, settings):
    device = two_factor.begin_enrolment(actor=compliance)
    Authenticator.objects.filter(pk=device.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.TWO_FACTOR_ENROLMENT_SECONDS + 1)
    )
    with pytest.raises(ValidationFailed, match="expired"):
        two_factor.confirm_enrolment(actor=compliance, code=code_for(device))
    assert not two_factor.is_enrolled(compliance)


def test_a_recovery_code_does_not_confirm_a_new_app(compliance):
    codes = enrol(compliance)
    two_factor.begin_enrolment(actor=compliance, code=codes[0])
    with pytest.raises(ValidationFailed):
        two_factor.confirm_enrolment(actor=compliance, code=codes[1])


def test_moving_to_a_new_app_needs_a_current_code_and_retires_the_old_app(
    compliance, no_code_waits
):
    enrol(compliance)
    old = Authenticator.objects.get(user=compliance, confirmed=True)
    with pytest.raises(ValidationFailed):
        two_factor.begin_enrolment(actor=compliance, code="")
    with pytest.raises(two_factor.InvalidCode):
        two_factor.begin_enrolment(actor=compliance, code="123456")
    assert two_factor.pending_enrolment(compliance) is None

    new = two_factor.begin_enrolment(actor=compliance, code=next_code(compliance))
    two_factor.confirm_enrolment(actor=compliance, code=code_for(new))

    assert list(Authenticator.objects.filter(user=compliance)) == [new]
    assert AuditRecord.objects.filter(action=AuditAction.TWO_FACTOR_REPLACE).exists()
    assert old.pk != new.pk


def test_clients_cannot_enrol(active_client):
    with pytest.raises(Forbidden):
        two_factor.begin_enrolment(actor=active_client.user)


# --- codes at login --------------------------------------------------------------------------


def test_the_app_code_logs_in_once_and_not_twice(compliance):
    enrol(compliance)
    code = next_code(compliance)
    passed = two_factor.verify_login(compliance.pk, code)
    assert passed.user == compliance
    assert passed.recovery_codes_left is None
    with pytest.raises(two_factor.InvalidCode):
        two_factor.verify_login(compliance.pk, code)


def test_a_recovery_code_logs_in_once(compliance):
    codes = enrol(compliance)
    passed = two_factor.verify_login(compliance.pk, codes[3].upper().replace("-", " "))
    assert passed.recovery_codes_left == 9
    assert isinstance(passed.device, RecoveryCodes)
    assert AuditRecord.objects.filter(action=AuditAction.TWO_FACTOR_USE_RECOVERY_CODE).count() == 1
    with pytest.raises(two_factor.InvalidCode):
        two_factor.verify_login(compliance.pk, codes[3])
    assert two_factor.recovery_codes_left(compliance) == 9


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "abcdef",
        "1" * 100,
        "12\x003456",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        None,
        123456,
        ["123456"],
    ],
    ids=["empty", "blank", "letters", "100-digits", "nul", "wide-digits", "none", "int", "list"],
)
def test_malformed_codes_are_refused_and_count_nothing(compliance, code):
    enrol(compliance)
    with pytest.raises(ValidationFailed) as refused:
        two_factor.verify_login(compliance.pk, code)
    assert "code" in refused.value.fields
    device = Authenticator.objects.get(user=compliance)
    assert device.throttling_failure_count == 0
    assert RecoveryCodes.objects.get(user=compliance).throttling_failure_count == 0


def test_wrong_codes_make_the_next_try_wait(compliance):
    enrol(compliance)
    with pytest.raises(two_factor.InvalidCode):
        two_factor.verify_login(compliance.pk, "000000")
    right = next_code(compliance)
    with pytest.raises(Throttled) as waiting:
        two_factor.verify_login(compliance.pk, right)
    assert waiting.value.extra["retry_after"] >= 1
    assert Authenticator.objects.get(user=compliance).throttling_failure_count == 1


def test_the_wait_after_many_wrong_codes_is_capped(compliance, settings):
    """Forty wrong codes would mean years of waiting in django-otp; here at most the cap."""
    enrol(compliance)
    settings.TWO_FACTOR_MAX_WAIT_SECONDS = 900
    device = Authenticator.objects.get(user=compliance)
    Authenticator.objects.filter(pk=device.pk).update(
        throttling_failure_count=40,
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=899),
    )
    with pytest.raises(Throttled):
        two_factor.verify_login(compliance.pk, next_code(compliance))
    Authenticator.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=901)
    )
    assert two_factor.verify_login(compliance.pk, next_code(compliance)).user == compliance
    assert Authenticator.objects.get(pk=device.pk).throttling_failure_count == 0


def test_a_wrong_app_code_does_not_hold_up_the_recovery_codes(compliance):
    codes = enrol(compliance)
    with pytest.raises(two_factor.InvalidCode):
        two_factor.verify_login(compliance.pk, "000000")
    assert two_factor.verify_login(compliance.pk, codes[0]).recovery_codes_left == 9


def test_a_deactivated_user_gets_no_second_step(compliance, admin):
    enrol(compliance)
    accounts.update_staff_user(
        compliance.pk, role_id=compliance.role_id, is_active=False, actor=admin
    )
    with pytest.raises(NotAuthenticated):
        two_factor.verify_login(compliance.pk, next_code(compliance))


# --- recovery codes, turning off -------------------------------------------------------------


def test_new_recovery_codes_need_a_current_code_and_retire_the_old(compliance, no_code_waits):
    old = enrol(compliance)
    with pytest.raises(two_factor.InvalidCode):
        two_factor.regenerate_recovery_codes(actor=compliance, code="999999")
    new = two_factor.regenerate_recovery_codes(actor=compliance, code=next_code(compliance))
    assert len(new) == 10
    assert not set(new) & set(old)
    with pytest.raises(two_factor.InvalidCode):
        two_factor.verify_login(compliance.pk, old[0])
    assert two_factor.verify_login(compliance.pk, new[0]).recovery_codes_left == 9
    assert AuditRecord.objects.filter(
        action=AuditAction.TWO_FACTOR_REGENERATE_RECOVERY_CODES
    ).exists()


def test_turning_off_needs_a_current_code(compliance, no_code_waits):
    enrol(compliance)
    with pytest.raises(two_factor.InvalidCode):
        two_factor.disable(actor=compliance, code="111111")
    assert two_factor.is_enrolled(compliance)
    two_factor.disable(actor=compliance, code=next_code(compliance))
    assert not two_factor.is_enrolled(compliance)
    assert not RecoveryCodes.objects.filter(user=compliance).exists()
    assert AuditRecord.objects.filter(
        action=AuditAction.TWO_FACTOR_DISABLE, actor=compliance
    ).exists()


def test_turning_off_is_refused_while_the_role_requires_it(compliance, admin):
    enrol(compliance)
    require_two_factor("Compliance", admin)
    compliance.refresh_from_db()
    with pytest.raises(Forbidden):
        two_factor.disable(actor=compliance, code=next_code(compliance))
    assert two_factor.is_enrolled(compliance)


# --- roles -----------------------------------------------------------------------------------


def test_a_role_requirement_is_saved_and_audited(admin):
    role = require_two_factor("Finance", admin)
    assert role.requires_two_factor
    record = AuditRecord.objects.filter(action=AuditAction.ROLE_UPDATE).latest("pk")
    assert record.before["requires_two_factor"] is False
    assert record.after["requires_two_factor"] is True


def test_saving_a_role_without_saying_keeps_its_requirement(admin):
    role = require_two_factor("Finance", admin)
    accounts.save_role(
        role.pk, name="Finance", description="Money", permission_codes=[], actor=admin
    )
    assert Role.objects.get(pk=role.pk).requires_two_factor


def test_the_administrator_role_can_require_two_factor_but_keeps_everything_else(admin):
    role = require_two_factor("Administrator", admin)
    assert role.requires_two_factor
    assert role.grants_all
    assert role.permissions == []
    with pytest.raises(ValidationFailed):
        accounts.save_role(
            role.pk,
            name="Administrator",
            description="",
            permission_codes=["audit.view"],
            requires_two_factor=False,
            actor=admin,
        )
    assert Role.objects.get(pk=role.pk).requires_two_factor


def test_only_an_administrator_edits_the_administrator_role(admin):
    accounts.save_role(
        None, name="People", description="", permission_codes=["staff.manage"], actor=admin
    )
    hr = accounts.create_staff_user(
        email="hr@firm.test", name="HR", role_name="People", password=PASSWORD, actor=admin
    )
    role = Role.objects.get(name="Administrator")
    with pytest.raises(Forbidden):
        accounts.save_role(
            role.pk,
            name=role.name,
            description="",
            permission_codes=role.permission_codes(),
            requires_two_factor=True,
            actor=hr,
        )


# --- reset by an administrator ---------------------------------------------------------------


def test_an_administrator_resets_a_lost_phone_with_a_reason(admin, compliance):
    enrol(compliance)
    with pytest.raises(ValidationFailed) as no_reason:
        accounts.reset_two_factor(compliance.pk, actor=admin, reason="  ")
    assert "reason" in no_reason.value.fields
    assert two_factor.is_enrolled(compliance)

    accounts.reset_two_factor(compliance.pk, actor=admin, reason="Phone lost on holiday")

    assert not two_factor.is_enrolled(compliance)
    assert not RecoveryCodes.objects.filter(user=compliance).exists()
    record = AuditRecord.objects.get(action=AuditAction.STAFF_RESET_TWO_FACTOR)
    assert record.actor == admin
    assert record.after["reason"] == "Phone lost on holiday"
    assert compliance.email in record.summary


def test_a_reset_revokes_the_tokens_got_with_the_lost_phone(admin, compliance):
    from propdesk.accounts.models import ApiToken

    enrol(compliance)
    raw = accounts.issue_token(compliance, otp=next_code(compliance))
    assert accounts.user_for_token(raw) == compliance
    accounts.reset_two_factor(compliance.pk, actor=admin, reason="Phone and laptop stolen")
    assert accounts.user_for_token(raw) is None
    assert not ApiToken.objects.filter(user=compliance, revoked_at__isnull=True).exists()


def test_nobody_resets_their_own_two_factor_this_way(admin):
    enrol(admin)
    with pytest.raises(Forbidden):
        accounts.reset_two_factor(admin.pk, actor=admin, reason="lost it")
    assert two_factor.is_enrolled(admin)


def test_staff_without_staff_management_cannot_reset(support, compliance):
    enrol(compliance)
    with pytest.raises(Forbidden):
        accounts.reset_two_factor(compliance.pk, actor=support, reason="lost it")
    assert two_factor.is_enrolled(compliance)


def test_a_staff_manager_cannot_reset_a_stronger_colleague(admin, staff_factory):
    accounts.save_role(
        None, name="People", description="", permission_codes=["staff.manage"], actor=admin
    )
    hr = staff_factory("People")
    other_admin = staff_factory("Administrator")
    enrol(other_admin)
    with pytest.raises(Forbidden):
        accounts.reset_two_factor(other_admin.pk, actor=hr, reason="asked by phone")
    assert two_factor.is_enrolled(other_admin)


def test_resetting_someone_without_two_factor_says_so(admin, compliance):
    with pytest.raises(ValidationFailed, match="no two-factor login"):
        accounts.reset_two_factor(compliance.pk, actor=admin, reason="lost it")
    assert not AuditRecord.objects.filter(action=AuditAction.STAFF_RESET_TWO_FACTOR).exists()
