"""Periodic settlement of IB commission: a period's collected commission of each IB becomes one
settlement and one `ib_commission` request; approving pays it once, rejecting returns it to be
settled later; a refund reaches commission waiting in or paid by a settlement."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from propdesk import cli
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.growth import commission, settlement
from propdesk.challenges.growth.models import Commission, CommissionSettlement
from propdesk.challenges.participation import interventions
from propdesk.core.errors import Forbidden, ValidationFailed
from propdesk.wallet import ledger, services
from propdesk.wallet.models import JournalEntry
from tests.challenges.commission_factories import buy, ib, scheme, trader, wallet_of
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def periodic(set_method, admin, challenge, finance):
    """IB `top` ← IB `sub` ← two purchases by `buyer`, collected on a 10%/3% periodic scheme."""
    scheme(admin, ["10", "3"], settlement="periodic")
    top = ib(set_method)
    sub = ib(set_method, referrer=top)
    buyer = trader(set_method, referrer=sub)
    first = buy(buyer, challenge, finance)
    second = buy(buyer, challenge, finance, fee="399.20", discount="99.80")
    return top, sub, buyer, first, second


def today():
    return timezone.localdate()


def request_of(made):
    return ApprovalRequest.objects.get(type_key="ib_commission", payload__settlement_id=made.pk)


def test_settling_a_period_makes_one_settlement_per_ib_awaiting_approval(periodic, admin):
    top, sub, *_ = periodic
    made = settlement.settle(today(), today(), admin)
    amounts = {s.ib_id: s.amount for s in made}
    assert amounts == {sub.pk: D("89.82"), top.pk: D("26.94")}  # 49.90+39.92, 14.97+11.97
    assert set(Commission.objects.values_list("status", flat=True)) == {"settling"}
    assert request_of(made[0]).status == "pending"
    assert wallet_of(sub) == D("0.00")


def test_an_approved_settlement_pays_the_ib_once(periodic, admin):
    top, sub, *_ = periodic
    made = {s.ib_id: s for s in settlement.settle(today(), today(), admin)}
    approvals.approve(request_of(made[sub.pk]).pk, actor=admin)
    paid = CommissionSettlement.objects.get(pk=made[sub.pk].pk)
    assert paid.status == "paid"
    assert paid.entry.type == JournalEntry.Type.IB_COMMISSION
    assert wallet_of(sub) == D("89.82")
    assert set(Commission.objects.filter(ib=sub).values_list("status", flat=True)) == {"settled"}
    assert set(Commission.objects.filter(ib=top).values_list("status", flat=True)) == {"settling"}
    assert ledger.check() == []


def test_a_rejected_settlement_returns_its_commission_for_a_later_one(periodic, admin):
    _top, sub, *_ = periodic
    made = {s.ib_id: s for s in settlement.settle(today(), today(), admin)}
    approvals.reject(request_of(made[sub.pk]).pk, actor=admin, reason="Check the referrals")
    assert CommissionSettlement.objects.get(pk=made[sub.pk].pk).status == "rejected"
    assert set(Commission.objects.filter(ib=sub).values_list("status", flat=True)) == {"accrued"}
    assert wallet_of(sub) == D("0.00")
    again = settlement.settle(today(), today(), admin)
    assert [(s.ib_id, s.amount) for s in again] == [(sub.pk, D("89.82"))]


def test_settling_the_same_period_twice_pays_once(periodic, admin):
    top, sub, *_ = periodic
    made = settlement.settle(today(), today(), admin)
    assert settlement.settle(today(), today(), admin) == []
    for one in made:
        approvals.approve(request_of(one).pk, actor=admin)
    assert settlement.settle(today() - timedelta(days=30), today(), admin) == []
    assert (wallet_of(sub), wallet_of(top)) == (D("89.82"), D("26.94"))
    assert CommissionSettlement.objects.count() == 2
    assert ledger.check() == []


def test_a_period_without_the_commission_settles_nothing(periodic, admin):
    yesterday = today() - timedelta(days=1)
    assert settlement.settle(yesterday - timedelta(days=6), yesterday, admin) == []
    assert not CommissionSettlement.objects.exists()


def test_a_refund_takes_commission_out_of_its_pending_settlement(periodic, admin):
    _top, sub, _buyer, first, _second = periodic
    made = {s.ib_id: s for s in settlement.settle(today(), today(), admin)}
    interventions.cancel(first.pk, actor=admin, reason="Refunded", refund=True)
    lowered = CommissionSettlement.objects.get(pk=made[sub.pk].pk)
    assert lowered.amount == D("39.92")
    approvals.approve(request_of(lowered).pk, actor=admin)
    assert wallet_of(sub) == D("39.92")
    assert Commission.objects.get(ib=sub, participation=first).status == "reversed"
    assert ledger.check() == []


def test_a_refund_after_the_settlement_was_paid_takes_it_back(periodic, admin, finance):
    _top, sub, buyer, first, _second = periodic
    made = {s.ib_id: s for s in settlement.settle(today(), today(), admin)}
    approvals.approve(request_of(made[sub.pk]).pk, actor=admin)
    services.adjust(
        sub.pk,
        direction="debit",
        amount="89.82",
        currency="USD",
        comment="Paid out",
        actor=finance,
    )  # all withdrawn
    interventions.cancel(first.pk, actor=admin, reason="Refunded", refund=True)
    row = Commission.objects.get(ib=sub, participation=first)
    assert row.status == "reversed"
    assert row.reversal_entry.type == JournalEntry.Type.IB_COMMISSION
    assert wallet_of(buyer) == D("1000.00") + D("1000.00") - D("399.20")
    assert commission.owed(sub, "USD") == D("49.90")
    assert ledger.check() == []


def test_the_period_is_checked(admin):
    for start, end in [
        ("2026-13-01", "2026-12-01"),
        ("", "2026-01-01"),
        (None, None),
        ("2026-01-02", "2026-01-01"),
        ("2024-01-01", "2026-01-01"),
        ("x" * 1000, "2026-01-01"),
        (today(), today() + timedelta(days=1)),
    ]:
        with pytest.raises(ValidationFailed):
            settlement.settle(start, end, admin)


def test_staff_without_the_permission_cannot_settle_or_approve(periodic, admin, support):
    with pytest.raises(Forbidden):
        settlement.settle(today(), today(), support)
    made = settlement.settle(today(), today(), admin)
    with pytest.raises(Forbidden):
        approvals.approve(request_of(made[0]).pk, actor=support)


def test_the_cli_settles_a_period_once(periodic, capsys):
    day = today().isoformat()
    assert cli.main(["commission", "settle", "--from", day, "--to", day]) == 0
    assert "2 settlement(s) submitted" in capsys.readouterr().out
    assert cli.main(["commission", "settle", "--from", day, "--to", day]) == 0
    assert "nothing to settle" in capsys.readouterr().out
    assert cli.main(["commission", "settle", "--from", "2026-02-30", "--to", day]) == 2
    assert "period_start" in capsys.readouterr().err
    assert CommissionSettlement.objects.count() == 2


def test_the_reviewer_sees_the_ib_and_the_amount(periodic, admin):
    _, sub, *_ = periodic
    made = {s.ib_id: s for s in settlement.settle(today(), today(), admin)}
    request = request_of(made[sub.pk])
    shown = dict(settlement.details(request))
    assert shown["IB"] == f"{sub.user.name} <{sub.user.email}>"
    assert shown["Commission"] == "89.82 USD (2 fees)"
    assert "Owed by the IB" not in shown
    page = logged_in(admin).get(f"/backoffice/approvals/{request.pk}/")
    assert page.status_code == 200
    assert "89.82 USD" in page.content.decode()


def test_a_period_holds_at_most_366_days_both_ends_counted():
    end = date(2026, 11, 30)
    assert settlement.period(end - timedelta(days=365), end) == (end - timedelta(days=365), end)
    with pytest.raises(ValidationFailed) as refused:
        settlement.period(end - timedelta(days=366), end)  # 367 days
    assert "period_start" in refused.value.fields
