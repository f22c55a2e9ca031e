"""Buying a challenge with coupons: the fee paid is the net, the fee entry says gross, discount
and net, the uses are counted (and given back when the purchase is never paid), a refused code
charges and uses nothing; in the portal (Apply shows the price) and the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.html import escape

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.growth.models import Coupon, CouponUse
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import evidence
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import ValidationFailed
from propdesk.jobs import housekeeping
from propdesk.wallet import ledger, sandbox_payments
from propdesk.wallet.models import JournalEntry
from tests.api.conftest import Api
from tests.challenges.factories import fund, make_coupon
from tests.conftest import PASSWORD, logged_in, post_form
from tests.support import carry_out_platform_commands
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db
D = Decimal


def buy(client, challenge, coupon, **more):
    return participation.start(client, challenge.pk, payment="wallet", coupon=coupon, **more)


def test_a_coupon_lowers_the_fee_and_the_fee_entry_says_gross_discount_and_net(
    admin, finance, active_client, challenge
):
    make_coupon(admin, value="20")
    fund(active_client, finance)
    joined = buy(active_client, challenge, "spring20")
    assert (joined.fee, joined.discount, joined.gross_fee) == (D("399.20"), D("99.80"), D("499.00"))
    entry = joined.fee_entry
    assert entry.type == JournalEntry.Type.PROP_TRADING_FEE
    assert "499.00 less discount 99.80 (SPRING20) = 399.20 USD" in entry.memo
    assert ledger.balances(active_client)["USD"] == D("600.80")
    use = CouponUse.objects.get()
    assert (use.participation, use.client, use.discount) == (joined, active_client, D("99.80"))
    assert Coupon.objects.get().uses == 1
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    fee_line = dict(participation.details(request))["Fee"]
    assert fee_line.endswith("; price 499.00 less discount 99.80 (SPRING20) = 399.20 USD")
    assert ledger.check() == []


def test_the_clients_fee_line_says_gross_discount_and_net_in_their_language(
    admin, finance, active_client, challenge
):
    from propdesk.accounts.models import User
    from propdesk.wallet.services import client_memo

    make_coupon(admin, value="20")
    make_coupon(admin, code="AGAIN20", value="20")
    fund(active_client, finance)
    english = buy(active_client, challenge, "spring20")
    assert client_memo(english.fee_entry).endswith(
        ": 499.00 less discount 99.80 (SPRING20) = 399.20 USD"
    )
    User.objects.filter(pk=active_client.user_id).update(language="es")
    active_client.user.refresh_from_db()
    fund(active_client, finance)
    spanish = buy(active_client, challenge, "again20", idempotency_key="second")
    assert client_memo(spanish.fee_entry).endswith(
        ": 499,00 menos descuento de 99,80 (AGAIN20) = 399,20 USD"
    )
    assert "499.00 less discount 99.80 (AGAIN20)" in spanish.fee_entry.memo  # the firm's, English


def test_stacked_codes_are_each_recorded(admin, finance, active_client, challenge):
    make_coupon(admin, code="PCT10", value="10", stackable=True)
    make_coupon(admin, code="TENOFF", kind="fixed", value="10", currency="USD", stackable=True)
    fund(active_client, finance)
    joined = buy(active_client, challenge, "TENOFF PCT10")
    assert (joined.fee, joined.discount) == (D("439.10"), D("59.90"))
    assert sorted(CouponUse.objects.values_list("coupon__code", "discount")) == [
        ("PCT10", D("49.90")),
        ("TENOFF", D("10.00")),
    ]
    assert "(PCT10, TENOFF)" in joined.fee_entry.memo or "(TENOFF, PCT10)" in joined.fee_entry.memo
    assert ledger.check() == []


def test_a_refused_code_charges_and_uses_nothing(admin, finance, active_client, challenge):
    make_coupon(admin, max_uses=1)
    Coupon.objects.update(uses=1)
    fund(active_client, finance)
    with pytest.raises(ValidationFailed) as refused:
        buy(active_client, challenge, "SPRING20")
    assert refused.value.fields == {"coupon": "SPRING20 has been used up."}
    assert not Participation.objects.exists()
    assert not CouponUse.objects.exists()
    assert ledger.balances(active_client)["USD"] == D("1000.00")
    assert ledger.check() == []


def test_a_client_uses_a_code_no_more_than_allowed(admin, finance, active_client, challenge):
    make_coupon(admin, max_uses_per_client=2)
    fund(active_client, finance, "2000.00")
    buy(active_client, challenge, "SPRING20")
    buy(active_client, challenge, "SPRING20")
    with pytest.raises(ValidationFailed) as refused:
        buy(active_client, challenge, "SPRING20")
    assert refused.value.fields["coupon"] == "You have already used SPRING20."
    assert Participation.objects.count() == 2
    assert ledger.check() == []


def test_a_total_limit_stops_the_code_for_everyone(
    admin, finance, active_client, challenge, register, set_method
):
    make_coupon(admin, max_uses=1)
    fund(active_client, finance)
    buy(active_client, challenge, "SPRING20")
    other, _ = register(email="second@example.test")
    other.kyc_status = "approved"
    other.save(update_fields=["kyc_status"])
    with pytest.raises(ValidationFailed) as refused:
        buy(other, challenge, "SPRING20")
    assert refused.value.fields["coupon"] == "SPRING20 has been used up."


def test_a_whole_fee_taken_by_a_coupon_posts_no_entry_and_still_asks_for_approval(
    admin, active_client, challenge, set_method
):
    set_method("prop_participation", "manual")
    make_coupon(admin, code="FREE", value="100")
    joined = buy(active_client, challenge, "FREE")  # an empty wallet is enough
    assert (joined.fee, joined.discount, joined.fee_entry) == (D("0.00"), D("499.00"), None)
    assert joined.status == "pending_approval"
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    shown = evidence.fee_context(request)["fee"]["status"]
    assert shown == "Nothing to pay: coupons took the whole fee"
    approvals.reject(request.pk, actor=admin, reason="Not this time")
    joined.refresh_from_db()
    assert (joined.status, joined.refund_entry) == ("rejected", None)
    assert Coupon.objects.get().uses == 1  # used: a refused purchase keeps its use
    assert ledger.check() == []


def test_a_whole_fee_taken_on_a_direct_purchase_skips_the_checkout(
    admin, active_client, challenge, sandbox_card
):
    make_coupon(admin, code="FREE", value="100")
    joined = participation.start(
        active_client, challenge.pk, payment="direct", method=sandbox_card.pk, coupon="FREE"
    )
    assert joined.status in ("pending_approval", "active")
    assert joined.fee_entry is None
    carry_out_platform_commands()
    assert ledger.check() == []


def test_a_rejected_purchase_refunds_the_net_and_keeps_the_use(
    admin, finance, active_client, challenge, set_method
):
    set_method("prop_participation", "manual")
    make_coupon(admin)
    fund(active_client, finance)
    buy(active_client, challenge, "SPRING20")
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    approvals.reject(request.pk, actor=admin, reason="Duplicate account")
    assert ledger.balances(active_client)["USD"] == D("1000.00")
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (1, 1)
    assert ledger.check() == []


def direct(client, challenge, card, coupon="SPRING20"):
    return participation.start(
        client, challenge.pk, payment="direct", method=card.pk, coupon=coupon
    )


def test_a_direct_purchase_reserves_the_use_and_pays_the_net(
    admin, active_client, challenge, sandbox_card
):
    make_coupon(admin)
    joined = direct(active_client, challenge, sandbox_card)
    assert Coupon.objects.get().uses == 1
    found = sandbox_payments.checkout(joined.checkout_token)
    assert found.amount == D("399.20")
    assert deliver(sandbox_payments.event_for(found, paid=True)).json()["outcome"] == "paid"
    joined.refresh_from_db()
    assert joined.fee_entry.postings.get(client__isnull=True).amount == D("399.20")
    assert ledger.check() == []


def test_a_lapsed_direct_purchase_gives_the_use_back(admin, active_client, challenge, sandbox_card):
    make_coupon(admin, max_uses=1)
    joined = direct(active_client, challenge, sandbox_card)
    Participation.objects.filter(pk=joined.pk).update(
        created_at=joined.created_at - timedelta(hours=25)
    )
    housekeeping.run_due(force=True)
    joined.refresh_from_db()
    assert joined.status == "cancelled"
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (0, 0)
    assert direct(active_client, challenge, sandbox_card).discount == D("99.80")


def test_a_cancelled_checkout_gives_the_use_back(admin, active_client, challenge, sandbox_card):
    make_coupon(admin, max_uses=1)
    joined = direct(active_client, challenge, sandbox_card)
    found = sandbox_payments.checkout(joined.checkout_token)
    deliver(sandbox_payments.event_for(found, paid=False))
    joined.refresh_from_db()
    assert joined.status == "cancelled"
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (0, 0)


def test_a_retried_request_returns_the_first_purchase_and_uses_the_code_once(
    admin, finance, active_client, challenge
):
    make_coupon(admin, max_uses_per_client=5)
    fund(active_client, finance)
    first = buy(active_client, challenge, "SPRING20", idempotency_key="k-1")
    again = buy(active_client, challenge, "spring20", idempotency_key="k-1")
    assert again.pk == first.pk
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (1, 1)
    with pytest.raises(Exception) as reused:  # the key reused for a purchase without the code
        buy(active_client, challenge, None, idempotency_key="k-1")
    assert getattr(reused.value, "status", None) in (409, 422)
    assert ledger.check() == []


# --- the portal -------------------------------------------------------------------------------


def test_apply_shows_the_discounted_price_without_buying(admin, active_client, challenge):
    make_coupon(admin)
    http = logged_in(active_client.user)
    page = post_form(
        http,
        f"/portal/challenges/{challenge.pk}/",
        {"payment": "wallet", "coupon": "spring20", "idempotency_key": "p-1", "preview": "1"},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-price="gross">499.00 USD' in text
    assert 'data-price="net"><strong>399.20 USD' in text
    assert "Start now: pay 399.20 USD" in text
    assert not Participation.objects.exists()
    assert Coupon.objects.get().uses == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("NOPE", "NOPE is not a valid coupon code."),
        ("<b>x</b>", "A coupon code has only letters, digits, - and _ (at most 40)."),
        ("A" * 301, "Ensure this value has at most 300 characters (it has 301)."),
    ],
)
def test_a_bad_code_in_the_portal_is_explained_and_nothing_is_bought(
    admin, finance, active_client, challenge, typed, message
):
    fund(active_client, finance)
    http = logged_in(active_client.user)
    for action in ({"preview": "1"}, {}):
        page = post_form(
            http,
            f"/portal/challenges/{challenge.pk}/",
            {"payment": "wallet", "coupon": typed, "idempotency_key": "p-2", **action},
        )
        assert page.status_code == 422
        assert escape(message) in page.content.decode()
        assert "<b>x</b>" not in page.content.decode()
    assert not Participation.objects.exists()
    assert ledger.balances(active_client)["USD"] == D("1000.00")


def test_the_portal_buys_with_the_code_and_takes_a_promotional_links_code(
    admin, finance, active_client, challenge
):
    make_coupon(admin)
    fund(active_client, finance)
    http = logged_in(active_client.user)
    session = http.session
    session["promo_coupon"] = "SPRING20"
    session.save()
    page = http.get(f"/portal/challenges/{challenge.pk}/")
    assert 'value="SPRING20"' in page.content.decode()
    assert "Start now: pay 399.20 USD" in page.content.decode()
    done = post_form(
        http,
        f"/portal/challenges/{challenge.pk}/",
        {"payment": "wallet", "coupon": "SPRING20", "idempotency_key": "p-3"},
    )
    assert done.status_code == 302
    joined = Participation.objects.get()
    assert joined.fee == D("399.20")
    mine = http.get("/portal/my-challenges/").content.decode()
    assert "discount 99.80" in mine
    staff = logged_in(admin).get(f"/backoffice/prop-trading/participants/{joined.pk}/")
    assert "price 499.00 less coupon discount 99.80" in staff.content.decode()
    assert ledger.check() == []


# --- the API ----------------------------------------------------------------------------------


def test_the_api_buys_with_a_coupon_and_shows_fee_discount_and_gross(
    admin, finance, active_client, challenge
):
    make_coupon(admin)
    fund(active_client, finance)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call(
        "POST",
        f"/challenges/{challenge.pk}/participations",
        {"payment": "wallet", "coupon": "SPRING20"},
        token=token,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["fee"], body["discount"], body["gross_fee"]) == ("399.20", "99.80", "499.00")
    assert ledger.check() == []


@pytest.mark.parametrize("coupon", ["NOPE", 12, ["SPRING20"], "x" * 400])
def test_the_api_refuses_a_bad_coupon_with_422_and_charges_nothing(
    admin, finance, active_client, challenge, coupon
):
    make_coupon(admin)
    fund(active_client, finance)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call(
        "POST",
        f"/challenges/{challenge.pk}/participations",
        {"payment": "wallet", "coupon": coupon},
        token=token,
    )
    assert response.status_code == 422
    assert "coupon" in response.json()["fields"]
    assert not Participation.objects.exists()
    assert ledger.balances(active_client)["USD"] == D("1000.00")


def test_the_api_quotes_a_price_with_codes(admin, active_client, challenge):
    make_coupon(admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call("GET", f"/challenges/{challenge.pk}/quote?coupon=spring20", token=token)
    assert response.status_code == 200
    assert response.json() == {
        "currency": "USD",
        "gross": "499.00",
        "discount": "99.80",
        "net": "399.20",
        "codes": [{"code": "SPRING20", "discount": "99.80"}],
    }
    bad = api.call("GET", f"/challenges/{challenge.pk}/quote?coupon=NOPE", token=token)
    assert bad.status_code == 422
    assert bad.json()["fields"]["coupon"] == "NOPE is not a valid coupon code."
    assert api.call("GET", f"/challenges/{challenge.pk}/quote").status_code == 401


def test_staff_cancelling_an_unpaid_purchase_gives_the_use_back_and_a_refund_keeps_it(
    admin, finance, active_client, challenge, sandbox_card
):
    from propdesk.challenges.participation import interventions

    make_coupon(admin, max_uses_per_client=5)
    unpaid = direct(active_client, challenge, sandbox_card)
    interventions.cancel(unpaid.pk, actor=admin, reason="Asked by the client")
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (0, 0)
    fund(active_client, finance)
    paid = buy(active_client, challenge, "SPRING20")
    carry_out_platform_commands()
    interventions.cancel(paid.pk, actor=admin, reason="Asked by the client", refund=True)
    assert ledger.balances(active_client)["USD"] == D("1000.00")
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (1, 1)
    assert ledger.check() == []
