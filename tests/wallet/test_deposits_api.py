from __future__ import annotations

import pytest

from propdesk.onboarding import kyc
from propdesk.wallet.models import Deposit
from tests.api.conftest import Api
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_client_deposits_through_the_api_once_per_key(active_client, bank_transfer):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    [method] = api.call("GET", "/payment-methods", token=token).json()
    assert method["name"] == "Bank transfer"
    body = {"amount": "250.00", "currency": "EUR", "method": method["id"]}
    first = api.call("POST", "/wallet/deposits", body, token=token, HTTP_IDEMPOTENCY_KEY="abc")
    again = api.call("POST", "/wallet/deposits", body, token=token, HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "pending"
    assert Deposit.objects.count() == 1


def test_api_deposit_without_kyc_is_403_kyc_required(active_client, bank_transfer, admin):
    kyc.set_policy(["deposit"], actor=admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    body = {"amount": "100", "currency": "USD", "method": "Bank transfer"}
    response = api.call("POST", "/wallet/deposits", body, token=token)
    assert response.status_code == 403
    assert response.json()["code"] == "kyc_required"
    assert not Deposit.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1", "currency": "USD", "method": "Bank transfer"}, "amount"),
        ({"amount": "1e3x", "currency": "USD", "method": "Bank transfer"}, "amount"),
        ({"amount": "100", "currency": "ZZZ", "method": "Bank transfer"}, "currency"),
        ({"amount": "100", "currency": "USD", "method": "Pigeon"}, "method"),
        ({"amount": "100", "currency": "USD"}, "method"),
    ],
)
def test_bad_api_deposits_are_422(active_client, bank_transfer, body, field):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call("POST", "/wallet/deposits", body, token=token)
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert not Deposit.objects.exists()
