"""An offline deposit (a bank transfer) is approved against the transfer that arrived: the
reviewer enters its bank reference, required, trimmed, at most 64 characters, never one another
deposit already has (a reused reference is how one transfer gets credited twice). It is kept on
the deposit and shown on its review page, in the client's history for staff and in the report."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalAction, ApprovalRequest
from propdesk.core.errors import ValidationFailed
from propdesk.wallet import deposits, ledger
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db


def ask(client, method, amount="500.00"):
    return deposits.request_deposit(client, method=method.pk, amount=amount, currency="USD")


def request_of(deposit) -> ApprovalRequest:
    return ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=deposit.pk)


def review(request: ApprovalRequest) -> str:
    return f"/backoffice/approvals/{request.pk}/"


def approve_on_page(user, request: ApprovalRequest, **fields):
    http = logged_in(user)
    return post_form(
        http,
        f"/backoffice/approvals/{request.pk}/approve/",
        {"level": request.current_level, "comment": "", **fields},
    )


def test_the_bank_reference_is_kept_and_shown_where_staff_look(
    active_client, bank_transfer, finance
):
    deposit = ask(active_client, bank_transfer)
    request = request_of(deposit)
    page = logged_in(finance).get(review(request)).content.decode()
    assert 'name="bank_reference"' in page
    assert "Bank reference (required)" in page

    response = approve_on_page(finance, request, bank_reference="  FT26339ABC01  ")
    assert response.status_code == 302
    deposit.refresh_from_db()
    assert deposit.status == "approved"
    assert deposit.bank_reference == "FT26339ABC01"  # trimmed
    assert ledger.balances(active_client) == {"USD": Decimal("500.00")}

    page = logged_in(finance).get(review(request)).content.decode()
    assert re.search(r"<dt>Bank reference</dt><dd>FT26339ABC01</dd>", page)
    assert request.actions.filter(kind=ApprovalAction.Kind.NOTE, text__contains="FT26339ABC01")
    client_page = logged_in(finance).get(f"/backoffice/clients/{active_client.pk}/")
    assert "bank reference FT26339ABC01" in client_page.content.decode()
    report = logged_in(finance).get("/backoffice/reports/transactions/?format=csv")
    assert "bank reference FT26339ABC01" in b"".join(report.streaming_content).decode()


def test_approving_a_bank_transfer_without_its_reference_is_refused_and_changes_nothing(
    active_client, bank_transfer, finance
):
    deposit = ask(active_client, bank_transfer)
    request = request_of(deposit)
    response = approve_on_page(finance, request, bank_reference="   ")
    assert response.status_code == 422
    assert "Enter the transfer&#x27;s bank reference from the bank statement" in (
        response.content.decode()
    )
    deposit.refresh_from_db()
    request.refresh_from_db()
    assert (deposit.status, request.status) == ("pending", "pending")
    assert ledger.balances(active_client) == {}
    with pytest.raises(ValidationFailed) as refused:
        approvals.approve(request.pk, actor=finance)
    assert "bank_reference" in refused.value.fields


def test_a_bank_reference_already_credited_is_refused_naming_the_other_deposit(
    active_client, bank_transfer, finance
):
    first, second = ask(active_client, bank_transfer), ask(active_client, bank_transfer, "300.00")
    approvals.approve(request_of(first).pk, actor=finance, inputs={"bank_reference": "ref-77"})

    response = approve_on_page(finance, request_of(second), bank_reference="REF-77")
    assert response.status_code == 422
    said = response.content.decode()
    assert f"already recorded on deposit {first.reference}" in said
    second.refresh_from_db()
    assert (second.status, second.bank_reference) == ("pending", "")
    assert ledger.balances(active_client) == {"USD": Decimal("500.00")}


def test_a_rejected_deposits_reference_may_be_used_again(
    active_client, bank_transfer, finance, admin, set_method
):
    set_method("deposit", "manual", levels=["Finance", "Administrator"])
    first, second = ask(active_client, bank_transfer), ask(active_client, bank_transfer)
    approvals.approve(request_of(first).pk, actor=finance, inputs={"bank_reference": "R1"})
    approvals.reject(request_of(first).pk, actor=admin, reason="Sent back: wrong name")
    first.refresh_from_db()
    assert (first.status, first.bank_reference) == ("rejected", "R1")  # kept, for the record
    for who in (finance, admin):
        approvals.approve(request_of(second).pk, actor=who, inputs={"bank_reference": "r1"})
    second.refresh_from_db()
    assert (second.status, second.bank_reference) == ("approved", "r1")


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("X" * 65, "at most 64 characters"),
        ("REF\x00123", "cannot contain control characters"),
    ],
)
def test_a_bank_reference_too_long_or_with_control_characters_is_refused(
    active_client, bank_transfer, finance, given, said
):
    deposit = ask(active_client, bank_transfer)
    with pytest.raises(ValidationFailed) as refused:
        approvals.approve(request_of(deposit).pk, actor=finance, inputs={"bank_reference": given})
    assert said in refused.value.fields["bank_reference"]
    deposit.refresh_from_db()
    assert (deposit.status, deposit.bank_reference) == ("pending", "")


def test_a_hostile_bank_reference_is_shown_as_text(active_client, bank_transfer, finance):
    deposit = ask(active_client, bank_transfer)
    request = request_of(deposit)
    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "<b>x</b>"})
    page = logged_in(finance).get(review(request)).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<b>x</b>" not in page


def test_a_later_level_sees_the_reference_an_earlier_one_entered(
    active_client, bank_transfer, finance, admin, set_method
):
    set_method("deposit", "manual", levels=["Finance", "Administrator"])
    deposit = ask(active_client, bank_transfer)
    request = request_of(deposit)
    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "L1-REF"})
    page = logged_in(admin).get(review(request)).content.decode()
    assert re.search(r'name="bank_reference"[^>]*value="L1-REF"', page) or re.search(
        r'value="L1-REF"[^>]*name="bank_reference"', page
    )
    approvals.approve(request.pk, actor=admin, inputs={"bank_reference": "L1-REF"})
    deposit.refresh_from_db()
    assert (deposit.status, deposit.bank_reference) == ("approved", "L1-REF")


def test_an_online_deposit_asks_no_bank_reference(active_client, sandbox_card, finance):
    deposit = ask(active_client, sandbox_card)
    deposits.payment_received(deposit, payment_id="pay_1", amount=deposit.amount)
    request = request_of(deposit)
    assert 'name="bank_reference"' not in logged_in(finance).get(review(request)).content.decode()
    approvals.approve(request.pk, actor=finance)
    deposit.refresh_from_db()
    assert deposit.status == "approved"


def test_the_api_takes_the_bank_reference_and_names_it_when_missing(
    active_client, bank_transfer, finance
):
    api = Api()
    token = api.token(finance.email, PASSWORD)
    deposit = ask(active_client, bank_transfer)
    request = request_of(deposit)
    missing = api.call("POST", f"/approvals/{request.pk}/approve", {}, token=token)
    assert missing.status_code == 422
    assert "bank_reference" in missing.json()["fields"]
    done = api.call(
        "POST",
        f"/approvals/{request.pk}/approve",
        {"inputs": {"bank_reference": "API-REF-9"}},
        token=token,
    )
    assert done.status_code == 200
    assert {"label": "Bank reference", "value": "API-REF-9"} in done.json()["details"]
    deposit.refresh_from_db()
    assert (deposit.status, deposit.bank_reference) == ("approved", "API-REF-9")
