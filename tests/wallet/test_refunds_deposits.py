"""Refunds and disputes of wallet deposits paid online: only what a deposit credited to the wallet
is ever taken back out of it (a deposit still waiting for approval is decided first, a rejected
one's money never entered the books); a refund the provider leaves pending is booked only when
it says succeeded; a refund whose provider stayed away is asked again by the sweep."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import Conflict, ValidationFailed
from propdesk.wallet import deposits, ledger, refunds, sandbox_payments
from propdesk.wallet.models import (
    Deposit,
    JournalEntry,
    Payment,
    PaymentDispute,
    PaymentMessage,
    PaymentRefund,
)
from propdesk.wallet.providers import registry, sandbox
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(set_method):
    set_method("deposit", "manual", levels=["Finance"])


def pay(client, method, amount):
    """A card deposit of `amount`, paid at the sandbox: it waits for approval."""
    made = deposits.request_deposit(client, method=method.pk, amount=amount, currency="USD")
    assert deliver(sandbox_payments.event_for(made, paid=True)).json()["outcome"] == "paid"
    made.refresh_from_db()
    assert made.status == "pending"
    return made


def request_of(deposit):
    return ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=deposit.pk)


def approve(deposit, actor, amount=None):
    approvals.approve(request_of(deposit).pk, actor=actor, amount=amount)


def reject(deposit, actor):
    approvals.reject(request_of(deposit).pk, actor=actor, reason="Not the client's card")


def payment_of(deposit):
    return Payment.objects.get(token=deposit.checkout_token)


def last_webhook():
    queued = DBTaskResult.objects.filter(
        task_path=sandbox_payments.deliver_webhook.module_path
    ).order_by("enqueued_at")
    return json.loads(list(queued)[-1].args_kwargs["args"][1])


def refund_entries():
    return JournalEntry.objects.filter(type="payment_refund").count()


def usd(client):
    return ledger.balances(client).get("USD", Decimal("0.00"))


@pytest.fixture
def credited(reviewed, active_client, sandbox_card, finance):
    """A 100.00 card deposit, paid and approved: 100.00 in the wallet."""
    made = pay(active_client, sandbox_card, "100.00")
    approve(made, finance)
    assert usd(active_client) == Decimal("100.00")
    return made


def sandbox_plays(**values):
    account = registry.account("sandbox")
    account.values = values
    account.save()


# --- 1. money that never reached the wallet is never taken from it ----------------------------


def test_refunding_a_deposit_still_waiting_for_approval_is_refused_and_moves_nothing(
    credited, active_client, sandbox_card, finance
):
    waiting = pay(active_client, sandbox_card, "50.00")
    with pytest.raises(Conflict, match="still waiting for approval"):
        refunds.request_refund(
            payment_of(waiting).pk, amount="50.00", reason="Asked", actor=finance
        )
    assert not PaymentRefund.objects.exists()
    assert usd(active_client) == Decimal("100.00")
    approve(waiting, finance)  # decided first, then it may be refunded from the wallet
    assert usd(active_client) == Decimal("150.00")
    assert ledger.check() == []


def test_refunding_a_rejected_deposit_books_nothing_and_leaves_the_wallet_alone(
    credited, active_client, sandbox_card, finance, run_jobs
):
    rejected = pay(active_client, sandbox_card, "50.00")
    reject(rejected, finance)
    before = refund_entries()
    refunds.request_refund(
        payment_of(rejected).pk, amount="50.00", reason="Sent back", actor=finance
    )
    assert usd(active_client) == Decimal("100.00")  # nothing held: none of it is in the wallet
    run_jobs()
    refund = PaymentRefund.objects.get()
    assert refund.status == "succeeded"
    assert (refund.hold_entry, refund.entry) == (None, None)
    assert refund_entries() == before
    assert usd(active_client) == Decimal("100.00")
    assert payment_of(rejected).refunded == Decimal("50.00")
    assert ledger.check() == []


def test_refunding_an_approved_deposit_takes_it_from_the_wallet(
    credited, active_client, finance, run_jobs
):
    refunds.request_refund(payment_of(credited).pk, amount="40.00", reason="Asked", actor=finance)
    assert usd(active_client) == Decimal("60.00")  # held at once
    run_jobs()
    assert PaymentRefund.objects.get().status == "succeeded"
    assert usd(active_client) == Decimal("60.00")
    assert payment_of(credited).refunded == Decimal("40.00")
    assert ledger.check() == []


def test_a_deposit_approved_for_less_gives_back_the_uncredited_part_first(
    reviewed, active_client, sandbox_card, finance, run_jobs
):
    made = pay(active_client, sandbox_card, "50.00")
    approve(made, finance, amount="30.00")  # the reviewer credited 30.00 of the 50.00
    refunds.request_refund(payment_of(made).pk, amount="30.00", reason="Part", actor=finance)
    assert usd(active_client) == Decimal("20.00")  # 20.00 never credited: only 10.00 held
    refunds.request_refund(payment_of(made).pk, amount="20.00", reason="Rest", actor=finance)
    assert usd(active_client) == Decimal("0.00")
    run_jobs()
    assert payment_of(made).refunded == Decimal("50.00")
    assert usd(active_client) == Decimal("0.00")
    assert ledger.check() == []


def test_a_refund_at_the_dashboard_of_a_deposit_still_waiting_withdraws_it(
    credited, active_client, sandbox_card, finance
):
    waiting = pay(active_client, sandbox_card, "50.00")
    sandbox.dashboard_refund(waiting.checkout_token, Decimal("50.00"))
    assert deliver(last_webhook()).json()["outcome"].startswith("refund of 50.00 USD")
    waiting.refresh_from_db()
    assert waiting.status == "rejected"  # never credited now
    assert request_of(waiting).status == "cancelled"
    assert usd(active_client) == Decimal("100.00")
    assert PaymentRefund.objects.get().entry is None  # it never entered the books
    assert payment_of(waiting).refunded == Decimal("50.00")
    assert ledger.check() == []


def test_a_refund_at_the_dashboard_of_a_rejected_deposit_leaves_the_wallet_alone(
    credited, active_client, sandbox_card, finance
):
    rejected = pay(active_client, sandbox_card, "50.00")
    reject(rejected, finance)
    sandbox.dashboard_refund(rejected.checkout_token, Decimal("50.00"))
    deliver(last_webhook())
    assert usd(active_client) == Decimal("100.00")
    assert PaymentRefund.objects.get().entry is None
    assert ledger.check() == []


def test_a_refund_at_the_dashboard_of_an_approved_deposit_leaves_the_wallet(
    credited, active_client
):
    sandbox.dashboard_refund(credited.checkout_token, Decimal("30.00"))
    deliver(last_webhook())
    assert usd(active_client) == Decimal("70.00")
    assert PaymentRefund.objects.get().entry is not None
    assert ledger.check() == []


def test_a_dispute_of_a_deposit_still_waiting_holds_nothing_and_lost_withdraws_it(
    credited, active_client, sandbox_card, finance
):
    waiting = pay(active_client, sandbox_card, "50.00")
    dispute_id = sandbox.open_dispute(waiting.checkout_token, Decimal("50.00"))
    assert deliver(last_webhook()).json()["outcome"] == "dispute opened: 0.00 held"
    assert usd(active_client) == Decimal("100.00")  # the client's other money is not frozen
    sandbox.decide_dispute(dispute_id, won=False)
    deliver(last_webhook())
    dispute = PaymentDispute.objects.get()
    assert (dispute.status, dispute.close_entry) == ("lost", None)  # never in the books
    waiting.refresh_from_db()
    assert waiting.status == "rejected"  # the bank took it back: never credited
    assert usd(active_client) == Decimal("100.00")
    assert ledger.check() == []


def test_a_dispute_of_a_rejected_deposit_holds_nothing_and_lost_books_nothing(
    credited, active_client, sandbox_card, finance
):
    rejected = pay(active_client, sandbox_card, "50.00")
    reject(rejected, finance)
    dispute_id = sandbox.open_dispute(rejected.checkout_token, Decimal("50.00"))
    deliver(last_webhook())
    assert PaymentDispute.objects.get().held == 0
    sandbox.decide_dispute(dispute_id, won=False)
    deliver(last_webhook())
    assert PaymentDispute.objects.get().close_entry is None
    assert usd(active_client) == Decimal("100.00")
    assert not JournalEntry.objects.filter(type="dispute_lost").exists()
    assert ledger.check() == []


def test_a_dispute_of_an_approved_deposit_holds_it_and_lost_takes_it(credited, active_client):
    dispute_id = sandbox.open_dispute(credited.checkout_token, Decimal("60.00"))
    assert deliver(last_webhook()).json()["outcome"] == "dispute opened: 60.00 held"
    assert usd(active_client) == Decimal("40.00")
    sandbox.decide_dispute(dispute_id, won=False)
    deliver(last_webhook())
    assert PaymentDispute.objects.get().close_entry is not None
    assert usd(active_client) == Decimal("40.00")
    assert ledger.check() == []


# --- 2. a refund the provider leaves pending is booked only when it succeeds ------------------


def test_a_refund_the_provider_leaves_pending_is_booked_only_when_it_succeeds(
    credited, active_client, finance, run_jobs
):
    sandbox_plays(refunds_pending="yes")
    refunds.request_refund(payment_of(credited).pk, amount="40.00", reason="Asked", actor=finance)
    run_jobs()
    refund = PaymentRefund.objects.get()
    assert (refund.status, refund.entry) == ("pending", None)
    assert refund.provider_refund_id
    assert usd(active_client) == Decimal("60.00")  # still held
    assert payment_of(credited).refunded == 0
    assert refunds.carry_out.call(refund.pk) == "pending"  # asked again: still pending
    sandbox.finish_refund(credited.checkout_token, refund.provider_refund_id, succeeded=True)
    deliver(last_webhook())  # the provider's refund notice
    run_jobs()
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert refund.entry is not None
    assert payment_of(credited).refunded == Decimal("40.00")
    assert usd(active_client) == Decimal("60.00")
    assert PaymentRefund.objects.count() == 1  # never booked again as one made at the provider
    assert ledger.check() == []


def test_a_pending_refund_that_fails_later_gives_the_hold_back(
    credited, active_client, finance, run_jobs
):
    sandbox_plays(refunds_pending="yes")
    refunds.request_refund(payment_of(credited).pk, amount="40.00", reason="Asked", actor=finance)
    run_jobs()
    refund = PaymentRefund.objects.get()
    sandbox.finish_refund(credited.checkout_token, refund.provider_refund_id, succeeded=False)
    deliver(last_webhook())
    run_jobs()
    refund.refresh_from_db()
    assert refund.status == "failed"
    assert usd(active_client) == Decimal("100.00")
    assert payment_of(credited).refunded == 0
    assert refunds.left_to_refund(payment_of(credited)) == Decimal("100.00")
    assert ledger.check() == []


# --- 3. a refund whose provider stayed away is asked again, or cancelled by staff -------------


def test_a_refund_whose_provider_stayed_away_is_asked_again_by_the_sweep(
    credited, active_client, finance, run_jobs, settings
):
    settings.JOBS_RETRY_SECONDS = 0
    settings.JOBS_RETRY_MAX_SECONDS = 0
    sandbox_plays(unreachable="yes")
    refunds.request_refund(payment_of(credited).pk, amount="40.00", reason="Asked", actor=finance)
    run_jobs()  # every attempt fails: the job gives up
    refund = PaymentRefund.objects.get()
    assert refund.status == "pending"
    gave_up = DBTaskResult.objects.get(task_path=refunds.carry_out.module_path)
    assert gave_up.status == "FAILED"
    assert refunds.sweep() == 0  # too recent to ask again
    long_ago = timezone.now() - timedelta(minutes=30)
    PaymentRefund.objects.filter(pk=refund.pk).update(created_at=long_ago)
    PaymentMessage.objects.filter(what="refund").update(created_at=long_ago)
    sandbox_plays()  # the provider is back
    assert refunds.sweep() == 1
    assert refunds.sweep() == 0  # already queued: not twice
    run_jobs()
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert payment_of(credited).refunded == Decimal("40.00")
    assert usd(active_client) == Decimal("60.00")
    assert ledger.check() == []


def test_a_refund_older_than_the_providers_idempotency_window_is_not_asked_again(credited, finance):
    refunds.request_refund(payment_of(credited).pk, amount="40.00", reason="Asked", actor=finance)
    DBTaskResult.objects.filter(task_path=refunds.carry_out.module_path).delete()
    PaymentRefund.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert refunds.sweep() == 0
    # Nor by anything else that queues it (a payment's news): nothing is asked of the provider.
    assert refunds.carry_out.call(PaymentRefund.objects.get().pk).startswith("pending: too old")
    assert not PaymentMessage.objects.filter(what="refund").exists()
    assert PaymentRefund.objects.get().status == "pending"


def test_a_refund_being_asked_right_now_cannot_be_cancelled(credited, finance, active_client):
    sandbox_plays(unreachable="yes")
    refund = refunds.request_refund(
        payment_of(credited).pk, amount="40.00", reason="Asked", actor=finance
    )
    job = DBTaskResult.objects.filter(task_path=refunds.carry_out.module_path)
    job.update(status="RUNNING")  # a worker is in the middle of asking the provider
    with pytest.raises(Conflict, match="right now"):
        refunds.cancel(refund.pk, reason="Give up", actor=finance)
    assert PaymentRefund.objects.get(pk=refund.pk).status == "pending"
    job.update(status="READY")  # queued only: it will find the refund cancelled
    assert refunds.cancel(refund.pk, reason="Give up", actor=finance).status == "failed"
    assert refunds.carry_out.call(refund.pk) == "failed"
    assert usd(active_client) == Decimal("100.00")


def test_staff_cancel_a_pending_refund_and_its_hold_goes_back(credited, active_client, finance):
    sandbox_plays(unreachable="yes")
    refund = refunds.request_refund(
        payment_of(credited).pk, amount="40.00", reason="Asked", actor=finance
    )
    with pytest.raises(ValidationFailed):
        refunds.cancel(refund.pk, reason=" ", actor=finance)
    cancelled = refunds.cancel(refund.pk, reason="Refunded by hand at the provider", actor=finance)
    assert cancelled.status == "failed"
    assert "Refunded by hand" in cancelled.error
    assert usd(active_client) == Decimal("100.00")
    with pytest.raises(Conflict):
        refunds.cancel(refund.pk, reason="Again", actor=finance)
    assert refunds.carry_out.call(refund.pk) == "failed"  # the queued job does nothing
    assert Deposit.objects.get(pk=credited.pk).status == "approved"
    assert ledger.check() == []


def test_the_refund_sweep_runs_with_the_housekeeping():
    from propdesk.jobs import housekeeping

    assert "wallet.sweep_refunds" in housekeeping.sweeps()


def test_staff_cancel_a_pending_refund_from_its_own_payments_page_only(
    credited, active_client, finance, sandbox_card
):
    from tests.conftest import logged_in, post_form

    sandbox_plays(unreachable="yes")
    payment = payment_of(credited)
    refund = refunds.request_refund(payment.pk, amount="40.00", reason="Asked", actor=finance)
    browser = logged_in(finance)
    page = browser.get(f"/backoffice/finance/payments/{payment.pk}/").content.decode()
    assert f'data-cancel-refund="{refund.pk}"' in page
    sandbox_plays()
    other = payment_of(pay(active_client, sandbox_card, "30.00"))
    wrong = post_form(
        browser,
        f"/backoffice/finance/payments/{other.pk}/refunds/{refund.pk}/cancel/",
        {"reason": "Wrong page"},
    )
    assert wrong.status_code == 404
    assert PaymentRefund.objects.get(pk=refund.pk).status == "pending"
    done = post_form(
        browser,
        f"/backoffice/finance/payments/{payment.pk}/refunds/{refund.pk}/cancel/",
        {"reason": "Settled by hand at the provider"},
    )
    assert done.status_code == 302
    assert PaymentRefund.objects.get(pk=refund.pk).status == "failed"
    assert usd(active_client) == Decimal("100.00")
    assert ledger.check() == []


def test_a_deposit_whose_payment_is_disputed_is_not_credited_until_the_dispute_is_decided(
    credited, active_client, sandbox_card, finance
):
    waiting = pay(active_client, sandbox_card, "50.00")
    dispute_id = sandbox.open_dispute(waiting.checkout_token, Decimal("50.00"))
    deliver(last_webhook())
    with pytest.raises(Conflict, match="disputed"):
        approve(waiting, finance)
    waiting.refresh_from_db()
    assert waiting.status == "pending"
    assert usd(active_client) == Decimal("100.00")
    sandbox.decide_dispute(dispute_id, won=True)  # the firm won: the money is the client's
    deliver(last_webhook())
    approve(waiting, finance)
    assert usd(active_client) == Decimal("150.00")
    assert ledger.check() == []
