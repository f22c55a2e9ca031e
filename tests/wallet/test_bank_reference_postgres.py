"""Two people approving two bank transfers with the same bank reference at the same moment:
one is credited, the other refused naming the reference (PostgreSQL's unique index decides)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import ValidationFailed
from propdesk.wallet import deposits, ledger
from propdesk.wallet.models import Deposit
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


@pytest.mark.parametrize("attempt", range(3))
def test_one_bank_reference_racing_on_two_deposits_is_credited_once(
    active_client, bank_transfer, staff_factory, attempt
):
    made = [
        deposits.request_deposit(
            active_client, method=bank_transfer.pk, amount="100.00", currency="USD"
        )
        for _ in range(2)
    ]
    requests = [
        ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=d.pk) for d in made
    ]
    a, b = staff_factory("Finance"), staff_factory("Finance")
    outcomes = at_once(
        lambda: approvals.approve(requests[0].pk, actor=a, inputs={"bank_reference": "RACE-1"}),
        lambda: approvals.approve(requests[1].pk, actor=b, inputs={"bank_reference": "race-1"}),
    )
    refused = [o for o in outcomes if isinstance(o, ValidationFailed)]
    assert len(refused) == 1
    assert "RACE-1" in refused[0].fields["bank_reference"].upper()
    assert Deposit.objects.filter(status="approved").count() == 1
    assert Deposit.objects.filter(status="pending", bank_reference="").count() == 1
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
