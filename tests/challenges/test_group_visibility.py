"""A challenge limited to a client group (or run on a trading server limited to one) is
offered to that group's clients only: the others do not find it (404) in the portal or the
API, listing, reading or starting it. A definition names only groups that exist."""

from __future__ import annotations

import pytest
from django.urls import reverse

from propdesk.accounts import groups
from propdesk.accounts.models import ClientGroup
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.platforms import servers
from propdesk.platforms.models import TradingServer
from propdesk.wallet import ledger
from tests.api.conftest import Api
from tests.challenges.factories import definition, fund
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip_challenge(admin, vip):
    made = catalogue.create(definition(name="VIP 100K", client_groups=["vip"]), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


def start_page(challenge):
    return reverse("portal:challenge", kwargs={"challenge_id": challenge.pk})


def test_a_definition_names_groups_as_they_are_kept(vip_challenge):
    assert vip_challenge.published().definition["client_groups"] == ["VIP"]


@pytest.mark.parametrize("named", [["Nobody"], ["VIP", "Gold"]])
def test_a_definition_naming_a_group_that_does_not_exist_is_refused(admin, vip, named):
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create(definition(client_groups=named), actor=admin)
    assert "No client group named" in refused.value.fields["client_groups"]


def test_the_challenge_editor_offers_the_existing_groups(admin, vip):
    page = logged_in(admin).get(reverse("backoffice:challenge_new")).content.decode()
    assert 'name="client_groups" value="VIP"' in page


def test_an_api_definition_with_an_unknown_group_is_a_422_on_client_groups(admin):
    api = Api()
    token = api.token(admin.email, PASSWORD)
    made = api.call("POST", "/challenges", definition(client_groups=["Ghost"]), token=token)
    assert made.status_code == 422
    assert "client_groups" in made.json()["fields"]


def test_the_vip_challenge_is_listed_and_started_by_a_vip_client_in_the_portal(
    vip_client, vip_challenge, finance
):
    fund(vip_client, finance)
    http = logged_in(vip_client.user)
    assert "VIP 100K" in http.get(reverse("portal:challenges")).content.decode()
    assert http.get(start_page(vip_challenge)).status_code == 200
    response = post_form(
        http, start_page(vip_challenge), {"payment": "wallet", "idempotency_key": "k1"}
    )
    assert response.status_code == 302
    assert Participation.objects.filter(client=vip_client).count() == 1


def test_another_client_gets_404_for_the_vip_challenge_in_the_portal(
    active_client, vip_challenge, finance, challenge
):
    fund(active_client, finance)
    http = logged_in(active_client.user)
    listed = http.get(reverse("portal:challenges")).content.decode()
    assert "VIP 100K" not in listed
    assert "2-Step 100K" in listed  # the challenge for everyone stays
    assert http.get(start_page(vip_challenge)).status_code == 404
    response = post_form(
        http, start_page(vip_challenge), {"payment": "wallet", "idempotency_key": "k1"}
    )
    assert response.status_code == 404
    assert not Participation.objects.exists()
    assert ledger.balances(active_client)["USD"] == 1000


def test_the_vip_challenge_in_the_api_for_a_vip_client_and_another(
    vip_client, active_client, vip_challenge, finance
):
    api = Api()
    for client in (vip_client, active_client):
        fund(client, finance)
    mine = api.token(vip_client.user.email, PASSWORD)
    theirs = api.token(active_client.user.email, PASSWORD)
    path = f"/challenges/{vip_challenge.pk}"
    assert [c["id"] for c in api.call("GET", "/challenges", token=mine).json()] == [
        vip_challenge.pk
    ]
    assert api.call("GET", "/challenges", token=theirs).json() == []
    assert api.call("GET", path, token=mine).status_code == 200
    assert api.call("GET", path, token=theirs).status_code == 404
    assert api.call("GET", f"{path}/quote", token=mine).json()["net"] == "499.00"
    assert api.call("GET", f"{path}/quote", token=theirs).status_code == 404
    refused = api.call("POST", f"{path}/participations", {"payment": "wallet"}, token=theirs)
    assert refused.status_code == 404
    assert not Participation.objects.exists()
    started = api.call("POST", f"{path}/participations", {"payment": "wallet"}, token=mine)
    assert started.status_code == 201, started.content
    assert Participation.objects.get().client == vip_client


def test_group_names_match_in_any_case(vip_client, vip_challenge):
    assert offering.offered(vip_challenge.pk, groups=["vip"]) == vip_challenge.published()
    with pytest.raises(NotFound):
        offering.offered(vip_challenge.pk, groups=["Standard"])


def test_staff_see_the_whole_catalogue(admin, vip_challenge):
    api = Api()
    token = api.token(admin.email, PASSWORD)
    assert api.call("GET", f"/challenges/{vip_challenge.pk}", token=token).status_code == 200
    page = logged_in(admin).get(reverse("backoffice:challenges")).content.decode()
    assert "VIP 100K" in page


def test_a_challenge_on_a_server_limited_to_a_group_is_offered_to_that_group_only(
    admin, vip, vip_client, active_client, challenge
):
    server = TradingServer.objects.get(name=challenge.published().spec.platform)
    servers.save_server(
        server.pk,
        name=server.name,
        kind=server.kind,
        demo_groups=server.demo_groups,
        live_groups=server.live_groups,
        client_groups=[vip.pk],
        actor=admin,
    )
    assert [g.name for g in server.client_groups.all()] == ["VIP"]
    http = logged_in(active_client.user)
    assert http.get(start_page(challenge)).status_code == 404
    assert "2-Step 100K" not in http.get(reverse("portal:challenges")).content.decode()
    assert logged_in(vip_client.user).get(start_page(challenge)).status_code == 200


def test_the_server_form_offers_the_client_groups(admin, vip):
    server = TradingServer.objects.first()
    url = reverse("backoffice:trading_server_edit", kwargs={"server_id": server.pk})
    assert 'name="client_groups"' in logged_in(admin).get(url).content.decode()


def test_a_group_named_by_a_challenge_is_not_deleted(admin, vip, vip_challenge):
    with pytest.raises(Conflict, match="challenge VIP 100K"):
        groups.delete_group(vip.pk, actor=admin)
    assert ClientGroup.objects.filter(name="VIP").exists()
