"""Disputes (chargebacks), proven with the sandbox provider: what can be frozen is held out of
the wallet and staff are told; won releases the hold, lost gives the money to the provider;
each once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import ValidationFailed
from propdesk.wallet import ledger, refunds, sandbox_payments
from propdesk.wallet.models import Payment, PaymentDispute, PaymentRefund
from propdesk.wallet.providers import sandbox
from tests.wallet.factories import deliver, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_deposit(active_client, sandbox_card, set_method):
    """A 300.00 card deposit, paid and credited."""
    from propdesk.wallet import deposits

    set_method("deposit", "automatic")
    made = deposits.request_deposit(
        active_client, method=sandbox_card.pk, amount="300.00", currency="USD"
    )
    assert deliver(sandbox_payments.event_for(made, paid=True)).json()["outcome"] == "paid"
    assert ledger.balances(active_client) == {"USD": Decimal("300.00")}
    return made


def sent_events():
    """The webhooks the sandbox queued, as it would send them."""
    import json

    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(
        task_path=sandbox_payments.deliver_webhook.module_path
    ).order_by("enqueued_at")
    return [json.loads(job.args_kwargs["args"][1]) for job in queued]


def open_dispute(deposit, amount):
    dispute_id = sandbox.open_dispute(deposit.checkout_token, Decimal(amount))
    return dispute_id, sent_events()[-1]


def test_a_dispute_holds_what_it_can_and_tells_staff(paid_deposit, active_client):
    _, event = open_dispute(paid_deposit, "300.00")
    assert deliver(event).json()["outcome"] == "dispute opened: 300.00 held"
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    dispute = PaymentDispute.objects.get()
    assert (dispute.status, dispute.held, dispute.amount) == ("open", 300, 300)
    told = ApprovalRequest.objects.get(type_key="payment_dispute")
    assert told.status == "pending"
    assert told.payload == {"dispute_id": dispute.pk}
    assert deliver({**event, "id": "evt_again"}).json()["outcome"] == "nothing new"
    assert ApprovalRequest.objects.filter(type_key="payment_dispute").count() == 1
    assert ledger.check() == []


def test_a_dispute_holds_only_what_the_wallet_still_has(paid_deposit, active_client, admin):
    from propdesk.wallet import services

    services.adjust(
        active_client.pk,
        direction="debit",
        amount="250.00",
        currency="USD",
        comment="Spent",
        actor=admin,
    )
    _, event = open_dispute(paid_deposit, "300.00")
    deliver(event)
    assert PaymentDispute.objects.get().held == Decimal("50.00")
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}


def test_a_dispute_won_releases_the_hold_once(paid_deposit, active_client):
    dispute_id, opened = open_dispute(paid_deposit, "120.00")
    deliver(opened)
    assert ledger.balances(active_client) == {"USD": Decimal("180.00")}
    sandbox.decide_dispute(dispute_id, won=True)
    closed = sent_events()[-1]
    assert deliver(closed).json()["outcome"] == "dispute won"
    assert deliver({**closed, "id": "evt_again"}).json()["outcome"] == "nothing new"
    assert ledger.balances(active_client) == {"USD": Decimal("300.00")}
    assert PaymentDispute.objects.get().status == "won"
    assert ledger.check() == []


def test_a_dispute_lost_gives_the_held_money_to_the_provider(paid_deposit, active_client, admin):
    fund(active_client, admin, "0.01")
    dispute_id, opened = open_dispute(paid_deposit, "300.00")
    deliver(opened)
    sandbox.decide_dispute(dispute_id, won=False)
    assert deliver(sent_events()[-1]).json()["outcome"] == "dispute lost"
    assert ledger.balances(active_client) == {"USD": Decimal("0.01")}
    dispute = PaymentDispute.objects.get()
    assert dispute.status == "lost"
    assert dispute.close_entry is not None
    assert Payment.objects.get().received == Decimal("300.00")
    assert ledger.check() == []


def test_an_open_dispute_shows_on_the_client_and_payment_pages(
    paid_deposit, active_client, finance
):
    from tests.conftest import logged_in

    dispute_id, opened = open_dispute(paid_deposit, "100.00")
    deliver(opened)
    browser = logged_in(finance)
    client_page = browser.get(f"/backoffice/clients/{active_client.pk}/").content.decode()
    assert f'data-open-dispute="{dispute_id}"' in client_page
    payment_page = browser.get(
        f"/backoffice/finance/payments/{Payment.objects.get().pk}/"
    ).content.decode()
    assert f'data-dispute="{dispute_id}"' in payment_page
    assert "Held from the wallet" not in payment_page  # the request's details are its own


def test_a_disputed_payment_cannot_also_be_refunded_by_staff(paid_deposit, active_client, finance):
    _, event = open_dispute(paid_deposit, "200.00")
    deliver(event)
    with pytest.raises(ValidationFailed):
        refunds.request_refund(
            Payment.objects.get().pk, amount="150.00", reason="Asked", actor=finance
        )
    assert not PaymentRefund.objects.exists()
    assert refunds.left_to_refund(Payment.objects.get()) == Decimal("100.00")
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
