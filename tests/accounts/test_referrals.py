"""The referral tree: registering with a code records the referrer (the form, ?ref= and the API);
the downline to any depth, a page at a time; the chain of referrers above a client; staff move
a client to another referrer with or without their downline (audited, cycles refused)."""

from __future__ import annotations

import pytest

from propdesk.accounts import referrals
from propdesk.accounts.models import Client, User
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, Forbidden, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.onboarding.services import register_client
from tests.accounts.factories import referred, tree
from tests.conftest import PASSWORD, logged_in, post_form, registration, unique_phone

pytestmark = pytest.mark.django_db


def counts():
    return (User.objects.count(), Client.objects.count(), ApprovalRequest.objects.count())


def refers(client):
    client.refresh_from_db()
    return client.referrer_id


# --- Finding the referrer ----------------------------------------------------------------------


def test_a_referral_code_is_found_whatever_its_case_and_spaces(register):
    ib = referred(register, kind="ib")
    assert referrals.find_referrer(ib.referral_code.lower()) == ib
    assert referrals.find_referrer(f"  {ib.referral_code}  ") == ib


@pytest.mark.parametrize("code", [None, "", "   ", "NOSUCH99", "x" * 41, 12, "<script>"])
def test_an_empty_unknown_or_odd_code_finds_nobody(register, code):
    referred(register, kind="ib")
    assert referrals.find_referrer(code) is None


# --- Registration ------------------------------------------------------------------------------


def test_registering_with_a_code_records_the_referrer(register):
    ib = referred(register, kind="ib")
    client, _ = register(referral_code=ib.referral_code)
    assert client.referrer == ib
    assert client.referral_code_used == ib.referral_code


def test_a_lowercase_code_records_the_referrer_too(register):
    ib = referred(register, kind="ib")
    client, _ = register(referral_code=ib.referral_code.lower())
    assert client.referrer == ib


def test_registering_without_a_code_leaves_the_client_at_the_top(register):
    client, _ = register(referral_code="")
    assert client.referrer is None


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("NOSUCH99", "No client has this referral code."),
        ("x" * 41, "at most 40"),
        ("<script>", "only letters, digits"),
        ("DROP TABLE", "only letters, digits"),
    ],
)
def test_a_code_that_names_nobody_is_a_field_error_and_creates_nothing(register, code, said):
    referred(register, kind="ib")
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        register_client(**registration(referral_code=code))
    assert said in caught.value.fields["referral_code"]
    assert counts() == before


def test_the_registration_link_prefills_the_code(register, client):
    ib = referred(register, kind="ib")
    page = client.get(f"/portal/register/?ref={ib.referral_code}")
    assert page.status_code == 200
    assert f'value="{ib.referral_code}"' in page.content.decode()


def test_registering_through_the_link_records_the_referrer(register, client):
    ib = referred(register, kind="ib")
    form = {
        "type": "trader",
        "name": "Linked Trader",
        "email": "linked@example.com",
        "phone": unique_phone(),
        "nationality": "CZ",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "referral_code": ib.referral_code,
        "time_zone": "",
    }
    answer = post_form(client, f"/portal/register/?ref={ib.referral_code}", form)
    assert answer.status_code == 302
    assert Client.objects.get(user__email="linked@example.com").referrer == ib


def test_the_form_shown_again_after_an_error_keeps_the_typed_code(register, client):
    form = {
        "type": "trader",
        "name": "Linked Trader",
        "email": "linked@example.com",
        "phone": unique_phone(),
        "nationality": "CZ",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "referral_code": "NOSUCH99",
        "time_zone": "",
    }
    before = counts()
    answer = post_form(client, "/portal/register/?ref=NOSUCH99", form)
    text = answer.content.decode()
    assert answer.status_code in (400, 422)
    assert "No client has this referral code." in text
    assert 'value="NOSUCH99"' in text
    assert counts() == before


def test_the_api_registration_records_the_referrer_and_refuses_an_unknown_code(register, client):
    ib = referred(register, kind="ib")
    body = {
        "type": "trader",
        "name": "Api Trader",
        "email": "api.trader@example.com",
        "password": PASSWORD,
        "nationality": "CZ",
        "phone": unique_phone(),
    }
    before = counts()
    refused = client.post(
        "/api/v1/auth/register", {**body, "referral_code": "nosuch99"}, "application/json"
    )
    assert refused.status_code == 422
    assert refused.json()["fields"]["referral_code"] == "No client has this referral code."
    assert counts() == before
    made = client.post(
        "/api/v1/auth/register",
        {**body, "referral_code": ib.referral_code.lower()},
        "application/json",
    )
    assert made.status_code == 201
    assert Client.objects.get(pk=made.json()["id"]).referrer == ib


