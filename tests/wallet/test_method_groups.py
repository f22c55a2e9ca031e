"""A payment method limited to client groups is listed and used (deposit, withdrawal, a
challenge bought directly) by those groups' clients only: the API answers others 404, the
portal does not list it and refuses it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from propdesk.accounts import groups
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import NotFound
from propdesk.wallet import deposits, ledger, withdrawals
from propdesk.wallet.models import Deposit, Withdrawal
from tests.api.conftest import Api
from tests.challenges.factories import definition
from tests.conftest import PASSWORD, logged_in, post_form
from tests.wallet.factories import bank_destination, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip_bank(admin, vip):
    """A bank transfer for VIP clients only (deposits and withdrawals)."""
    return deposits.save_payment_method(
        None,
        name="VIP bank",
        kind="offline",
        currencies=["USD"],
        min_amount="50",
        max_amount="10000",
        payout_to="bank",
        client_groups=[vip.pk],
        actor=admin,
    )


@pytest.fixture
def vip_card(admin, vip):
    return deposits.save_payment_method(
        None,
        name="VIP card",
        kind="online",
        provider="sandbox",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        client_groups=[vip.pk],
        actor=admin,
    )


def test_the_api_lists_a_vip_method_to_vip_clients_only(vip_client, active_client, vip_bank):
    api = Api()
    listed = {}
    for client in (vip_client, active_client):
        token = api.token(client.user.email, PASSWORD)
        listed[client.pk] = [
            m["name"] for m in api.call("GET", "/payment-methods", token=token).json()
        ]
    assert listed == {vip_client.pk: ["VIP bank"], active_client.pk: []}


def test_a_deposit_by_another_groups_method_is_404_in_the_api(vip_client, active_client, vip_bank):
    api = Api()
    body = {"amount": "100.00", "currency": "USD", "method": vip_bank.pk}
    theirs = api.token(active_client.user.email, PASSWORD)
    for method in (vip_bank.pk, "VIP bank", "vip bank"):
        refused = api.call("POST", "/wallet/deposits", {**body, "method": method}, token=theirs)
        assert refused.status_code == 404
        assert refused.json()["code"] == "not_found"
    assert not Deposit.objects.exists()
    mine = api.token(vip_client.user.email, PASSWORD)
    assert api.call("POST", "/wallet/deposits", body, token=mine).status_code == 201
    assert Deposit.objects.get().client == vip_client


def test_a_withdrawal_by_another_groups_method_is_404_in_the_api(
    vip_client, active_client, vip_bank, finance
):
    api = Api()
    for client in (vip_client, active_client):
        fund(client, finance)
    body = {
        "amount": "100.00",
        "currency": "USD",
        "method": vip_bank.pk,
        "destination": bank_destination(),
    }
    theirs = api.token(active_client.user.email, PASSWORD)
    assert api.call("POST", "/wallet/withdrawals", body, token=theirs).status_code == 404
    assert ledger.balances(active_client) == {"USD": Decimal("1000.00")}
    mine = api.token(vip_client.user.email, PASSWORD)
    assert api.call("POST", "/wallet/withdrawals", body, token=mine).status_code == 201
    assert Withdrawal.objects.get().client == vip_client
    assert ledger.balances(vip_client) == {"USD": Decimal("900.00")}


def test_the_portal_neither_lists_nor_takes_another_groups_method(active_client, vip_bank):
    http = logged_in(active_client.user)
    page = http.get(reverse("portal:deposit")).content.decode()
    assert "VIP bank" not in page
    response = post_form(
        http,
        reverse("portal:deposit"),
        {"method": vip_bank.pk, "amount": "100", "currency": "USD", "idempotency_key": "k"},
    )
    assert response.status_code == 422
    assert not Deposit.objects.exists()
    assert "VIP bank" not in http.get(reverse("portal:withdraw")).content.decode()


def test_the_portal_lists_and_takes_the_method_for_its_group(vip_client, vip_bank):
    http = logged_in(vip_client.user)
    assert "VIP bank" in http.get(reverse("portal:deposit")).content.decode()
    response = post_form(
        http,
        reverse("portal:deposit"),
        {"method": vip_bank.pk, "amount": "100", "currency": "USD", "idempotency_key": "k"},
    )
    assert response.status_code == 302
    assert Deposit.objects.get().client == vip_client


def test_a_challenge_bought_directly_by_another_groups_method_is_refused(
    admin, vip_client, active_client, vip_card
):
    challenge = catalogue.create(definition(), actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    with pytest.raises(NotFound):
        participation.start(active_client, challenge.pk, payment="direct", method=vip_card.pk)
    page = logged_in(active_client.user).get(
        reverse("portal:challenge", kwargs={"challenge_id": challenge.pk})
    )
    assert "VIP card" not in page.content.decode()
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    refused = api.call(
        "POST",
        f"/challenges/{challenge.pk}/participations",
        {"payment": "direct", "method": vip_card.pk},
        token=token,
    )
    assert refused.status_code == 404
    assert not Participation.objects.exists()
    bought = participation.start(vip_client, challenge.pk, payment="direct", method=vip_card.pk)
    assert bought.status == "pending_payment"


def test_a_method_for_every_client_stays_open_to_all(active_client, vip_client, bank_transfer):
    for client in (active_client, vip_client):
        assert list(deposits.enabled_methods(client)) == [bank_transfer]
        assert list(withdrawals.payout_methods(client)) == [bank_transfer]


def test_a_method_limited_to_two_groups_is_listed_once(admin, vip, vip_client, vip_bank):
    gold = groups.save_group(None, name="Gold", actor=admin)
    vip_bank.client_groups.add(gold)
    assert list(deposits.enabled_methods(vip_client)) == [vip_bank]


def test_the_payment_method_form_offers_the_groups_and_keeps_them(admin, vip, vip_bank):
    http = logged_in(admin)
    url = reverse("backoffice:payment_method_edit", kwargs={"method_id": vip_bank.pk})
    page = http.get(url).content.decode()
    assert 'name="client_groups"' in page
    listed = http.get(reverse("backoffice:payment_methods")).content.decode()
    assert '<td class="client-groups">VIP</td>' in listed
    gold = groups.save_group(None, name="Gold", actor=admin)
    form = {
        "name": "VIP bank",
        "kind": "offline",
        "currencies": ["USD"],
        "min_amount": "50",
        "max_amount": "10000",
        "payout_to": "bank",
        "enabled": "on",
        "client_groups": [gold.pk],
    }
    assert post_form(http, url, form).status_code == 302
    assert [g.name for g in vip_bank.client_groups.all()] == ["Gold"]
    assert post_form(http, url, {**form, "client_groups": ["99999"]}).status_code == 422
    assert [g.name for g in vip_bank.client_groups.all()] == ["Gold"]
    post_form(http, url, {k: v for k, v in form.items() if k != "client_groups"})
    assert not vip_bank.client_groups.exists()  # none ticked: every client
