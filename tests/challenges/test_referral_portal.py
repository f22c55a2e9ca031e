"""The portal's Referrals page and GET /api/v1/me/referrals: a client sees their code, their
link and their own downline at every level (name, status, challenges, fees paid, the commission
they earned from each), never anyone's email, phone or country, and never another's downline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.models import ApiToken
from propdesk.challenges.participation import services as participation
from tests.accounts.factories import referred
from tests.challenges.factories import commission, fund
from tests.conftest import logged_in
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(register, set_method):
    """ib -> sub (an IB) -> trader -> friend; all active."""
    set_method("trader_registration", "automatic")
    set_method("ib_registration", "automatic")
    ib = referred(register, kind="ib", name="Top IB", nationality="GB")
    sub = referred(register, ib, kind="ib", name="Sub IB")
    trader = referred(register, sub, name="Trader Three", phone="+420601999111")
    friend = referred(register, trader, name="Friend Four")
    return ib, sub, trader, friend


@pytest.fixture
def bought(family, finance, challenge):
    """The trader bought the challenge; the IB and the sub-IB earned commission on its fee."""
    ib, sub, trader, _friend = family
    fund(trader, finance)
    joined = participation.start(trader, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    commission(sub, joined, "49.90", level=1)
    commission(ib, joined, "14.97", level=2)
    return joined


def page_of(client):
    answer = logged_in(client.user).get("/portal/referrals/")
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_page_shows_the_code_and_the_full_link(family):
    ib, *_ = family
    text = page_of(ib)
    assert ib.referral_code in text
    assert f"http://testserver/portal/register/?ref={ib.referral_code}" in text
    assert "copy.js" in text


def test_the_portal_menu_has_the_referrals_page(family):
    ib, *_ = family
    assert 'href="/portal/referrals/"' in page_of(ib)


def test_the_downline_is_shown_at_every_level_with_challenges_fees_and_commission(
    family, bought, challenge
):
    ib, sub, trader, friend = family
    text = page_of(ib)
    assert f'data-member="{sub.pk}" data-depth="1"' in text
    assert f'data-member="{trader.pk}" data-depth="2"' in text
    assert f'data-member="{friend.pk}" data-depth="3"' in text
    assert "Trader Three" in text
    assert f"1: {challenge.name}" in text
    assert "499.00 USD" in text  # the fee the trader paid
    assert "14.97 USD" in text  # the IB's own commission, not the sub-IB's
    assert "49.90" not in text


def test_reversed_commission_is_not_counted(family, bought):
    ib, *_ = family
    bought.commissions.filter(ib=ib).update(status="reversed")
    assert "14.97" not in page_of(ib)


def test_the_page_shows_no_personal_details(family, bought):
    ib, sub, trader, friend = family
    text = page_of(ib)
    for member in (sub, trader, friend):
        assert member.user.email not in text
        assert member.phone not in text
    assert "Czech" not in text
    assert "KYC" not in text


def test_a_client_sees_only_their_own_downline(family, bought):
    _ib, sub, trader, friend = family
    text = page_of(trader)
    assert f'data-member="{friend.pk}"' in text
    assert f'data-member="{sub.pk}"' not in text
    assert f'data-member="{trader.pk}"' not in text
    assert "Top IB" not in text.split("<h2>Your downline</h2>")[1]


def test_a_client_without_referrals_is_told_so(family):
    *_, friend = family
    assert "Nobody has registered with your code yet." in page_of(friend)


def test_staff_have_no_portal_referrals_page(support):
    answer = logged_in(support).get("/portal/referrals/")
    assert answer.status_code in (302, 403)


def test_a_forged_cursor_shows_the_first_page(family):
    ib, sub, *_ = family
    answer = logged_in(ib.user).get("/portal/referrals/?after=forged.cursor")
    assert answer.status_code == 200
    assert f'data-member="{sub.pk}"' in answer.content.decode()


# --- The API -----------------------------------------------------------------------------------


def api_get(who, path):
    raw = ApiToken.objects.issue(getattr(who, "user", who), label="test", two_factor=True)[1]
    return HttpClient().get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_api_lists_the_downline_with_the_same_fields(family, bought, challenge):
    ib, sub, trader, friend = family
    answer = api_get(ib, "/api/v1/me/referrals")
    assert answer.status_code == 200
    body = answer.json()
    assert body["referral_code"] == ib.referral_code
    assert body["referral_link"].endswith(f"/portal/register/?ref={ib.referral_code}")
    assert [(m["id"], m["depth"]) for m in body["items"]] == [
        (sub.pk, 1),
        (trader.pk, 2),
        (friend.pk, 3),
    ]
    shown = body["items"][1]
    assert shown["name"] == "Trader Three"
    assert shown["status"] == "active"
    assert shown["challenge_count"] == 1
    assert shown["challenges"] == [challenge.name]
    assert shown["fees_paid"] == [{"currency": "USD", "amount": "499.00"}]
    assert shown["commission"] == [{"currency": "USD", "amount": "14.97"}]
    assert set(shown) == {
        "id", "name", "status", "depth", "challenge_count", "challenges", "fees_paid",
        "commission",
    }  # fmt: skip
    assert Decimal(shown["commission"][0]["amount"]) == Decimal("14.97")


def test_the_api_pages_by_cursor(family):
    ib, sub, trader, friend = family
    seen = []
    path = "/api/v1/me/referrals?limit=1"
    while path:
        body = api_get(ib, path).json()
        seen += [m["id"] for m in body["items"]]
        path = f"/api/v1/me/referrals?limit=1&after={body['next']}" if body["next"] else ""
    assert seen == [sub.pk, trader.pk, friend.pk]


def test_another_clients_cursor_is_refused(family):
    ib, sub, _trader, _friend = family
    cursor = api_get(ib, "/api/v1/me/referrals?limit=1").json()["next"]
    refused = api_get(sub, f"/api/v1/me/referrals?limit=1&after={cursor}")
    assert refused.status_code == 422
    assert "after" in refused.json()["fields"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=abc", "after=" + "x" * 300, "after=<script>",
              "offset=5"],
)  # fmt: skip
def test_bad_paging_is_refused(family, query):
    ib, *_ = family
    assert api_get(ib, f"/api/v1/me/referrals?{query}").status_code in (400, 422)


def test_staff_are_refused_the_clients_referrals(support):
    answer = api_get(support, "/api/v1/me/referrals")
    assert answer.status_code == 403