# --- The tree ----------------------------------------------------------------------------------


def test_the_downline_lists_every_level_with_its_depth(register):
    ib, sub, trader, friend, other = tree(register)
    members, more = referrals.downline(ib)
    assert [(m.client, m.depth) for m in members] == [
        (sub, 1),
        (other, 1),
        (trader, 2),
        (friend, 3),
    ]
    assert more is None
    assert referrals.downline_count(ib) == 4
    assert [(m.client, m.depth) for m in referrals.downline(sub)[0]] == [(trader, 1), (friend, 2)]
    assert referrals.downline(friend) == ([], None)


def test_a_big_downline_is_read_a_page_at_a_time_without_repeats(register):
    ib, sub, trader, friend, other = tree(register)
    seen = []
    place = None
    while True:
        members, place = referrals.downline(ib, after=place, limit=1)
        seen += [m.client for m in members]
        if place is None:
            break
    assert seen == [sub, other, trader, friend]


def test_the_upline_is_the_chain_of_referrers_nearest_first(register):
    ib, sub, trader, friend, _ = tree(register)
    assert referrals.upline(friend, 5) == [trader, sub, ib]
    assert referrals.upline(friend, 2) == [trader, sub]
    assert referrals.upline(ib, 3) == []


def test_a_damaged_tree_with_a_cycle_does_not_hang_its_reads(register):
    ib, sub, trader, friend, other = tree(register)
    Client.objects.filter(pk=ib.pk).update(referrer=friend)  # not possible through moves
    ib.refresh_from_db()
    assert referrals.upline(friend, 50) == [trader, sub, ib]
    members, _ = referrals.downline(ib, limit=200)
    assert sorted(m.client.pk for m in members) == sorted([sub.pk, other.pk, trader.pk, friend.pk])


# --- Moving a client -----------------------------------------------------------------------------


def test_a_client_moves_with_their_downline(register, admin):
    ib, sub, trader, friend, other = tree(register)
    referrals.move_client(sub, new_referrer=other, with_downline=True, actor=admin)
    assert refers(sub) == other.pk
    assert refers(trader) == sub.pk
    assert [(m.client, m.depth) for m in referrals.downline(other)[0]] == [
        (sub, 1),
        (trader, 2),
        (friend, 3),
    ]
    record = AuditRecord.objects.get(action=AuditAction.CLIENT_MOVE_REFERRER)
    assert record.object_id == str(sub.pk)
    assert record.before["referrer"] == ib.pk
    assert record.after["referrer"] == other.pk
    assert record.after["with_downline"] is True
    assert record.actor == admin


def test_without_their_downline_their_referrals_stay_with_the_old_referrer(register, admin):
    ib, sub, trader, friend, other = tree(register)
    referrals.move_client(sub, new_referrer=other, with_downline=False, actor=admin)
    assert refers(sub) == other.pk
    assert refers(trader) == ib.pk  # attached to sub's old referrer, with their own downline
    assert refers(friend) == trader.pk
    record = AuditRecord.objects.get(action=AuditAction.CLIENT_MOVE_REFERRER)
    assert record.before["referrals"] == [trader.pk]
    assert record.after["reattached_to_old_referrer"] == [trader.pk]


def test_a_client_can_be_moved_to_the_top(register, admin):
    _ib, sub, *_ = tree(register)
    referrals.move_client(sub, new_referrer=None, with_downline=True, actor=admin)
    assert refers(sub) is None


def test_moving_a_client_under_their_own_downline_is_refused(register, admin):
    ib, sub, trader, friend, _other = tree(register)
    with pytest.raises(Conflict) as caught:
        referrals.move_client(sub, new_referrer=friend, with_downline=True, actor=admin)
    assert caught.value.code == "referral_cycle"
    assert (refers(sub), refers(trader), refers(friend)) == (ib.pk, sub.pk, trader.pk)
    assert not AuditRecord.objects.filter(action=AuditAction.CLIENT_MOVE_REFERRER).exists()


def test_without_their_downline_a_client_may_go_under_a_former_referral(register, admin):
    ib, sub, trader, friend, _other = tree(register)
    referrals.move_client(sub, new_referrer=friend, with_downline=False, actor=admin)
    assert (refers(trader), refers(friend), refers(sub)) == (ib.pk, trader.pk, friend.pk)
    assert referrals.upline(sub, 10) == [friend, trader, ib]


def test_a_client_cannot_refer_themselves(register, admin):
    ib, sub, *_ = tree(register)
    with pytest.raises(ValidationFailed) as caught:
        referrals.move_client(sub, new_referrer=sub, with_downline=True, actor=admin)
    assert "own referrer" in caught.value.fields["new_referrer"]
    assert refers(sub) == ib.pk


