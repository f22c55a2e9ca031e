"""Refunds of online payments, proven with the sandbox provider: asked by staff with the
permission, carried out after the commit once, a refunded fee reverses its entry; refused or
too large: nothing moves; a refund made at the provider's dashboard is booked once."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django_tasks_db.models import DBTaskResult

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import Forbidden, ValidationFailed
from propdesk.platforms.sandbox import accounts
from propdesk.wallet import ledger, refunds, sandbox_payments
from propdesk.wallet.models import JournalEntry, Payment, PaymentRefund, SandboxCharge
from propdesk.wallet.providers import sandbox
from tests.challenges.factories import definition
from tests.support import carry_out_platform_commands
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db

FEE = Decimal("499.00")


@pytest.fixture
def challenge(admin):
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


@pytest.fixture
def paid(active_client, challenge, sandbox_card):
    """A challenge bought directly, paid 600.00 (101.00 over, kept in the wallet)."""
    joined = participation.start(
        active_client, challenge.pk, payment="direct", method=sandbox_card.pk
    )
    event = sandbox_payments.event_for(joined, paid=True, amount=Decimal("600.00"))
    assert deliver(event).json()["outcome"] == "paid"
    joined.refresh_from_db()
    return joined


def payment():
    return Payment.objects.get()


def test_a_whole_refund_reverses_the_fee_and_the_money_leaves_the_wallet(
    paid, active_client, finance, run_jobs
):
    refunds.request_refund(
        payment().pk, amount="600.00", reason="Asked by the client", actor=finance
    )
    run_jobs()
    refund = PaymentRefund.objects.get()
    assert refund.status == "succeeded"
    assert refund.provider_refund_id.startswith("re_")
    paid.refresh_from_db()
    assert paid.refund_entry is not None
    assert paid.refund_entry.reverses_id == paid.fee_entry_id
    assert paid.status == "cancelled"
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    assert (payment().status, payment().refunded) == ("refunded", Decimal("600.00"))
    assert SandboxCharge.objects.get().refunded == Decimal("600.00")
    assert ledger.check() == []


def test_a_part_within_the_over_payment_leaves_the_fee_alone(
    paid, active_client, finance, run_jobs
):
    refunds.request_refund(payment().pk, amount="100.00", reason="The extra", actor=finance)
    assert ledger.balances(active_client) == {"USD": Decimal("1.00")}  # held on its way
    run_jobs()
    paid.refresh_from_db()
    assert paid.refund_entry is None
    assert paid.status != "cancelled"
    assert ledger.balances(active_client) == {"USD": Decimal("1.00")}
    assert payment().refunded == Decimal("100.00")
    assert ledger.check() == []


def test_a_refund_larger_than_what_is_left_is_refused_and_writes_nothing(paid, finance):
    with pytest.raises(ValidationFailed) as refused:
        refunds.request_refund(payment().pk, amount="600.01", reason="Too much", actor=finance)
    assert "amount" in refused.value.fields
    refunds.request_refund(payment().pk, amount="500.00", reason="Most", actor=finance)
    with pytest.raises(ValidationFailed):  # a pending refund counts
        refunds.request_refund(payment().pk, amount="100.01", reason="Rest", actor=finance)
    assert PaymentRefund.objects.count() == 1


@pytest.mark.parametrize("amount", ["", "-5", "0", "abc", "1e9", "0.001"])
def test_a_bad_amount_or_no_reason_is_refused(paid, finance, amount):
    with pytest.raises(ValidationFailed):
        refunds.request_refund(payment().pk, amount=amount, reason="x", actor=finance)
    with pytest.raises(ValidationFailed):
        refunds.request_refund(payment().pk, amount="10.00", reason="  ", actor=finance)
    assert not PaymentRefund.objects.exists()


def test_a_refund_the_provider_refuses_fails_with_its_answer_and_nothing_moves(
    paid, active_client, finance, run_jobs
):
    SandboxCharge.objects.update(refuse_refunds=True)  # the sandbox's control
    refunds.request_refund(payment().pk, amount="600.00", reason="Asked", actor=finance)
    run_jobs()
    refund = PaymentRefund.objects.get()
    assert refund.status == "failed"
    assert "refund_refused" in refund.error
    paid.refresh_from_db()
    assert paid.refund_entry is None
    assert ledger.balances(active_client) == {"USD": Decimal("101.00")}
    assert payment().refunded == 0
    assert ledger.check() == []


def test_a_refund_carried_out_twice_refunds_once(paid, active_client, finance):
    made = refunds.request_refund(payment().pk, amount="50.00", reason="Part", actor=finance)
    assert refunds.carry_out.call(made.pk) == "refunded"
    assert refunds.carry_out.call(made.pk) == "succeeded"  # a retried job
    assert SandboxCharge.objects.get().refunded == Decimal("50.00")
    assert JournalEntry.objects.filter(type="payment_refund").count() == 2  # the hold, the out
    assert payment().refunded == Decimal("50.00")


def test_staff_without_the_permission_are_refused(paid, staff_factory):
    support = staff_factory("Support")
    with pytest.raises(Forbidden):
        refunds.request_refund(payment().pk, amount="10.00", reason="x", actor=support)
    assert not PaymentRefund.objects.exists()


def test_a_refund_made_at_the_providers_dashboard_is_booked_once(paid, active_client):
    sandbox.dashboard_refund(paid.checkout_token, Decimal("101.00"))
    # The sandbox queued its webhook; deliver what it sent.
    sent = DBTaskResult.objects.filter(task_path=sandbox_payments.deliver_webhook.module_path)
    body = json.loads(sent.get().args_kwargs["args"][1])
    assert deliver(body).json()["outcome"].startswith("refund of 101.00 USD")
    assert deliver({**body, "id": "evt_again"}).json()["outcome"] == "nothing new"
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    assert payment().refunded == Decimal("101.00")
    assert PaymentRefund.objects.get().requested_by is None
    assert ledger.check() == []


def test_refunding_an_active_purchase_closes_its_trading_account_through_the_cancel_path(
    paid, active_client, finance, run_jobs
):
    carry_out_platform_commands()  # the stage's account is opened after the approval
    paid.refresh_from_db()
    attempt = paid.current_attempt()
    assert (paid.status, attempt.status) == ("active", "in_progress")
    assert accounts.account_by_login(attempt.login).trading_enabled is True
    refunds.request_refund(payment().pk, amount="600.00", reason="Chargeback threat", actor=finance)
    run_jobs()
    carry_out_platform_commands()
    paid.refresh_from_db()
    attempt.refresh_from_db()
    assert (paid.status, attempt.status) == ("cancelled", "cancelled")
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    assert "payment provider" not in attempt.staff_note  # staff asked: their name is kept
    assert finance.email in attempt.staff_note
    assert paid.refund_entry.reverses_id == paid.fee_entry_id
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    assert ledger.check() == []


def test_a_refund_at_the_providers_dashboard_of_the_fee_also_closes_the_account(
    paid, active_client
):
    carry_out_platform_commands()
    attempt = paid.current_attempt()
    sandbox.dashboard_refund(paid.checkout_token, Decimal("600.00"))
    sent = DBTaskResult.objects.filter(task_path=sandbox_payments.deliver_webhook.module_path)
    deliver(json.loads(sent.get().args_kwargs["args"][1]))
    carry_out_platform_commands()
    paid.refresh_from_db()
    attempt.refresh_from_db()
    assert (paid.status, attempt.status) == ("cancelled", "cancelled")
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    assert "the payment provider" in attempt.staff_note
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
