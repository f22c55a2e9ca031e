"""Promotional links: a click is counted and lands the visitor where the link says, leaving the
link (its coupon, its referrer) in the session; a registration through it records the link and
the referrer; the list counts clicks, registrations and purchases; staff make, change and
disable links, with bad input refused and nothing changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client as HttpClient

from propdesk.accounts.models import Client
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth import links
from propdesk.challenges.growth.models import Coupon, CouponUse, PromoLink
from propdesk.challenges.participation import interventions
from propdesk.challenges.participation import services as participation
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Forbidden, NotFound, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.wallet import services as wallet
from tests.challenges.factories import definition, make_coupon
from tests.conftest import PASSWORD, logged_in, post_form, unique_phone

pytestmark = pytest.mark.django_db


def coupon(code="SPRING20", *, enabled=True):
    # The coupons' own use cases are another part of the work; the row is all a link needs.
    return Coupon.objects.create(code=code, kind="percent", value=Decimal("20"), enabled=enabled)


def make_link(admin, code="spring", **changes):
    fields = {"name": "Spring campaign", "landing": "register", **changes}
    return links.save_link(None, code=code, actor=admin, **fields)


def go(http, code):
    return http.get(f"/go/{code}/")


def register_through(http, **changes):
    data = {
        "type": "trader",
        "name": "Visitor Through Link",
        "email": f"visitor{unique_phone()[-6:]}@example.com",
        "phone": unique_phone(),
        "nationality": "CZ",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "referral_code": "",
        **changes,
    }
    answer = post_form(http, "/portal/register/", data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    return Client.objects.get(user__email=data["email"])


# --- the click ----------------------------------------------------------------------------------


def test_a_click_is_counted_and_lands_on_registration_with_the_referrers_code(admin, active_client):
    made = make_link(admin, coupon=coupon().code, referrer=active_client.user.email)
    http = HttpClient()
    answer = go(http, "spring")
    assert answer.status_code == 302
    assert answer["Location"] == f"/portal/register/?ref={active_client.referral_code}"
    assert PromoLink.objects.get(pk=made.pk).clicks == 1
    assert http.session["promo_link"] == "spring"
    assert http.session["promo_coupon"] == "SPRING20"
    assert http.session["promo_referrer"] == active_client.referral_code


def test_the_code_is_found_whatever_its_case_and_the_session_keeps_the_links_own(admin):
    make_link(admin, code="Spring-2026_a")
    http = HttpClient()
    assert go(http, "SPRING-2026_A").status_code == 302
    assert http.session["promo_link"] == "Spring-2026_a"
    assert PromoLink.objects.get().clicks == 1


def test_a_link_to_the_challenges_lands_on_the_portals_list(admin):
    make_link(admin, code="offers", landing="challenges")
    http = HttpClient()
    answer = go(http, "offers")
    assert answer["Location"] == "/portal/challenges/"
    assert "promo_coupon" not in http.session
    assert "promo_referrer" not in http.session
    # A logged-out visitor is sent through the login page, as the portal does.
    assert http.get(answer["Location"])["Location"].startswith("/login/?next=/portal/challenges/")


def test_a_link_to_one_challenge_lands_on_its_page_and_on_the_list_once_it_ended(admin, challenge):
    made = make_link(admin, code="one", landing="challenge", challenge=challenge.pk)
    answer = go(HttpClient(), "one")
    assert answer["Location"] == f"/portal/challenges/{challenge.pk}/"
    catalogue.end(challenge.pk, actor=admin)
    assert go(HttpClient(), "one")["Location"] == "/portal/challenges/"
    assert PromoLink.objects.get(pk=made.pk).clicks == 2


def test_a_logged_in_client_lands_on_the_challenge_page_itself(admin, active_client, challenge):
    make_link(admin, code="one", landing="challenge", challenge=challenge.pk)
    http = logged_in(active_client.user)
    answer = http.get("/go/one/", follow=True)
    assert answer.status_code == 200
    assert answer.redirect_chain == [(f"/portal/challenges/{challenge.pk}/", 302)]


def test_clicks_by_the_same_visitor_count_once_and_other_visitors_each_count(admin):
    make_link(admin)
    first = HttpClient()
    for _ in range(3):
        assert go(first, "spring").status_code == 302
    assert go(HttpClient(), "spring").status_code == 302
    assert PromoLink.objects.get().clicks == 2


def test_a_click_on_another_link_replaces_the_first_links_coupon_and_referrer(admin, active_client):
    make_link(admin, coupon=coupon().code, referrer=active_client.referral_code)
    make_link(admin, code="plain")
    http = HttpClient()
    go(http, "spring")
    go(http, "plain")
    assert http.session["promo_link"] == "plain"
    assert "promo_coupon" not in http.session
    assert "promo_referrer" not in http.session


@pytest.mark.parametrize(
    "code",
    [
        "nosuch",
        "x" * 41,
        "spr%20ing",
        "spring%0A",
        "spr'ing",
        "%3Cscript%3E",
        "sp%C3%A9ring",
        "..",
    ],
)
def test_an_unknown_too_long_or_hostile_code_is_not_found_and_counts_nothing(admin, code):
    make_link(admin)
    http = HttpClient()
    assert http.get(f"/go/{code}/").status_code == 404
    assert PromoLink.objects.get().clicks == 0
    assert "promo_link" not in http.session


def test_a_disabled_link_is_not_found_and_counts_nothing_until_enabled_again(admin):
    made = make_link(admin)
    links.set_enabled(made.pk, enabled=False, actor=admin)
    assert go(HttpClient(), "spring").status_code == 404
    assert PromoLink.objects.get().clicks == 0
    links.set_enabled(made.pk, enabled=True, actor=admin)
    assert go(HttpClient(), "spring").status_code == 302
    assert PromoLink.objects.get().clicks == 1
    actions = list(
        AuditRecord.objects.filter(object_type="promo_link").values_list("action", flat=True)
    )
    assert sorted(actions) == sorted(
        [AuditAction.PROMO_LINK_CREATE, AuditAction.PROMO_LINK_DISABLE,
         AuditAction.PROMO_LINK_ENABLE]
    )  # fmt: skip


def test_a_click_is_only_a_get():
    assert HttpClient().post("/go/spring/").status_code == 405


def test_click_refuses_a_malformed_code_before_asking_the_database(
    admin, django_assert_num_queries
):
    make_link(admin)
    for code in ("a" * 41, "spr ing", "", None, 12, "a\n"):
        with django_assert_num_queries(0), pytest.raises(NotFound):
            links.click(code)


# --- registration through a link ----------------------------------------------------------------


def test_a_registration_through_the_link_records_it_and_its_referrer(admin, active_client):
    make_link(admin, referrer=active_client.referral_code)
    http = HttpClient()
    go(http, "spring")
    form = http.get("/portal/register/")
    assert f'value="{active_client.referral_code}"' in form.content.decode()
    made = register_through(http, referral_code=active_client.referral_code)
    assert made.arrived_via == "spring"
    assert made.referral_code_used == active_client.referral_code
    assert made.referrer == active_client


def test_the_links_referrer_stands_when_the_visitor_leaves_the_field_empty(admin, active_client):
    make_link(admin, referrer=active_client.referral_code)
    http = HttpClient()
    go(http, "spring")
    made = register_through(http, referral_code="")
    assert made.referral_code_used == active_client.referral_code
    assert made.referrer == active_client


def test_a_referral_code_the_visitor_types_wins_over_the_links(admin, active_client, register):
    other, _ = register()
    make_link(admin, referrer=active_client.referral_code)
    http = HttpClient()
    go(http, "spring")
    made = register_through(http, referral_code=other.referral_code)
    assert made.referral_code_used == other.referral_code
    assert made.referrer == other
    assert made.arrived_via == "spring"


def test_a_registration_without_a_link_records_none():
    made = register_through(HttpClient())
    assert made.arrived_via == ""
    assert made.referral_code_used == ""


def test_registration_keeps_only_a_well_formed_link_code(register):
    assert register(arrived_via="spring")[0].arrived_via == "spring"
    assert register(arrived_via="x" * 41)[0].arrived_via == ""
    assert register(arrived_via="sp ring")[0].arrived_via == ""
    assert register(arrived_via="spring\n")[0].arrived_via == ""
    assert register(arrived_via=["spring"])[0].arrived_via == ""


# --- the counts ---------------------------------------------------------------------------------


def test_the_list_counts_clicks_registrations_and_paid_purchases(
    admin, finance, challenge, set_method
):
    set_method("trader_registration", "automatic")
    used = coupon()
    made = make_link(admin, coupon=used.code)
    other = make_link(admin, code="other")
    buyers = []
    for _ in range(3):
        http = HttpClient()
        go(http, "spring")
        buyers.append(register_through(http))
    go(HttpClient(), "spring")  # a fourth visitor who does not register
    go(HttpClient(), "other")
    for buyer in buyers[:2]:
        wallet.adjust(buyer.pk, direction="credit", amount="1000.00", currency="USD",
                      comment="Top up", actor=finance)  # fmt: skip
        bought = participation.start(buyer, challenge.pk, payment="wallet")
    CouponUse.objects.create(
        coupon=used, participation=bought, client=buyers[1], discount="0", currency="USD"
    )
    interventions.cancel(bought.pk, actor=admin, reason="Asked for it", refund=True)
    counted = links.stats(list(PromoLink.objects.all()))
    spring = counted[made.pk]
    assert (spring.clicks, spring.registrations, spring.purchases) == (4, 3, 1)
    assert spring.fees == {"USD": Decimal("499.00")}  # the refunded purchase is not counted
    assert spring.coupon_uses == 1
    assert spring.conversion == Decimal("75.0")
    assert (counted[other.pk].clicks, counted[other.pk].registrations) == (1, 0)
    assert counted[other.pk].conversion == Decimal("0.0")

    page = logged_in(admin).get("/backoffice/growth/links/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"{settings.PROPDESK_SITE_URL.rstrip('/')}/go/spring/" in text  # the link to share
    row = text.split('data-link="spring"')[1].split("</tr>")[0]
    assert "<td data-clicks>4</td>" in row
    assert "<td data-registrations>3</td>" in row
    assert "<td data-purchases>1" in row
    assert "75.0%" in row


def test_a_purchase_a_coupon_made_free_counts_while_it_stands(admin, challenge, set_method):
    set_method("trader_registration", "automatic")
    make_coupon(admin, code="FREE", value="100")
    made = make_link(admin)
    http = HttpClient()
    go(http, "spring")
    buyer = register_through(http)
    free = participation.start(buyer, challenge.pk, payment="wallet", coupon="FREE")
    assert (free.fee, free.fee_entry_id) == (Decimal("0.00"), None)
    counted = links.stats([made])[made.pk]
    assert (counted.purchases, counted.fees) == (1, {"USD": Decimal("0.00")})
    interventions.cancel(free.pk, actor=admin, reason="Not eligible", refund=False)
    assert links.stats([made])[made.pk].purchases == 0  # turned down: no longer a purchase


def test_a_link_without_clicks_has_no_conversion(admin):
    made = make_link(admin)
    assert links.stats([made])[made.pk].conversion is None
    assert links.stats([]) == {}


# --- staff: the form ----------------------------------------------------------------------------


def test_staff_make_a_link_through_the_page_and_it_is_audited(admin, active_client, challenge):
    coupon()
    http = logged_in(admin)
    answer = post_form(
        http,
        "/backoffice/growth/links/new/",
        {
            "code": "vip-one",
            "name": "VIP challenge",
            "landing": "challenge",
            "challenge": challenge.pk,
            "coupon": "spring20",
            "referrer": active_client.user.email.upper(),
        },
    )
    assert answer.status_code == 302
    made = PromoLink.objects.get()
    assert (made.code, made.landing, made.challenge_id) == ("vip-one", "challenge", challenge.pk)
    assert made.coupon.code == "SPRING20"
    assert made.referrer == active_client
    record = AuditRecord.objects.get(action=AuditAction.PROMO_LINK_CREATE)
    assert record.after["code"] == "vip-one"
    assert record.actor == admin


def test_editing_a_link_keeps_its_code_and_is_audited(admin):
    made = make_link(admin)
    http = logged_in(admin)
    answer = post_form(
        http,
        f"/backoffice/growth/links/{made.pk}/",
        {"code": "changed", "name": "Renamed", "landing": "challenges"},
    )
    assert answer.status_code == 302
    made.refresh_from_db()
    assert (made.code, made.name, made.landing) == ("spring", "Renamed", "challenges")
    record = AuditRecord.objects.get(action=AuditAction.PROMO_LINK_UPDATE)
    assert (record.before["name"], record.after["name"]) == ("Spring campaign", "Renamed")


def test_the_code_cannot_change_through_the_use_case(admin):
    made = make_link(admin)
    with pytest.raises(ValidationFailed) as refused:
        links.save_link(made.pk, code="other", name="x", landing="register", actor=admin)
    assert "code" in refused.value.fields
    assert PromoLink.objects.get().code == "spring"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "SPRING"}, "code"),  # taken, whatever the case
        ({"code": "spr ing"}, "code"),
        ({"code": "spring!"}, "code"),
        ({"code": "x" * 41}, "code"),
        ({"code": ""}, "code"),
        ({"code": "spr\u202eing"}, "code"),
        ({"code": "new", "name": ""}, "name"),
        ({"code": "new", "name": "a\x00b"}, "name"),
        ({"code": "new", "landing": "elsewhere"}, "landing"),
        ({"code": "new", "landing": "challenge"}, "challenge"),
        ({"code": "new", "landing": "challenge", "challenge": "999999"}, "challenge"),
        ({"code": "new", "landing": "challenge", "challenge": "'; drop"}, "challenge"),
        ({"code": "new", "coupon": "NOSUCH"}, "coupon"),
        ({"code": "new", "coupon": "OFF"}, "coupon"),  # disabled
        ({"code": "new", "referrer": "nobody@example.com"}, "referrer"),
        ({"code": "new", "referrer": "x" * 300}, "referrer"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(admin, changes, field):
    make_link(admin)
    coupon("OFF", enabled=False)
    fields = {"name": "Campaign", "landing": "register", **changes}
    with pytest.raises(ValidationFailed) as refused:
        links.save_link(None, actor=admin, **fields)
    assert field in refused.value.fields
    assert PromoLink.objects.count() == 1


def test_a_draft_challenge_is_refused_as_a_landing(admin):
    draft = catalogue.create(definition(name="Not yet"), actor=admin)
    with pytest.raises(ValidationFailed) as refused:
        make_link(admin, landing="challenge", challenge=draft.pk)
    assert refused.value.fields["challenge"] == "Choose one of the published challenges."
    assert not PromoLink.objects.exists()


def test_the_page_shows_the_errors_and_saves_nothing(admin):
    make_link(admin)
    http = logged_in(admin)
    answer = post_form(
        http,
        "/backoffice/growth/links/new/",
        {"code": "Spring", "name": "Copy", "landing": "register", "coupon": "NOSUCH"},
    )
    assert answer.status_code == 422
    text = answer.content.decode()
    assert "A link with this code already exists" in text
    assert "No enabled coupon has this code." in text
    assert PromoLink.objects.count() == 1


def test_staff_without_the_permission_are_refused(admin, support):
    made = make_link(admin)
    http = logged_in(support)
    assert http.get("/backoffice/growth/links/").status_code == 403
    assert http.get(f"/backoffice/growth/links/{made.pk}/").status_code == 403
    denied = post_form(http, f"/backoffice/growth/links/{made.pk}/enable/", {"enabled": "0"})
    assert denied.status_code == 403
    assert PromoLink.objects.get().enabled
    with pytest.raises(Forbidden):
        links.save_link(None, code="x", name="x", landing="register", actor=support)
    with pytest.raises(Forbidden):
        links.set_enabled(made.pk, enabled=False, actor=support)


def test_a_client_cannot_reach_the_back_office_page(admin, active_client):
    make_link(admin)
    assert logged_in(active_client.user).get("/backoffice/growth/links/").status_code == 403
    assert HttpClient().get("/backoffice/growth/links/").status_code == 302  # to login


def test_disabling_through_the_page_and_an_unknown_link(admin):
    made = make_link(admin)
    http = logged_in(admin)
    assert (
        post_form(http, f"/backoffice/growth/links/{made.pk}/enable/", {"enabled": "0"}).status_code
        == 302
    )
    assert not PromoLink.objects.get().enabled
    assert post_form(http, "/backoffice/growth/links/999999/enable/", {}).status_code == 404
    assert http.get("/backoffice/growth/links/999999/").status_code == 404


def test_the_menu_shows_the_page_to_whom_may_see_it(admin, support):
    assert "/backoffice/growth/links/" in logged_in(admin).get("/backoffice/").content.decode()
    assert (
        "/backoffice/growth/links/" not in logged_in(support).get("/backoffice/").content.decode()
    )


def test_the_pages_show_the_link_to_share_its_landing_coupon_and_referrer(
    admin, active_client, challenge
):
    made = make_link(
        admin,
        landing="challenge",
        challenge=challenge.pk,
        coupon=coupon().code,
        referrer=active_client.referral_code,
    )
    links.set_enabled(made.pk, enabled=False, actor=admin)
    http = logged_in(admin)
    listed = http.get("/backoffice/growth/links/").content.decode()
    row = listed.split('data-link="spring"')[1].split("</tr>")[0]
    for shown in (
        "(disabled)",
        f"One challenge: {challenge.name}",
        "SPRING20",
        active_client.user.name,
        active_client.referral_code,
        ">Enable<",
    ):
        assert shown in row
    edit = http.get(f"/backoffice/growth/links/{made.pk}/")
    assert edit.status_code == 200
    page = edit.content.decode()
    assert f"{settings.PROPDESK_SITE_URL.rstrip('/')}/go/spring/" in page
    assert 'value="SPRING20"' in page
    assert "disabled" in page.split('name="code"')[1].split(">")[0]
    assert http.get("/backoffice/growth/links/new/").status_code == 200
    assert "No promotional links yet" not in listed
