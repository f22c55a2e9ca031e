"""Periodic settlement's harder cases: the period's edges in the firm's time zone, commission
a rejected settlement gave back, and an IB suspended (or no longer an IB) since they earned."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from propdesk.accounts.models import Client
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.growth import settlement
from propdesk.challenges.growth.models import Commission
from propdesk.wallet import ledger
from tests.challenges.commission_factories import buy, ib, scheme, trader, wallet_of

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def collected(set_method, admin, challenge, finance):
    """IB `top` ← `buyer`'s two purchases, collected on a 10% periodic scheme: 49.90 each."""
    scheme(admin, ["10"], settlement="periodic")
    top = ib(set_method)
    buyer = trader(set_method, referrer=top)
    first = buy(buyer, challenge, finance)
    second = buy(buyer, challenge, finance)
    return top, first, second


def made_at(participation, moment):
    Commission.objects.filter(participation=participation).update(created_at=moment)


def request_of(made):
    return ApprovalRequest.objects.get(type_key="ib_commission", payload__settlement_id=made.pk)


@pytest.fixture
def in_prague(settings):
    """The firm in Prague (UTC+1 in winter) before any money moves: the books count their days
    in the firm's zone, and a zone changed afterwards would need `ledger rebuild-totals`."""
    settings.TIME_ZONE = "Europe/Prague"


def test_a_period_ends_at_midnight_in_the_firms_time_zone(in_prague, collected, admin):
    _top, first, second = collected
    made_at(first, datetime(2025, 11, 30, 22, 30, tzinfo=UTC))  # 23:30 on 30 November there
    made_at(second, datetime(2025, 11, 30, 23, 30, tzinfo=UTC))  # 00:30 on 1 December there
    [november] = settlement.settle("2025-11-01", "2025-11-30", admin)
    assert november.amount == D("49.90")
    assert november.commissions.get().participation == first
    [december] = settlement.settle("2025-12-01", "2025-12-31", admin)
    assert december.commissions.get().participation == second


def test_commission_a_rejected_settlement_gave_back_is_taken_by_the_next_period(collected, admin):
    top, first, second = collected
    made_at(first, datetime(2025, 10, 15, 12, 0, tzinfo=UTC))
    made_at(second, datetime(2025, 11, 15, 12, 0, tzinfo=UTC))
    [october] = settlement.settle("2025-10-01", "2025-10-31", admin)
    approvals.reject(request_of(october).pk, actor=admin, reason="Check the referral first")
    shown = dict(settlement.details(request_of(october)))  # not "(0 fees)": they left it
    assert shown["Commission"] == "49.90 USD (rejected: given back to be settled later)"
    [november] = settlement.settle("2025-11-01", "2025-11-30", admin)
    assert november.amount == D("99.80")  # October's, given back, and November's
    assert november.period_start.isoformat() == "2025-10-15"  # it says what it covers
    shown = dict(settlement.details(request_of(november)))
    assert shown["Period"] == "2025-10-15 to 2025-11-30"
    approvals.approve(request_of(november).pk, actor=admin)
    assert wallet_of(top) == D("99.80")
    assert settlement.settle("2025-10-01", "2025-10-31", admin) == []
    assert ledger.check() == []


@pytest.mark.parametrize(
    "change", [{"status": Client.Status.SUSPENDED}, {"kind": Client.Kind.TRADER}]
)
def test_an_ib_suspended_or_no_longer_an_ib_is_never_paid_automatically(
    collected, admin, set_method, change
):
    top, *_ = collected
    set_method("ib_commission", "automatic")
    Client.objects.filter(pk=top.pk).update(**change)
    [made] = settlement.settle(
        settlement.timezone.localdate(), settlement.timezone.localdate(), admin
    )
    request = request_of(made)
    assert request.status == "pending"  # a person decides
    assert wallet_of(top) == D("0.00")
    shown = dict(settlement.details(request))
    assert "no longer an active IB" in shown["IB status"]
    approvals.approve(request.pk, actor=admin)  # the reviewer may still pay what was earned
    assert wallet_of(top) == D("99.80")
    assert ledger.check() == []


def test_an_active_ib_is_paid_automatically_when_the_policy_says_so(collected, admin, set_method):
    top, *_ = collected
    set_method("ib_commission", "automatic")
    today = settlement.timezone.localdate()
    [made] = settlement.settle(today, today, admin)
    assert request_of(made).status == "approved"
    assert wallet_of(top) == D("99.80")
    assert "IB status" not in dict(settlement.details(request_of(made)))
