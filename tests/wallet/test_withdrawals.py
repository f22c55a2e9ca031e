from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import Conflict, ValidationFailed
from propdesk.onboarding import kyc
from propdesk.onboarding.kyc_actions import KycRequired
from propdesk.wallet import ledger, services, withdrawals
from propdesk.wallet.models import Withdrawal
from tests.api.conftest import Api
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(active_client, finance):
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="1000.00",
        currency="USD",
        comment="Funding",
        actor=finance,
    )
    return active_client


def withdraw(client, method, amount="400.00", **kw):
    return withdrawals.request_withdrawal(
        client, method=method.pk, amount=amount, currency="USD", **kw
    )


def request_of(withdrawal) -> ApprovalRequest:
    return ApprovalRequest.objects.get(type_key="withdrawal", payload__withdrawal_id=withdrawal.pk)


def test_requesting_holds_the_amount_and_paying_out_settles_it(funded, bank_transfer, finance):
    withdrawal = withdraw(funded, bank_transfer)
    assert ledger.balances(funded) == {"USD": Decimal("600.00")}
    approvals.approve(request_of(withdrawal).pk, actor=finance)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"
    assert ledger.balances(funded) == {"USD": Decimal("600.00")}
    pending = ledger.firm_account("pending_withdrawals", "USD", "x")
    assert pending.balance == 0
    assert ledger.check() == []


def test_rejection_releases_the_hold(funded, bank_transfer, finance):
    withdrawal = withdraw(funded, bank_transfer)
    approvals.reject(request_of(withdrawal).pk, actor=finance, reason="Name mismatch")
    assert ledger.balances(funded) == {"USD": Decimal("1000.00")}
    assert ledger.check() == []


def test_more_than_the_wallet_holds_is_refused(funded, bank_transfer):
    withdraw(funded, bank_transfer, "700.00")
    with pytest.raises(Conflict) as caught:
        withdraw(funded, bank_transfer, "300.01")
    assert caught.value.code == "insufficient_funds"
    assert Withdrawal.objects.count() == 1


def test_withdrawals_are_always_decided_by_a_person(funded, bank_transfer, admin):
    with pytest.raises(ValidationFailed):
        approvals.set_policy("withdrawal", method="automatic", actor=admin)
    assert withdraw(funded, bank_transfer).status == "pending"


def test_the_same_key_holds_once(funded, bank_transfer):
    first = withdraw(funded, bank_transfer, idempotency_key="w-1")
    again = withdraw(funded, bank_transfer, idempotency_key="w-1")
    assert first.pk == again.pk
    assert ledger.balances(funded) == {"USD": Decimal("600.00")}


def test_kyc_policy_applies_to_withdrawals(funded, bank_transfer, admin):
    kyc.set_policy(["withdraw"], actor=admin)
    with pytest.raises(KycRequired):
        withdraw(funded, bank_transfer)
    assert ledger.balances(funded) == {"USD": Decimal("1000.00")}


def test_api_withdrawal_holds_once_per_key(funded, bank_transfer):
    api = Api()
    token = api.token(funded.user.email, PASSWORD)
    body = {"amount": "100.00", "currency": "USD", "method": "Bank transfer"}
    first = api.call("POST", "/wallet/withdrawals", body, token=token, HTTP_IDEMPOTENCY_KEY="z")
    again = api.call("POST", "/wallet/withdrawals", body, token=token, HTTP_IDEMPOTENCY_KEY="z")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    too_much = {"amount": "5000.00", "currency": "USD", "method": "Bank transfer"}
    refused = api.call("POST", "/wallet/withdrawals", too_much, token=token)
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_funds"
    assert ledger.balances(funded) == {"USD": Decimal("900.00")}


def test_a_client_has_at_most_three_withdrawals_pending_and_more_are_refused(
    funded, bank_transfer, finance
):
    """Each one opens a request in Finance's queue: a client with a balance must not be able
    to fill it with a thousand small ones."""
    made = [withdraw(funded, bank_transfer, "60.00") for _ in range(3)]
    with pytest.raises(Conflict) as refused:
        withdraw(funded, bank_transfer, "60.00")
    assert refused.value.code == "too_many_pending"
    assert Withdrawal.objects.count() == 3
    assert ledger.balances(funded) == {"USD": Decimal("820.00")}  # nothing more held
    approvals.reject(request_of(made[0]).pk, actor=finance, reason="Wrong account")
    assert withdraw(funded, bank_transfer, "60.00").status == "pending"  # a place is free
