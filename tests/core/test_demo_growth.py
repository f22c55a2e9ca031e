"""The demo firm's growth: a VIP group with rules, a client in it and a challenge only VIP
clients are offered; the default commission scheme; Ivan's referral tree two levels deep, with
commission earned at both levels on the fees actually paid (one with the WELCOME20 coupon); the
coupon and the "spring" promotional link, which the demo's banner prints."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.accounts import referrals
from propdesk.accounts.models import Client, ClientGroup, GroupRule
from propdesk.challenges.catalogue import offering
from propdesk.challenges.growth.models import Commission, CommissionScheme, Coupon, PromoLink
from propdesk.challenges.models import Challenge, Participation
from propdesk.core.errors import NotFound
from propdesk.demo import seed_demo
from propdesk.demo_growth import banner
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry

pytestmark = pytest.mark.django_db
D = Decimal


def client(email: str) -> Client:
    return Client.objects.get(user__email=email)


def test_the_demo_has_a_vip_group_whose_challenge_only_its_clients_are_offered():
    seed_demo()
    vip = ClientGroup.objects.get(name="VIP")
    assert set(GroupRule.objects.filter(group=vip).values_list("kind", "value")) == {
        ("country", "AE"),
        ("country", "CH"),
    }
    lena, alice = client("lena@example.com"), client("alice@example.com")
    assert lena.group == vip
    assert alice.group is not None
    assert alice.group.is_default
    exclusive = Challenge.objects.get(name="VIP Instant Funding 100K")
    assert offering.offered_to(exclusive.pk, lena).definition["client_groups"] == ["VIP"]
    with pytest.raises(NotFound):
        offering.offered_to(exclusive.pk, alice)


def test_ivans_tree_earned_commission_at_both_levels_on_the_fees_paid():
    seed_demo()
    ivan, sven = client("ivan@example.com"), client("sven@example.com")
    uma, vera = client("uma@example.com"), client("vera@example.com")
    scheme = CommissionScheme.objects.get(is_default=True)
    assert (scheme.name, scheme.rates, scheme.settlement) == ("Standard IB", ["10", "3"], "instant")
    assert (sven.kind, sven.status, sven.referrer, sven.referral_code) == (
        "ib",
        "active",
        ivan,
        "SVEN2026",
    )
    assert (uma.referrer, vera.referrer) == (ivan, sven)
    # Ivan's downline: Sven, Uma and the pending traders who typed IVAN2026; Vera at level 2.
    assert referrals.downline_count(ivan) >= 5
    umas = Participation.objects.get(client=uma)
    assert (umas.fee, umas.discount, umas.status) == (D("399.20"), D("99.80"), "active")
    assert "(WELCOME20)" in umas.fee_entry.memo
    earned = sorted(Commission.objects.values_list("ib__user__email", "level", "amount", "status"))
    assert earned == [
        ("ivan@example.com", 1, D("39.92"), "credited"),
        ("ivan@example.com", 2, D("0.57"), "credited"),
        ("sven@example.com", 1, D("1.90"), "credited"),
    ]
    assert JournalEntry.objects.filter(type="ib_commission").count() == 3
    assert ledger.balances(sven)["USD"] == D("1.90")
    assert ledger.check() == []


def test_the_demo_has_the_welcome_coupon_and_the_spring_link_and_prints_them():
    seed_demo()
    coupon = Coupon.objects.get(code="WELCOME20")
    assert (coupon.kind, coupon.value, coupon.uses, coupon.enabled) == ("percent", D("20"), 1, True)
    link = PromoLink.objects.get(code="spring")
    assert link.landing == "register"
    assert link.coupon == coupon
    assert link.referrer == client("ivan@example.com")
    printed = "\n".join(banner("http://127.0.0.1:8000"))
    assert "WELCOME20" in printed
    assert "http://127.0.0.1:8000/go/spring/" in printed
