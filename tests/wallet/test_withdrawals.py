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
from tests.wallet.factories import bank_destination

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
    kw.setdefault("destination", bank_destination())
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
    body = {
        "amount": "100.00",
        "currency": "USD",
        "method": "Bank transfer",
        "destination": bank_destination(),
    }
    first = api.call("POST", "/wallet/withdrawals", body, token=token, HTTP_IDEMPOTENCY_KEY="z")
    again = api.call("POST", "/wallet/withdrawals", body, token=token, HTTP_IDEMPOTENCY_KEY="z")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    too_much = {**body, "amount": "5000.00"}
    refused = api.call("POST", "/wallet/withdrawals", too_much, token=token)
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_funds"
    assert ledger.balances(funded) == {"USD": Decimal("900.00")}


def _cash_paid(method) -> Decimal:
    return ledger.cash_account(method, "USD").balance


def test_a_withdrawal_approved_for_less_pays_exactly_that_and_gives_back_the_rest(
    funded, bank_transfer, finance
):
    withdrawal = withdraw(funded, bank_transfer, "400.00")
    approvals.approve(request_of(withdrawal).pk, actor=finance, amount="150.00")
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"
    assert withdrawal.paid_amount == Decimal("150.00")
    assert _cash_paid(bank_transfer) == Decimal("150.00")
    assert ledger.balances(funded) == {"USD": Decimal("850.00")}  # 1000 - 150 paid
    assert ledger.firm_account("pending_withdrawals", "USD", "x").balance == 0
    assert ledger.check() == []


def test_a_withdrawal_cannot_be_approved_for_more_than_was_asked(funded, bank_transfer, finance):
    withdrawal = withdraw(funded, bank_transfer, "100.00")
    with pytest.raises(ValidationFailed) as caught:
        approvals.approve(request_of(withdrawal).pk, actor=finance, amount="5000.00")
    assert "at most 100.00 USD" in caught.value.fields["amount"]
    request = request_of(withdrawal)
    assert request.status == "pending"
    assert request.amount == Decimal("100.00")
    assert _cash_paid(bank_transfer) == 0
    assert ledger.balances(funded) == {"USD": Decimal("900.00")}


def test_a_withdrawal_approved_as_asked_pays_the_whole_hold(funded, bank_transfer, finance):
    withdrawal = withdraw(funded, bank_transfer, "100.00")
    approvals.approve(request_of(withdrawal).pk, actor=finance, amount="100.00")
    withdrawal.refresh_from_db()
    assert withdrawal.paid_amount == Decimal("100.00")
    assert withdrawal.release_entry is None
    assert _cash_paid(bank_transfer) == Decimal("100.00")


def test_an_amount_cannot_be_amended_where_the_request_type_does_not_allow_it(
    funded, bank_transfer, finance, admin
):
    from propdesk.approvals import registry

    # A request type carrying an amount that a reviewer may not change.
    fixed = registry.register(
        registry.RequestType(key="test_fixed_amount", label="Fixed", review_permission="x")
    )
    try:
        request = approvals.submit(
            fixed.key, client=funded, amount=Decimal("10.00"), currency="USD"
        )
        with pytest.raises(ValidationFailed) as caught:
            approvals.approve(request.pk, actor=admin, amount="20.00")
        assert "cannot be changed" in caught.value.fields["amount"]
        request.refresh_from_db()
        assert request.status == "pending"
        assert request.amount == Decimal("10.00")
    finally:
        registry._TYPES.pop(fixed.key)


def test_the_api_refuses_paying_out_more_than_a_withdrawal_asked(funded, bank_transfer, finance):
    withdrawal = withdraw(funded, bank_transfer, "100.00")
    api = Api()
    token = api.token(finance.email, PASSWORD)
    response = api.call(
        "POST",
        f"/approvals/{request_of(withdrawal).pk}/approve",
        {"amount": "5000.00"},
        token=token,
    )
    assert response.status_code == 422
    assert "amount" in response.json()["fields"]
    withdrawal.refresh_from_db()
    assert withdrawal.status == "pending"
    assert _cash_paid(bank_transfer) == 0


def test_the_review_page_offers_the_payout_amount_for_a_withdrawal(
    funded, bank_transfer, finance, client
):
    withdrawal = withdraw(funded, bank_transfer, "100.00")
    client.force_login(finance)
    page = client.get(f"/backoffice/approvals/{request_of(withdrawal).pk}/").content.decode()
    assert "Amount to pay out" in page


def test_the_review_page_names_the_payment_method_apart_from_the_approval_method(
    funded, bank_transfer, finance, client
):
    withdrawal = withdraw(funded, bank_transfer, "100.00")
    client.force_login(finance)
    page = client.get(f"/backoffice/approvals/{request_of(withdrawal).pk}/").content.decode()
    assert page.count("<dt>Method</dt>") == 1  # the payment method, Bank transfer
    assert "<dt>Approval method</dt><dd>Manual</dd>" in page


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


def test_a_later_level_may_pay_up_to_the_hold_whatever_an_earlier_level_amended(
    funded, bank_transfer, finance, admin
):
    approvals.set_policy(
        "withdrawal", method="manual", level_roles=["Finance", "Administrator"], actor=admin
    )
    withdrawal = withdraw(funded, bank_transfer, "400.00")
    approvals.approve(request_of(withdrawal).pk, actor=finance, amount="40.00")  # a slip
    with pytest.raises(ValidationFailed):
        approvals.approve(request_of(withdrawal).pk, actor=admin, amount="400.01")
    approvals.approve(request_of(withdrawal).pk, actor=admin, amount="400.00")
    withdrawal.refresh_from_db()
    assert withdrawal.paid_amount == Decimal("400.00")
    assert _cash_paid(bank_transfer) == Decimal("400.00")
    assert ledger.balances(funded) == {"USD": Decimal("600.00")}
