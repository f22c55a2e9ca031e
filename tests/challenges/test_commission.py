"""IB commission on challenge fees: each IB of the buyer's upline gets their scheme's rate for
their level, on the fee actually paid, at once (instant) or collected (periodic); a refunded fee
takes it back, even from an IB who already withdrew it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from propdesk.accounts.models import Client
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.growth import commission
from propdesk.challenges.growth.models import Commission, CommissionScheme, IbTerms
from propdesk.challenges.participation import interventions, retries
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import Forbidden, NotFound, ValidationFailed
from propdesk.wallet import ledger, sandbox_payments, services
from propdesk.wallet.models import JournalEntry
from tests.challenges.commission_factories import buy, ib, scheme, trader, wallet_of
from tests.challenges.factories import failed_with_offers
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def tree(set_method, admin):
    """IB `top` ← IB `sub` ← trader `buyer`, on a default scheme of 10% then 3%."""
    scheme(admin, ["10", "3"])
    top = ib(set_method)
    sub = ib(set_method, referrer=top)
    buyer = trader(set_method, referrer=sub)
    return top, sub, buyer


def test_two_levels_earn_10_and_3_percent_of_the_discounted_fee_at_once(tree, challenge, finance):
    top, sub, buyer = tree
    bought = buy(buyer, challenge, finance, fee="399.20", discount="99.80")  # 20% off 499
    assert wallet_of(sub) == D("39.92")
    assert wallet_of(top) == D("11.97")  # 3% of 399.20 is 11.976: rounded down
    rows = {c.ib_id: c for c in Commission.objects.filter(participation=bought)}
    assert (rows[sub.pk].level, rows[sub.pk].rate, rows[sub.pk].base) == (1, D("10"), D("399.20"))
    assert (rows[top.pk].level, rows[top.pk].status) == (2, "credited")
    entry = rows[sub.pk].entry
    assert entry.type == JournalEntry.Type.IB_COMMISSION
    assert entry.client == sub
    assert sorted(p.amount for p in entry.postings.all()) == [D("-39.92"), D("39.92")]
    assert ledger.check() == []


def test_a_full_price_purchase_through_start_earns_on_its_fee(tree, challenge, finance):
    top, sub, buyer = tree
    buy(buyer, challenge, finance)  # 499.00 from the wallet
    assert (wallet_of(sub), wallet_of(top)) == (D("49.90"), D("14.97"))
    assert ledger.check() == []


def test_a_trader_referrer_earns_nothing_but_the_ib_above_gets_the_level_2_rate(
    set_method, admin, challenge, finance
):
    scheme(admin, ["10", "3"])
    top = ib(set_method)
    friend = trader(set_method, referrer=top)
    buyer = trader(set_method, referrer=friend)
    buy(buyer, challenge, finance)
    assert not Commission.objects.filter(ib=friend).exists()
    assert Commission.objects.get(ib=top).amount == D("14.97")
    assert ledger.check() == []


def test_a_suspended_ib_earns_nothing(tree, challenge, finance):
    top, sub, buyer = tree
    Client.objects.filter(pk=sub.pk).update(status=Client.Status.SUSPENDED)
    buy(buyer, challenge, finance)
    assert not Commission.objects.filter(ib=sub).exists()
    assert Commission.objects.get(ib=top).level == 2


def test_without_a_default_scheme_or_terms_nobody_earns(set_method, challenge, finance, admin):
    top = ib(set_method)
    buyer = trader(set_method, referrer=top)
    buy(buyer, challenge, finance)
    assert not Commission.objects.exists()


def test_an_ibs_own_scheme_decides_their_rate_and_depth(tree, challenge, finance, admin):
    top, sub, buyer = tree
    own = scheme(admin, ["5"], default=False, name="Only direct")
    commission.set_scheme(top.pk, own.pk, actor=admin)  # level 1 only: nothing at level 2
    commission.set_scheme(sub.pk, own.pk, actor=admin)
    buy(buyer, challenge, finance)
    assert Commission.objects.get(ib=sub).amount == D("24.95")
    assert not Commission.objects.filter(ib=top).exists()
    commission.set_scheme(top.pk, "", actor=admin)
    assert not IbTerms.objects.filter(client=top).exists()


def test_a_loop_in_the_tree_ends_the_walk(set_method, admin, challenge, finance):
    scheme(admin, ["10", "3", "1"])
    first = ib(set_method)
    second = ib(set_method, referrer=first)
    Client.objects.filter(pk=first.pk).update(referrer=second)
    buyer = trader(set_method, referrer=second)
    buy(buyer, challenge, finance)
    assert sorted(Commission.objects.values_list("level", flat=True)) == [1, 2]


def test_earning_again_creates_nothing_twice(tree, challenge, finance):
    _top, sub, buyer = tree
    bought = buy(buyer, challenge, finance)
    with transaction.atomic():
        assert commission.earn(bought) == []
    assert Commission.objects.count() == 2
    assert wallet_of(sub) == D("49.90")


def test_a_periodic_scheme_collects_without_paying(set_method, admin, challenge, finance):
    scheme(admin, ["10"], settlement="periodic")
    top = ib(set_method)
    buyer = trader(set_method, referrer=top)
    buy(buyer, challenge, finance)
    row = Commission.objects.get()
    assert (row.status, row.amount, row.entry) == ("accrued", D("49.90"), None)
    assert wallet_of(top) == D("0.00")


def test_a_tiny_fee_whose_share_rounds_to_nothing_makes_no_row(tree, challenge, finance):
    _top, sub, buyer = tree
    buy(buyer, challenge, finance, fee="0.20", discount="498.80")  # 3% is 0.006
    assert list(Commission.objects.values_list("ib_id", flat=True)) == [sub.pk]


def _reject(bought, admin):
    request = ApprovalRequest.objects.get(
        type_key="prop_participation", payload__participation_id=bought.pk
    )
    approvals.reject(request.pk, actor=admin, reason="Not eligible")


def test_a_rejected_participation_reverses_its_commission(
    tree, challenge, finance, admin, set_method
):
    top, sub, buyer = tree
    set_method("prop_participation", "manual")
    bought = buy(buyer, challenge, finance)
    _reject(bought, admin)
    assert (wallet_of(sub), wallet_of(top), wallet_of(buyer)) == (D(0), D(0), D("1000.00"))
    for row in Commission.objects.all():
        assert row.status == "reversed"
        assert row.reversal_entry.reverses == row.entry
    assert ledger.check() == []


def test_staff_cancelling_with_a_refund_reverses_the_commission(tree, challenge, finance, admin):
    top, sub, buyer = tree
    bought = buy(buyer, challenge, finance)
    interventions.cancel(bought.pk, actor=admin, reason="Duplicate purchase", refund=True)
    assert (wallet_of(sub), wallet_of(top)) == (D(0), D(0))
    assert set(Commission.objects.values_list("status", flat=True)) == {"reversed"}
    assert ledger.check() == []


def test_cancelling_without_a_refund_keeps_the_commission(tree, challenge, finance, admin):
    _top, _sub, buyer = tree
    bought = buy(buyer, challenge, finance)
    interventions.cancel(bought.pk, actor=admin, reason="Breach of terms")
    assert set(Commission.objects.values_list("status", flat=True)) == {"credited"}


def test_a_refund_goes_through_when_the_ib_withdrew_everything_and_the_rest_is_owed(
    tree, challenge, finance, admin, set_method
):
    _top, sub, buyer = tree
    set_method("prop_participation", "manual")
    bought = buy(buyer, challenge, finance)
    services.adjust(
        sub.pk,
        direction="debit",
        amount="49.40",
        currency="USD",
        comment="Paid out",
        actor=finance,
    )  # 0.50 left of 49.90
    _reject(bought, admin)
    assert wallet_of(buyer) == D("1000.00")  # the refund went through
    assert wallet_of(sub) == D("0.00")
    assert commission.owed(sub, "USD") == D("49.40")
    assert Commission.objects.get(ib=sub).status == "reversed"
    # The next commission pays the debt first: 49.90 earned, 49.40 kept, 0.50 paid.
    again = trader(set_method, referrer=sub)
    set_method("prop_participation", "automatic")
    buy(again, challenge, finance)
    assert wallet_of(sub) == D("0.50")
    assert commission.owed(sub, "USD") == D("0.00")
    assert ledger.check() == []


def test_schemes_are_checked(admin):
    bad = [
        ([], "rates"),
        (["0"], "rates"),
        (["101"], "rates"),
        (["-1"], "rates"),
        (["60", "50"], "rates"),
        (["1"] * 11, "rates"),
        (["abc"], "rates"),
        (["1.00001"], "rates"),
        ([1.5], "rates"),
        (["1e3"], "rates"),
        ("x" * 10_000, "rates"),
        (None, "rates"),
    ]
    for rates, field in bad:
        with pytest.raises(ValidationFailed) as caught:
            commission.save_scheme(None, name="S", rates=rates, settlement="instant", actor=admin)
        assert field in caught.value.fields, rates
    for name in ("", "x" * 61, "a\x00b", None):
        with pytest.raises(ValidationFailed):
            commission.save_scheme(None, name=name, rates=["1"], settlement="instant", actor=admin)
    with pytest.raises(ValidationFailed):
        commission.save_scheme(None, name="S", rates=["1"], settlement="weekly", actor=admin)
    assert not CommissionScheme.objects.exists()


def test_one_scheme_is_the_default_and_names_are_unique(admin):
    first = scheme(admin, ["10"], name="A")
    second = scheme(admin, ["5", "2.5"], name="B")
    first.refresh_from_db()
    assert (first.is_default, second.is_default, second.rates) == (False, True, ["5", "2.5"])
    with pytest.raises(ValidationFailed):
        scheme(admin, ["1"], name="a")
    edited = commission.save_scheme(
        first.pk, name="A", rates="12, 4", settlement="periodic", is_default=False, actor=admin
    )
    assert (edited.rates, edited.settlement) == (["12", "4"], "periodic")
    with pytest.raises(NotFound):
        commission.save_scheme(999, name="Z", rates=["1"], settlement="instant", actor=admin)


def test_staff_without_the_permission_are_refused(support, set_method, admin):
    with pytest.raises(Forbidden):
        commission.save_scheme(None, name="S", rates=["1"], settlement="instant", actor=support)
    someone = ib(set_method)
    own = scheme(admin, ["1"])
    with pytest.raises(Forbidden):
        commission.set_scheme(someone.pk, own.pk, actor=support)


def test_only_an_ib_gets_a_scheme(set_method, admin):
    own = scheme(admin, ["1"])
    someone = trader(set_method)
    with pytest.raises(NotFound):
        commission.set_scheme(someone.pk, own.pk, actor=admin)
    with pytest.raises(ValidationFailed):
        commission.set_scheme(ib(set_method).pk, "nope", actor=admin)


def test_a_paid_retry_earns_commission_on_its_fee(set_method, admin, finance):
    scheme(admin, ["10"])
    top = ib(set_method)
    buyer = trader(set_method, referrer=top)
    failed, _ = failed_with_offers(buyer, finance, admin)  # 499 paid: 49.90 earned
    again = retries.retry(buyer, failed.pk)  # the retry's 99
    assert Commission.objects.get(participation=again).amount == D("9.90")
    assert wallet_of(top) == D("59.80")
    assert ledger.check() == []


def test_a_direct_purchase_earns_when_the_provider_confirms_the_payment_once(
    tree, challenge, sandbox_card
):
    top, sub, buyer = tree
    joined = participation.start(buyer, challenge.pk, payment="direct", method=sandbox_card.pk)
    assert not Commission.objects.exists()  # nothing paid yet
    found = sandbox_payments.checkout(joined.checkout_token)
    event = sandbox_payments.event_for(found, paid=True)
    assert deliver(event).json()["outcome"] == "paid"
    assert deliver(event).json()["outcome"] == "duplicate"
    assert (wallet_of(sub), wallet_of(top)) == (D("49.90"), D("14.97"))
    assert Commission.objects.count() == 2
    assert ledger.check() == []
