"""IB commission racing itself on PostgreSQL's row locks: two approvals of one settlement pay
once, two earn() of one fee credit once, two settlements of one period gather once, and a
refund racing the settlement's approval either pays the rest or takes it back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.growth import commission, settlement
from propdesk.challenges.growth.models import Commission, CommissionSettlement
from propdesk.challenges.participation import interventions
from propdesk.core.errors import DomainError
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry
from tests.challenges.commission_factories import buy, ib, scheme, trader, wallet_of
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal


def _collected(set_method, admin, challenge, finance):
    scheme(admin, ["10"], settlement="periodic")
    top = ib(set_method)
    buyer = trader(set_method, referrer=top)
    bought = buy(buyer, challenge, finance)
    return top, bought


@pytest.mark.parametrize("repeat", range(3))
def test_two_approvals_of_one_settlement_pay_once(
    set_method, admin, staff_factory, challenge, finance, repeat
):
    top, _ = _collected(set_method, admin, challenge, finance)
    (made,) = settlement.settle(timezone.localdate(), timezone.localdate(), admin)
    request = ApprovalRequest.objects.get(type_key="ib_commission")
    other = staff_factory("Administrator")
    outcomes = at_once(
        lambda: approvals.approve(request.pk, actor=admin),
        lambda: approvals.approve(request.pk, actor=other),
    )
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1, outcomes
    assert wallet_of(top) == D("49.90")
    assert JournalEntry.objects.filter(type="ib_commission").count() == 1
    assert CommissionSettlement.objects.get(pk=made.pk).status == "paid"
    assert ledger.check() == []


@pytest.mark.parametrize("repeat", range(3))
def test_two_earnings_of_one_fee_at_once_credit_once(set_method, admin, challenge, finance, repeat):
    top = ib(set_method)
    buyer = trader(set_method, referrer=top)
    bought = buy(buyer, challenge, finance)  # no scheme yet: nothing earned
    scheme(admin, ["10"])

    def earn():
        with transaction.atomic():
            return len(commission.earn(bought))

    assert sorted(at_once(earn, earn)) == [0, 1]
    assert Commission.objects.count() == 1
    assert wallet_of(top) == D("49.90")
    assert ledger.check() == []


@pytest.mark.parametrize("repeat", range(3))
def test_two_settlements_of_one_period_at_once_gather_once(
    set_method, admin, challenge, finance, repeat
):
    _collected(set_method, admin, challenge, finance)
    day = timezone.localdate()
    outcomes = at_once(
        lambda: len(settlement.settle(day, day, admin)),
        lambda: len(settlement.settle(day - timedelta(days=1), day, admin)),
    )
    assert sorted(outcomes) == [0, 1]
    assert CommissionSettlement.objects.count() == 1
    assert ApprovalRequest.objects.filter(type_key="ib_commission").count() == 1


@pytest.mark.parametrize("repeat", range(3))
def test_a_refund_racing_the_settlements_approval_never_pays_a_reversed_commission(
    set_method, admin, challenge, finance, repeat
):
    top, bought = _collected(set_method, admin, challenge, finance)
    settlement.settle(timezone.localdate(), timezone.localdate(), admin)
    request = ApprovalRequest.objects.get(type_key="ib_commission")
    outcomes = at_once(
        lambda: approvals.approve(request.pk, actor=admin),
        lambda: interventions.cancel(bought.pk, actor=admin, reason="Refund", refund=True),
    )
    assert not any(isinstance(o, DomainError) for o in outcomes), outcomes
    assert Commission.objects.get().status == "reversed"
    assert wallet_of(top) == D("0.00")  # paid then taken back, or never paid
    assert ledger.check() == []


@pytest.mark.parametrize("repeat", range(3))
def test_a_refund_racing_the_settling_of_its_period_leaves_nothing_to_pay(
    set_method, admin, challenge, finance, repeat
):
    top, bought = _collected(set_method, admin, challenge, finance)
    day = timezone.localdate()
    outcomes = at_once(
        lambda: settlement.settle(day, day, admin),
        lambda: interventions.cancel(bought.pk, actor=admin, reason="Refund", refund=True),
    )
    assert not any(isinstance(o, DomainError) for o in outcomes), outcomes
    assert Commission.objects.get().status == "reversed"
    for request in ApprovalRequest.objects.filter(type_key="ib_commission"):
        approvals.approve(request.pk, actor=admin)
    assert set(CommissionSettlement.objects.values_list("amount", flat=True)) <= {D("0.00")}
    assert wallet_of(top) == D("0.00")
    assert ledger.check() == []
