"""The API's price quote follows the client's group like the rest of the catalogue: a client of
the group a challenge is meant for gets its price, another client gets 404."""

from __future__ import annotations

import pytest

from propdesk.accounts import groups
from propdesk.challenges.catalogue import services as catalogue
from tests.api.conftest import Api
from tests.challenges.factories import definition, fund
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def vip_challenge(admin):
    """A group VIP, and a published challenge offered to it alone."""
    vip = groups.save_group(None, name="VIP", actor=admin)
    made = catalogue.create(definition(name="VIP 100K", client_groups=["VIP"]), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return vip, made


def test_the_quote_of_another_groups_challenge_is_not_found(admin, active_client, finance):
    _, made = vip_challenge(admin)
    fund(active_client, finance)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    quoted = api.call("GET", f"/challenges/{made.pk}/quote", token=token)
    assert quoted.status_code == 404
    assert "gross" not in quoted.json()


def test_a_vip_client_gets_the_quote_of_the_vip_challenge(admin, active_client):
    vip, made = vip_challenge(admin)
    groups.assign([active_client.pk], vip.pk, actor=admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    quoted = api.call("GET", f"/challenges/{made.pk}/quote", token=token)
    assert quoted.status_code == 200, quoted.content