def test_a_move_to_the_same_referrer_is_refused(register, admin):
    ib, sub, *_ = tree(register)
    with pytest.raises(ValidationFailed) as caught:
        referrals.move_client(sub, new_referrer=ib, with_downline=True, actor=admin)
    assert "already referred by" in caught.value.fields["new_referrer"]


def test_staff_without_the_permission_cannot_move_a_client(register, support):
    ib, sub, _trader, _friend, other = tree(register)
    with pytest.raises(Forbidden):
        referrals.move_client(sub, new_referrer=other, with_downline=True, actor=support)
    assert refers(sub) == ib.pk


# --- Naming the new referrer -------------------------------------------------------------------


def test_the_new_referrer_is_named_by_number_email_or_code(register):
    ib = referred(register, kind="ib")
    assert referrals.resolve_client(str(ib.pk)) == ib
    assert referrals.resolve_client(f"#{ib.pk}") == ib
    assert referrals.resolve_client(ib.email.upper()) == ib
    assert referrals.resolve_client(ib.referral_code.lower()) == ib


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "is required"),
        (None, "is required"),
        ("x" * 255, "at most 254"),
        ("nobody@example.com", "No client has"),
        ("99999999", "No client has"),
        ("<b>'; --", "No client has"),
        ("bad\x00text", "control characters"),
        (["list"], "must be text"),
    ],
)
def test_a_bad_name_of_the_new_referrer_is_a_field_error(register, text, said):
    referred(register, kind="ib")
    with pytest.raises(ValidationFailed) as caught:
        referrals.resolve_client(text)
    assert said in caught.value.fields["new_referrer"]


# --- The back office -----------------------------------------------------------------------------


def test_staff_who_see_clients_see_the_referrer_and_the_downline(register, support):
    ib, sub, trader, friend, _other = tree(register)
    page = logged_in(support).get(f"/backoffice/clients/{sub.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert f'href="/backoffice/clients/{ib.pk}/"' in text
    assert f'data-member="{trader.pk}" data-depth="1"' in text
    assert f'data-member="{friend.pk}" data-depth="2"' in text
    assert "move-referrer" not in text  # no permission to move


def test_the_move_form_moves_the_client(register, admin):
    _ib, sub, trader, _friend, other = tree(register)
    http = logged_in(admin)
    page = http.get(f"/backoffice/clients/{sub.pk}/")
    assert "move-referrer" in page.content.decode()
    answer = post_form(
        http,
        f"/backoffice/clients/{sub.pk}/move-referrer/",
        {"new_referrer": other.referral_code.lower(), "with_downline": "on"},
    )
    assert answer.status_code == 302
    assert refers(sub) == other.pk
    assert refers(trader) == sub.pk


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"new_referrer": ""}, "is required"),
        ({"new_referrer": "nobody@example.com"}, "No client has"),
        ({"new_referrer": "<script>alert(1)</script>"}, "No client has"),
        ({"new_referrer": "x" * 300}, "at most 254"),
        ({"new_referrer": "SOMECODE", "to_top": "on"}, "not both"),
    ],
)
def test_bad_input_to_the_move_form_is_said_and_changes_nothing(register, admin, data, said):
    ib, sub, *_ = tree(register)
    http = logged_in(admin)
    answer = post_form(http, f"/backoffice/clients/{sub.pk}/move-referrer/", data)
    assert answer.status_code == 302
    page = http.get(answer["Location"]).content.decode()
    assert 'class="error"' in page
    assert said in page
    assert "<script>alert(1)" not in page
    assert refers(sub) == ib.pk
    assert not AuditRecord.objects.filter(action=AuditAction.CLIENT_MOVE_REFERRER).exists()


def test_staff_without_the_permission_are_refused_the_move_form(register, support):
    ib, sub, _trader, _friend, other = tree(register)
    answer = post_form(
        logged_in(support),
        f"/backoffice/clients/{sub.pk}/move-referrer/",
        {"new_referrer": other.referral_code},
    )
    assert answer.status_code == 403
    assert refers(sub) == ib.pk


def test_the_referral_tree_page_lists_the_tops_with_their_downline(register, support):
    ib, *_ = tree(register)
    page = logged_in(support).get("/backoffice/growth/referral-tree/")
    text = page.content.decode()
    assert page.status_code == 200
    assert f'data-referrer="{ib.pk}"' in text
    assert "<td>4</td>" in text or ">4</a>" in text
    whole = logged_in(support).get(f"/backoffice/clients/{ib.pk}/downline/")
    assert whole.status_code == 200
    bad = logged_in(support).get(f"/backoffice/clients/{ib.pk}/downline/?after=forged")
    assert bad.status_code in (400, 422)
