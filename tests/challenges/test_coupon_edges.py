"""Coupons at their edges: the API's quote follows the client's group like the purchase does,
a promotional link's coupon that cannot be used never blocks a purchase without it, a code's
revenue counts only fees actually paid, a start day reads right in the client's zone, an
abandoned checkout's code is free again before the sweep, and a purchase made free is
reviewed as such."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from propdesk.accounts import groups
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth import coupons
from propdesk.challenges.growth.models import Coupon, CouponUse
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import evidence
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import ValidationFailed
from propdesk.wallet import ledger
from tests.api.conftest import Api
from tests.challenges.factories import definition, fund, make_coupon
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def vip_challenge(admin, vip):
    made = catalogue.create(definition(name="VIP 100K", client_groups=["VIP"]), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


def quote(client, challenge, coupon="SPRING20"):
    api = Api()
    token = api.token(client.user.email, PASSWORD)
    return api.call("GET", f"/challenges/{challenge.pk}/quote?coupon={coupon}", token=token)


def test_the_api_quotes_a_group_challenge_for_the_groups_client(
    admin, active_client, vip, vip_challenge
):
    make_coupon(admin)
    groups.assign([active_client.pk], vip.pk, actor=admin)
    active_client.refresh_from_db()
    response = quote(active_client, vip_challenge)
    assert response.status_code == 200, response.content
    assert response.json()["net"] == "399.20"


def test_the_api_quote_of_another_groups_challenge_is_not_found(
    admin, active_client, vip_challenge
):
    make_coupon(admin)
    assert quote(active_client, vip_challenge).status_code == 404


@pytest.mark.parametrize("coupon", ["x" * 5000, "%F0%9F%92%B8", "A,B,C,D,E,F", "A,a"])
def test_the_api_quote_refuses_hostile_codes_with_422(admin, active_client, challenge, coupon):
    response = quote(active_client, challenge, coupon)
    assert response.status_code == 422
    assert "coupon" in response.json()["fields"]


# --- a promotional link's coupon in the portal -------------------------------------------------


def with_promo(client, code):
    http = logged_in(client.user)
    session = http.session
    session["promo_coupon"] = code
    session.save()
    return http


def test_a_promotional_coupon_for_another_challenge_is_not_filled_in(
    admin, finance, active_client, challenge
):
    other = catalogue.create(definition(name="1-Step 50K"), actor=admin)
    make_coupon(admin, challenges=[other.pk])
    fund(active_client, finance)
    http = with_promo(active_client, "SPRING20")
    page = http.get(f"/portal/challenges/{challenge.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'value="SPRING20"' not in text
    assert 'aria-invalid="true"' not in text
    assert "Start now: pay 499.00 USD" in text
    assert "The promotional code cannot be used here: SPRING20 is not for this challenge." in text
    # the form as the page rendered it buys at the full price
    done = post_form(
        http,
        f"/portal/challenges/{challenge.pk}/",
        {"payment": "wallet", "coupon": "", "idempotency_key": "p-9"},
    )
    assert done.status_code == 302
    assert Participation.objects.get().fee == D("499.00")
    assert ledger.check() == []


def test_a_promotional_coupon_used_up_is_not_filled_in(admin, active_client, challenge):
    make_coupon(admin)
    Coupon.objects.update(enabled=False)
    page = with_promo(active_client, "SPRING20").get(f"/portal/challenges/{challenge.pk}/")
    text = page.content.decode()
    assert 'value="SPRING20"' not in text
    assert "Start now: pay 499.00 USD" in text


def test_a_valid_promotional_coupon_is_still_filled_in(admin, active_client, challenge):
    make_coupon(admin)
    page = with_promo(active_client, "spring20").get(f"/portal/challenges/{challenge.pk}/")
    assert "Start now: pay 399.20 USD" in page.content.decode()


# --- usage ---------------------------------------------------------------------------------------


def test_a_codes_revenue_counts_only_fees_paid(admin, active_client, challenge, sandbox_card):
    coupon = make_coupon(admin)
    participation.start(
        active_client, challenge.pk, payment="direct", method=sandbox_card.pk, coupon="SPRING20"
    )
    figures = coupons.usage(Coupon.objects.get(pk=coupon.pk))
    assert figures["uses"] == 1  # reserved by the purchase waiting for its payment
    assert figures["discount"] == [("USD", D("99.80"))]
    assert figures["revenue"] == []  # nothing paid yet


# --- dates ---------------------------------------------------------------------------------------


def test_a_coupon_not_valid_yet_names_its_start_in_the_clients_own_zone(
    admin, active_client, challenge
):
    made = make_coupon(admin, valid_from=timezone.localdate() + timedelta(days=2))
    starts = timezone.localtime(made.valid_from, ZoneInfo("Asia/Tokyo"))
    assert starts.hour != 0  # the firm's midnight is another hour in Tokyo
    with timezone.override("Asia/Tokyo"), pytest.raises(ValidationFailed) as refused:
        coupons.quote(active_client, challenge.published(), "SPRING20")
    assert refused.value.fields["coupon"] == (
        f"SPRING20 is not valid yet: it starts on {starts:%Y-%m-%d} at {starts:%H:%M} (Asia/Tokyo)."
    )


# --- a lapsed checkout's reservation ------------------------------------------------------------


def test_a_lapsed_checkouts_code_is_free_again_for_a_wallet_purchase_before_the_sweep(
    admin, finance, active_client, challenge, sandbox_card
):
    make_coupon(admin, max_uses=1)
    abandoned = participation.start(
        active_client, challenge.pk, payment="direct", method=sandbox_card.pk, coupon="SPRING20"
    )
    Participation.objects.filter(pk=abandoned.pk).update(
        created_at=abandoned.created_at - timedelta(hours=25)
    )  # its checkout has closed; the sweep has not run yet
    fund(active_client, finance)
    paid = participation.start(active_client, challenge.pk, payment="wallet", coupon="SPRING20")
    abandoned.refresh_from_db()
    assert abandoned.status == Participation.Status.CANCELLED
    assert (paid.fee, paid.discount) == (D("399.20"), D("99.80"))
    assert Coupon.objects.get().uses == 1
    assert ledger.check() == []


def test_the_review_of_a_free_purchase_does_not_claim_a_ledger_entry(
    admin, active_client, challenge, set_method
):
    set_method("prop_participation", "manual")
    make_coupon(admin, code="FREE", value="100")
    participation.start(active_client, challenge.pk, payment="wallet", coupon="FREE")
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    fee = dict(participation.details(request))["Fee"]
    assert "in the ledger" not in fee
    assert fee.startswith("Nothing to pay: coupons took the whole fee")
    assert "price 499.00 less discount 499.00 (FREE) = 0.00 USD" in fee


def test_the_review_of_a_direct_purchase_made_free_names_no_payment_provider(
    admin, active_client, challenge, sandbox_card, set_method
):
    set_method("prop_participation", "manual")
    make_coupon(admin, code="FREE", value="100")
    participation.start(
        active_client, challenge.pk, payment="direct", method=sandbox_card.pk, coupon="FREE"
    )
    fee = evidence.fee_context(ApprovalRequest.objects.get(type_key="prop_participation"))["fee"]
    assert fee["how"] == "Nothing to pay: coupons took the whole fee"
    assert not fee["direct"]  # no provider payment to look for


# --- a stacked code with nothing left to take --------------------------------------------------


@pytest.mark.parametrize("typed", ["FREE100 TEN", "TEN FREE100"])
def test_a_stacked_code_that_adds_no_discount_is_refused_and_nothing_is_used(
    admin, finance, active_client, challenge, typed
):
    make_coupon(admin, code="FREE100", value="100", stackable=True)
    make_coupon(admin, code="TEN", kind="fixed", value="10", currency="USD", stackable=True)
    fund(active_client, finance)
    message = "TEN adds no discount here: the fee is already covered."
    with pytest.raises(ValidationFailed) as quoted:
        coupons.quote(active_client, challenge.published(), typed)
    assert quoted.value.fields == {"coupon": message}
    with pytest.raises(ValidationFailed) as bought:
        participation.start(active_client, challenge.pk, payment="wallet", coupon=typed)
    assert bought.value.fields == {"coupon": message}
    assert not Participation.objects.exists()
    assert not CouponUse.objects.exists()
    assert set(Coupon.objects.values_list("uses", flat=True)) == {0}
    assert ledger.balances(active_client)["USD"] == D("1000.00")
    assert ledger.check() == []


def test_the_code_that_covers_the_fee_alone_is_still_taken(admin, active_client, challenge):
    make_coupon(admin, code="FREE100", value="100", stackable=True)
    joined = participation.start(active_client, challenge.pk, payment="wallet", coupon="FREE100")
    assert (joined.fee, joined.discount) == (D("0.00"), D("499.00"))
    assert Coupon.objects.get().uses == 1
    assert ledger.check() == []


# --- what the portal says of a purchase made free ----------------------------------------------


@pytest.mark.parametrize("payment", ["direct", "wallet"])
def test_the_portal_says_a_coupon_covered_the_fee_not_that_the_wallet_paid(
    admin, active_client, challenge, sandbox_card, payment
):
    make_coupon(admin, code="FREE", value="100")
    http = logged_in(active_client.user)
    form = {"payment": payment, "coupon": "FREE", "idempotency_key": f"free-{payment}"}
    if payment == "direct":
        form["method"] = str(sandbox_card.pk)
    done = post_form(http, f"/portal/challenges/{challenge.pk}/", form)
    assert done.status_code == 302
    assert "checkout" not in done["Location"]
    text = http.get(done["Location"]).content.decode()
    assert "nothing to pay, your coupon covered the fee." in text
    assert "from your wallet" not in text
    assert ledger.balances(active_client).get("USD", D(0)) == D(0)
    assert ledger.check() == []


def test_the_portal_still_says_what_the_wallet_paid_with_a_coupon(
    admin, finance, active_client, challenge
):
    make_coupon(admin)
    fund(active_client, finance)
    http = logged_in(active_client.user)
    done = post_form(
        http,
        f"/portal/challenges/{challenge.pk}/",
        {"payment": "wallet", "coupon": "SPRING20", "idempotency_key": "paid-1"},
    )
    text = http.get(done["Location"]).content.decode()
    assert "399.20 USD was paid from your wallet (discount 99.80 USD)." in text
