"""Promotional links: a visitor going back and forth between two links counts one click on
each; a link landing on a challenge meant for one client group never lands another visitor on
a page that is not found (they land on the challenges on offer to them)."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from propdesk.accounts import groups
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth import links
from propdesk.challenges.growth.models import PromoLink
from tests.challenges.factories import definition
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def make_link(admin, code, **changes):
    fields = {"name": "Campaign", "landing": "register", **changes}
    return links.save_link(None, code=code, actor=admin, **fields)


def test_going_back_and_forth_between_two_links_counts_each_once(admin):
    make_link(admin, "one")
    make_link(admin, "two")
    http = HttpClient()
    for _ in range(3):
        http.get("/go/one/")
        http.get("/go/two/")
    assert dict(PromoLink.objects.values_list("code", "clicks")) == {"one": 1, "two": 1}
    assert http.session["promo_link"] == "two"  # the last link clicked is the one kept


@pytest.fixture
def vip_only(admin):
    vip = groups.save_group(None, name="VIP", actor=admin)
    made = catalogue.create(definition(name="VIP 100K", client_groups=["VIP"]), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    make_link(admin, "vip", landing="challenge", challenge=made.pk)
    return vip, made


def test_a_client_of_another_group_lands_on_the_challenges_on_offer(vip_only, active_client):
    answer = logged_in(active_client.user).get("/go/vip/", follow=True)
    assert answer.status_code == 200
    assert answer.redirect_chain == [("/portal/challenges/", 302)]
    assert "VIP 100K" not in answer.content.decode()


def test_a_client_of_the_group_lands_on_the_challenge(vip_only, admin, active_client):
    vip, made = vip_only
    groups.assign([active_client.pk], vip.pk, actor=admin)
    answer = logged_in(active_client.user).get("/go/vip/", follow=True)
    assert answer.redirect_chain == [(f"/portal/challenges/{made.pk}/", 302)]
    assert answer.status_code == 200


def test_a_logged_out_visitor_lands_on_the_challenges_on_offer(vip_only):
    assert HttpClient().get("/go/vip/")["Location"] == "/portal/challenges/"
