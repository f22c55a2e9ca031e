"""IB commission's locks in one order on PostgreSQL: a refund reversing commission at two levels
(one paid at once, one in a settlement) racing that settlement's approval never deadlocks."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from propdesk.accounts.models import Client
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.growth import commission, settlement
from propdesk.challenges.growth.models import Commission
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import interventions
from propdesk.challenges.participation import services as participation
from propdesk.wallet import ledger
from propdesk.wallet.models import LedgerAccount
from tests.challenges.commission_factories import buy, ib, scheme, trader, wallet_of
from tests.challenges.factories import fund
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal


@pytest.mark.parametrize("repeat", range(6))
def test_a_refund_over_two_levels_racing_the_upper_ibs_settlement_never_deadlocks(
    set_method, admin, challenge, finance, repeat
):
    scheme(admin, ["10", "3"], name="Instant")  # the default: `sub` is paid at once
    monthly = scheme(admin, ["10", "3"], settlement="periodic", default=False, name="Monthly")
    top = ib(set_method)
    commission.set_scheme(top.pk, monthly.pk, actor=admin)
    sub = ib(set_method, referrer=top)
    bought = buy(trader(set_method, referrer=sub), challenge, finance)
    assert wallet_of(sub) == D("49.90")
    day = timezone.localdate()
    settlement.settle(day, day, admin)
    request = ApprovalRequest.objects.get(type_key="ib_commission")
    outcomes = at_once(
        lambda: approvals.approve(request.pk, actor=admin).status,
        lambda: interventions.cancel(bought.pk, actor=admin, reason="Refund", refund=True).status,
    )
    assert outcomes == ["approved", "cancelled"], outcomes
    assert set(Commission.objects.values_list("status", flat=True)) == {"reversed"}
    assert (wallet_of(sub), wallet_of(top)) == (D("0.00"), D("0.00"))
    assert ledger.check() == []


def _reverse(participation):
    with transaction.atomic():
        return len(commission.reverse_for(participation, None))


@pytest.mark.parametrize("repeat", range(20))
def test_reversing_two_levels_racing_the_upper_ibs_settlement_never_deadlocks(
    set_method, admin, challenge, finance, repeat
):
    scheme(admin, ["10", "3"], name="Instant")
    monthly = scheme(admin, ["10", "3"], settlement="periodic", default=False, name="Monthly")
    top = ib(set_method)
    commission.set_scheme(top.pk, monthly.pk, actor=admin)
    sub = ib(set_method, referrer=top)
    bought = buy(trader(set_method, referrer=sub), challenge, finance)
    day = timezone.localdate()
    settlement.settle(day, day, admin)
    request = ApprovalRequest.objects.get(type_key="ib_commission")
    outcomes = at_once(
        lambda: approvals.approve(request.pk, actor=admin).status,
        lambda: _reverse(bought),
    )
    assert outcomes == ["approved", 2], outcomes
    assert set(Commission.objects.values_list("status", flat=True)) == {"reversed"}
    assert ledger.check() == []


@pytest.mark.parametrize("repeat", range(20))
def test_reversing_an_ibs_instant_commission_racing_their_settlement_never_deadlocks(
    set_method, admin, challenge, finance, repeat
):
    scheme(admin, ["10"], name="Instant")
    monthly = scheme(admin, ["10"], settlement="periodic", default=False, name="Monthly")
    top = ib(set_method)
    buyer = trader(set_method, referrer=top)
    paid_at_once = buy(buyer, challenge, finance)  # 49.90 in the IB's wallet
    commission.set_scheme(top.pk, monthly.pk, actor=admin)
    buy(buyer, challenge, finance)  # 49.90 collected
    day = timezone.localdate()
    settlement.settle(day, day, admin)
    request = ApprovalRequest.objects.get(type_key="ib_commission")
    outcomes = at_once(
        lambda: approvals.approve(request.pk, actor=admin).status,
        lambda: _reverse(paid_at_once),
    )
    assert outcomes == ["approved", 1], outcomes
    assert wallet_of(top) == D("49.90")
    assert ledger.check() == []


def test_a_referrals_purchase_takes_its_ibs_row_before_the_shared_fee_revenue_account(
    set_method, admin, challenge, finance
):
    """A purchase locks the buyer's upline IBs' client rows before it posts the fee (to the fee
    revenue account every purchase shares): otherwise an IB buying at that moment (their own row
    held, waiting for fee revenue) and their referral's purchase (fee revenue held, waiting for
    the IB's row) deadlock."""
    scheme(admin, ["10"])
    sub = ib(set_method)
    buyer = trader(set_method, referrer=sub)
    buy(trader(set_method), challenge, finance)  # the fee revenue account exists
    fund(buyer, finance)
    revenue = participation.fee_revenue("USD")
    bought: list[object] = []

    def purchase():
        try:
            bought.append(participation.start(buyer, challenge.pk, payment="wallet"))
        except BaseException as exc:  # handed to the test
            bought.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        Client.objects.select_for_update().get(pk=sub.pk)  # as the IB's own purchase does first
        running = threading.Thread(target=purchase)
        running.start()
        _wait_for_a_lock_wait()
        # The purchase waits for the IB's row without holding fee revenue: the IB's purchase
        # would take it now.
        assert LedgerAccount.objects.select_for_update(nowait=True).get(pk=revenue.pk)
    running.join(timeout=120)
    assert len(bought) == 1
    assert isinstance(bought[0], Participation), bought
    assert wallet_of(sub) == D("49.90")
    assert ledger.check() == []


def _wait_for_a_lock_wait() -> None:
    for _ in range(3000):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= 1:
                return
        time.sleep(0.01)
    raise AssertionError("the purchase never waited for a lock")
