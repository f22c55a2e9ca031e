from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.onboarding import kyc
from propdesk.onboarding.kyc_actions import KycRequired
from propdesk.wallet import deposits, ledger
from propdesk.wallet.models import Deposit, JournalEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(admin):
    return deposits.save_payment_method(
        None,
        name="Card",
        kind="online",
        currencies=["USD"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )


def ask(client, method, amount="500.00", currency="USD", **kw):
    return deposits.request_deposit(
        client, method=method.pk, amount=amount, currency=currency, **kw
    )


def request_of(deposit) -> ApprovalRequest:
    return ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=deposit.pk)


def test_bank_transfer_waits_for_finance_who_may_amend_the_amount(
    active_client, bank_transfer, finance
):
    deposit = ask(active_client, bank_transfer, "500.00")
    assert deposit.status == "pending"
    assert ledger.balances(active_client) == {}
    approvals.approve(
        request_of(deposit).pk,
        actor=finance,
        amount="480.00",
        comment="Fees",
        inputs={"bank_reference": "FT-480"},
    )
    deposit.refresh_from_db()
    assert deposit.status == "approved"
    assert deposit.credited_amount == Decimal("480.00")
    assert ledger.balances(active_client) == {"USD": Decimal("480.00")}
    assert deposit.entry.type == JournalEntry.Type.DEPOSIT
    assert AuditRecord.objects.filter(action=AuditAction.APPROVAL_AMEND_AMOUNT).exists()
    assert ledger.check() == []


def test_offline_deposits_are_manual_even_under_an_automatic_policy(
    active_client, bank_transfer, set_method
):
    set_method("deposit", "automatic")
    assert ask(active_client, bank_transfer).status == "pending"


def test_partial_threshold_auto_approves_small_online_deposits_only(active_client, card, admin):
    approvals.set_policy("deposit", method="partial", threshold="1000", actor=admin)
    small = ask(active_client, card, "999.99")
    large = ask(active_client, card, "1000.00")
    assert small.status == "approved"
    assert large.status == "pending"
    assert ledger.balances(active_client) == {"USD": Decimal("999.99")}


def test_rejection_moves_nothing(active_client, bank_transfer, finance):
    deposit = ask(active_client, bank_transfer)
    approvals.reject(request_of(deposit).pk, actor=finance, reason="No transfer arrived")
    deposit.refresh_from_db()
    assert deposit.status == "rejected"
    assert not JournalEntry.objects.exists()


def test_compliance_cannot_approve_deposits(active_client, bank_transfer, compliance):
    from propdesk.core.errors import Forbidden

    deposit = ask(active_client, bank_transfer)
    with pytest.raises(Forbidden):
        approvals.approve(request_of(deposit).pk, actor=compliance)


def test_the_same_idempotency_key_asks_once(active_client, bank_transfer):
    first = ask(active_client, bank_transfer, idempotency_key="dep-1")
    again = ask(active_client, bank_transfer, idempotency_key="dep-1")
    assert first.pk == again.pk
    assert Deposit.objects.count() == 1
    with pytest.raises(Conflict):
        ask(active_client, bank_transfer, "501.00", idempotency_key="dep-1")


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("amount", {"amount": "49.99"}),
        ("amount", {"amount": "10000.01"}),
        ("amount", {"amount": "-100"}),
        ("amount", {"amount": "0"}),
        ("amount", {"amount": "abc"}),
        ("amount", {"amount": "100.001"}),
        ("currency", {"currency": "GBP"}),
        ("currency", {"currency": "???"}),
    ],
)
def test_deposits_outside_the_methods_terms_are_refused(
    active_client, bank_transfer, field, overrides
):
    with pytest.raises(ValidationFailed) as caught:
        ask(active_client, bank_transfer, **overrides)
    assert field in caught.value.fields
    assert not Deposit.objects.exists()


def test_unknown_or_disabled_method_is_refused(active_client, bank_transfer, admin):
    with pytest.raises(ValidationFailed):
        deposits.request_deposit(active_client, method=999, amount="100", currency="USD")
    deposits.save_payment_method(
        bank_transfer.pk,
        name="Bank transfer",
        kind="offline",
        currencies=["USD"],
        min_amount="50",
        max_amount="10000",
        enabled=False,
        actor=admin,
    )
    with pytest.raises(ValidationFailed):
        ask(active_client, bank_transfer)


def test_at_most_a_few_deposits_wait_at_once(active_client, bank_transfer, settings):
    settings.MAX_PENDING_DEPOSITS = 2
    ask(active_client, bank_transfer)
    ask(active_client, bank_transfer)
    with pytest.raises(Conflict) as caught:
        ask(active_client, bank_transfer)
    assert caught.value.code == "too_many_pending"


def test_kyc_policy_blocks_deposits_until_kyc_is_approved(
    active_client, bank_transfer, admin, kyc_form, compliance
):
    from tests.onboarding.factories import answers, documents

    kyc.set_policy(["deposit"], actor=admin)
    with pytest.raises(KycRequired):
        ask(active_client, bank_transfer)
    assert not Deposit.objects.exists()
    kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    request = ApprovalRequest.objects.get(type_key="kyc")
    approvals.approve(request.pk, actor=compliance)
    active_client.refresh_from_db()
    assert ask(active_client, bank_transfer).status == "pending"


def test_the_wallet_says_a_deposit_waits_for_kyc_and_the_deposit_page_asks_to_verify(
    active_client, bank_transfer, admin
):
    from tests.conftest import logged_in

    http = logged_in(active_client.user)
    assert 'id="waits-for-kyc"' not in http.get("/portal/wallet/").content.decode()
    kyc.set_policy(["deposit"], actor=admin)
    page = http.get("/portal/wallet/").content.decode()
    assert 'id="waits-for-kyc"' in page
    assert "Verify your identity before you deposit" in page
    refused = http.get("/portal/wallet/deposit/")
    assert refused.status_code == 403
    assert "Verify your identity first" in refused.content.decode()
    assert 'href="/portal/kyc/"' in refused.content.decode()


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("currencies", {"currencies": []}),
        ("currencies", {"currencies": ["XYZ"]}),
        ("kind", {"kind": "carrier pigeon"}),
        ("max_amount", {"min_amount": "100", "max_amount": "50"}),
        ("name", {"name": ""}),
    ],
)
def test_payment_method_settings_are_checked(admin, field, overrides):
    data = {
        "name": "Wire",
        "kind": "offline",
        "currencies": ["USD"],
        "min_amount": "1",
        "max_amount": "100",
    }
    data.update(overrides)
    with pytest.raises(ValidationFailed) as caught:
        deposits.save_payment_method(None, actor=admin, **data)
    assert field in caught.value.fields
