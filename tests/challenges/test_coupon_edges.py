"""Coupons at their edges: the API's quote follows the client's group like the purchase does,
a promotional link's coupon that cannot be used never blocks a purchase without it, and a
code's revenue counts only fees actually paid."""

from __future__ import annotations

import pytest

from propdesk.accounts import groups
from propdesk.challenges.catalogue import services as catalogue
from tests.api.conftest import Api
from tests.challenges.factories import definition, make_coupon
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip(admin):
    return groups.save_group(None, name="VIP", actor=admin)


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
