"""What an IB sees of their commission: the portal's Referrals page tells paid from waiting and
names what they owe after a refund reversed commission they had withdrawn; their wallet shows
each payment as an *IB Commission* line with a memo they can read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils.html import strip_tags

from propdesk.challenges.growth import commission
from propdesk.challenges.participation import interventions
from propdesk.wallet import ledger, services
from tests.challenges.commission_factories import buy, ib, scheme, trader, wallet_of
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
D = Decimal


def referrals_page(client):
    answer = logged_in(client.user).get("/portal/referrals/")
    assert answer.status_code == 200
    return " ".join(strip_tags(answer.content.decode()).split())  # the words, as read


def test_the_referrals_page_tells_paid_commission_from_commission_waiting_for_settlement(
    set_method, admin, challenge, finance
):
    instant = scheme(admin, ["10"], name="Instant")
    periodic = scheme(admin, ["10"], settlement="periodic", default=False, name="Monthly")
    top = ib(set_method)
    buy(trader(set_method, referrer=top), challenge, finance)  # 49.90 paid at once
    commission.set_scheme(top.pk, periodic.pk, actor=admin)
    buy(trader(set_method, referrer=top), challenge, finance)  # 49.90 waiting
    assert instant.is_default
    text = referrals_page(top)
    assert "99.80 USD" in text  # earned in all
    assert "49.90 USD paid to your wallet" in text
    assert "49.90 USD waiting for settlement" in text


def test_an_ib_who_owes_reversed_commission_is_told_on_the_referrals_page(
    set_method, admin, challenge, finance
):
    scheme(admin, ["10"])
    top = ib(set_method)
    bought = buy(trader(set_method, referrer=top), challenge, finance)
    services.adjust(
        top.pk, direction="debit", amount="49.90", currency="USD", comment="Paid out", actor=finance
    )
    interventions.cancel(bought.pk, actor=admin, reason="Chargeback", refund=True)
    assert commission.owed(top, "USD") == D("49.90")
    text = referrals_page(top)
    assert "You owe 49.90 USD" in text
    assert "kept from your next commission" in text
    assert ledger.check() == []


def test_the_ibs_wallet_shows_an_ib_commission_line_with_a_readable_memo(
    set_method, admin, challenge, finance
):
    scheme(admin, ["10"])
    top = ib(set_method)
    buy(trader(set_method, referrer=top), challenge, finance)
    [line] = services.wallet_lines(top)
    assert (line["type_label"], line["amount"]) == ("IB Commission", D("49.90"))
    assert "IB commission" in line["memo"]
    answer = logged_in(top.user).get("/portal/wallet/")
    assert answer.status_code == 200
    assert "IB Commission" in answer.content.decode()
    assert wallet_of(top) == D("49.90")


def test_ibs_on_different_schemes_never_share_more_than_the_fee(
    set_method, admin, challenge, finance
):
    """Each scheme adds up to at most 100%, but two IBs on two schemes could take 95% + 10%:
    the upper level gets what is left of the fee, never more."""
    scheme(admin, ["10", "10"], name="Default")
    generous = scheme(admin, ["95"], default=False, name="Generous")
    top = ib(set_method)
    sub = ib(set_method, referrer=top)
    commission.set_scheme(sub.pk, generous.pk, actor=admin)
    buy(trader(set_method, referrer=sub), challenge, finance)  # 499.00
    assert wallet_of(sub) == D("474.05")  # 95%
    assert wallet_of(top) == D("24.95")  # 10% would be 49.90: only 24.95 of the fee is left
    assert ledger.check() == []
