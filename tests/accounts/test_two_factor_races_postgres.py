"""One code, two logins at the same instant (PostgreSQL row locks): it works once."""

from __future__ import annotations

import pytest
from django.db import connection

from propdesk.accounts import two_factor
from propdesk.core.audit import AuditAction
from propdesk.core.errors import DomainError
from propdesk.core.models import AuditRecord
from tests.accounts.factories import enrol, next_code
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


@pytest.mark.parametrize("attempt", range(3))
def test_a_recovery_code_used_twice_at_once_logs_in_once(compliance, attempt):
    codes = enrol(compliance)
    outcomes = at_once(*[lambda: two_factor.verify_login(compliance.pk, codes[0])] * 2)
    passed = [o for o in outcomes if isinstance(o, two_factor.SecondFactor)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(passed) == 1
    assert len(refused) == 1
    assert two_factor.recovery_codes_left(compliance) == 9
    assert AuditRecord.objects.filter(action=AuditAction.TWO_FACTOR_USE_RECOVERY_CODE).count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_an_app_code_used_twice_at_once_logs_in_once(compliance, attempt):
    enrol(compliance)
    code = next_code(compliance)
    outcomes = at_once(*[lambda: two_factor.verify_login(compliance.pk, code)] * 2)
    assert sum(isinstance(o, two_factor.SecondFactor) for o in outcomes) == 1
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1
