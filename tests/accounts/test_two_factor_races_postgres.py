"""One code, two logins at the same instant (PostgreSQL row locks): it works once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from propdesk.accounts import two_factor
from propdesk.core.errors import DomainError
from propdesk.core.models import AuditRecord
from tests.accounts.factories import enrol, next_code

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


def twice_at_once(user_id: int, code: str) -> list[object]:
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = two_factor.verify_login(user_id, code)
        except DomainError as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("attempt", range(3))
def test_a_recovery_code_used_twice_at_once_logs_in_once(compliance, attempt):
    codes = enrol(compliance)
    outcomes = twice_at_once(compliance.pk, codes[0])
    passed = [o for o in outcomes if isinstance(o, two_factor.SecondFactor)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(passed) == 1
    assert len(refused) == 1
    assert two_factor.recovery_codes_left(compliance) == 9
    assert AuditRecord.objects.filter(action="two_factor.recovery_code_used").count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_an_app_code_used_twice_at_once_logs_in_once(compliance, attempt):
    enrol(compliance)
    outcomes = twice_at_once(compliance.pk, next_code(compliance))
    assert sum(isinstance(o, two_factor.SecondFactor) for o in outcomes) == 1
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1
