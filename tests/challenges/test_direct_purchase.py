"""A direct purchase: the participation waits in `pending_payment` for the payment provider's
signed webhook, which takes the fee (through the wallet, one Prop Trading Fee entry) and makes
the request; a cancelled or replayed payment changes nothing more."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import ValidationFailed
from propdesk.reports import transactions as reports
from propdesk.wallet import ledger, sandbox_payments
from propdesk.wallet.models import JournalEntry
from tests.api.conftest import Api
from tests.challenges.factories import definition
from tests.conftest import PASSWORD, logged_in, post_form
from tests.support import carry_out_platform_commands
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db


def buy(client, challenge, method, key=None):
    return participation.start(
        client, challenge.pk, payment="direct", method=method.pk, idempotency_key=key
    )


def test_a_direct_purchase_waits_for_the_payment_and_charges_nothing_before(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    assert joined.status == "pending_payment"
    assert joined.fee_entry is None
    assert joined.checkout_token is not None
    assert ledger.balances(active_client) == {}
    assert not ApprovalRequest.objects.filter(type_key="prop_participation").exists()


def test_the_providers_webhook_takes_the_fee_once_and_the_challenge_starts_on_approval(
    active_client, challenge, sandbox_card, admin, set_method
):
    set_method("prop_participation", "manual")
    joined = buy(active_client, challenge, sandbox_card)
    found = sandbox_payments.checkout(joined.checkout_token)
    assert (found.amount, found.currency, found.waiting) == (Decimal("499.00"), "USD", True)
    event = sandbox_payments.event_for(found, paid=True)
    assert deliver(event).json()["outcome"] == "paid"
    assert deliver(event).json()["outcome"] == "duplicate"  # a replay changes nothing
    joined.refresh_from_db()
    assert joined.status == "pending_approval"
    assert joined.provider_payment_id == event["data"]["payment_id"]
    fees = JournalEntry.objects.filter(type="prop_trading_fee")
    assert fees.count() == 1
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}  # in by card, out as fee
    # The fee is in Reports > Transactions under Prop Trading Fee, like a wallet-paid one.
    listed = reports.transactions(reports.Filters(type="prop_trading_fee"))
    assert [row.entry_id for row in listed] == [joined.fee_entry_id]
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    fee = f"499.00 USD paid by Card (sandbox) (in the ledger as {joined.reference})"
    assert ("Fee", fee) in participation.details(request)
    approvals.approve(request.pk, actor=admin)
    carry_out_platform_commands()
    joined.refresh_from_db()
    assert joined.status == "active"
    assert joined.current_attempt().stage == 0
    assert ledger.check() == []


def test_a_second_payment_is_kept_in_the_wallet_never_dropped(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    found = sandbox_payments.checkout(joined.checkout_token)
    first = sandbox_payments.event_for(found, paid=True)
    assert deliver(first).json()["outcome"] == "paid"
    again = {**first, "id": "evt_again"}  # the same payment, told again
    assert deliver(again).json()["outcome"] == "nothing new"
    other = sandbox_payments.event_for(found, paid=True)  # a second payment, really made
    assert deliver(other).json()["outcome"] == "credited to the wallet"
    assert JournalEntry.objects.filter(type="prop_trading_fee").count() == 1
    assert ledger.balances(active_client) == {"USD": Decimal("499.00")}
    assert ledger.check() == []


def test_a_payment_after_staff_cancelled_the_purchase_is_kept_in_the_wallet(
    active_client, challenge, sandbox_card, admin
):
    from propdesk.challenges.participation import interventions

    joined = buy(active_client, challenge, sandbox_card)
    interventions.cancel(joined.pk, actor=admin, reason="Client changed their mind")
    carry_out_platform_commands()
    late = sandbox_payments.event_for(sandbox_payments.checkout(joined.checkout_token), paid=True)
    assert deliver(late).json()["outcome"] == "credited to the wallet"
    joined.refresh_from_db()
    assert joined.status == "cancelled"
    assert ledger.balances(active_client) == {"USD": Decimal("499.00")}
    assert not JournalEntry.objects.filter(type="prop_trading_fee").exists()


def test_a_cancelled_payment_cancels_the_purchase_and_its_checkout_closes(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    event = sandbox_payments.event_for(sandbox_payments.checkout(joined.checkout_token), paid=False)
    assert deliver(event).json()["outcome"] == "cancelled"
    joined.refresh_from_db()
    assert joined.status == "cancelled"
    assert ledger.balances(active_client) == {}
    assert sandbox_payments.checkout(joined.checkout_token).waiting is False
    late = sandbox_payments.event_for(sandbox_payments.checkout(joined.checkout_token), paid=True)
    deliver(late)  # a payment after the cancel takes no fee: it waits in the wallet
    joined.refresh_from_db()
    assert joined.status == "cancelled"
    assert not JournalEntry.objects.filter(type="prop_trading_fee").exists()
    assert ledger.balances(active_client) == {"USD": Decimal("499.00")}


def test_a_webhook_lying_about_the_amount_does_not_count_the_provider_is_asked(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    event = sandbox_payments.event_for(sandbox_payments.checkout(joined.checkout_token), paid=True)
    event["data"]["amount"] = "1.00"  # the sandbox's books say the whole fee arrived
    assert deliver(event).json()["outcome"] == "paid"
    joined.refresh_from_db()
    assert joined.status != "pending_payment"
    assert joined.fee_entry_id is not None


def test_a_rejected_direct_purchase_refunds_the_fee_to_the_wallet(
    active_client, challenge, sandbox_card, admin, set_method
):
    set_method("prop_participation", "manual")
    joined = buy(active_client, challenge, sandbox_card)
    deliver(sandbox_payments.event_for(sandbox_payments.checkout(joined.checkout_token), paid=True))
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    approvals.reject(request.pk, actor=admin, reason="Duplicate account")
    joined.refresh_from_db()
    assert joined.status == "rejected"
    assert ledger.balances(active_client) == {"USD": Decimal("499.00")}


def test_a_retried_direct_purchase_makes_one_checkout(active_client, challenge, sandbox_card):
    first = buy(active_client, challenge, sandbox_card, key="buy-1")
    second = buy(active_client, challenge, sandbox_card, key="buy-1")
    assert first.pk == second.pk
    assert Participation.objects.count() == 1


@pytest.mark.parametrize("method", [None, "", "nope", 10**12, "Bank transfer"])
def test_a_direct_purchase_needs_an_online_method(
    active_client, challenge, sandbox_card, bank_transfer, method
):
    with pytest.raises(ValidationFailed) as refused:
        participation.start(active_client, challenge.pk, payment="direct", method=method)
    assert "method" in refused.value.fields
    assert not Participation.objects.exists()


def test_a_method_without_the_challenges_currency_is_refused(active_client, admin, sandbox_card):
    made = catalogue.create(definition(currency="GBP"), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    with pytest.raises(ValidationFailed) as refused:
        participation.start(active_client, made.pk, payment="direct", method=sandbox_card.pk)
    assert "EUR, USD" in refused.value.fields["method"]


def test_the_checkout_page_names_the_challenge_and_paying_sends_the_webhook(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    http = logged_in(active_client.user)
    page = http.get(f"/pay/sandbox/{joined.checkout_token}/")
    assert "499.00 USD" in page.text
    assert "the fee of 2-Step" in page.text
    response = post_form(http, f"/pay/sandbox/{joined.checkout_token}/", {"action": "pay"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/my-challenges/"


def test_the_api_starts_a_direct_purchase_and_gives_the_checkout(
    active_client, challenge, sandbox_card
):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call(
        "POST",
        f"/challenges/{challenge.pk}/participations",
        {"payment": "direct", "method": sandbox_card.pk},
        token=token,
        HTTP_IDEMPOTENCY_KEY="api-1",
    )
    assert response.status_code == 201
    body = response.json()
    joined = Participation.objects.get()
    assert body["status"] == "pending_payment"
    assert body["checkout_url"] == f"/portal/pay/{joined.checkout_token}/"
    assert body["credentials"] is None


def test_a_late_payment_told_twice_is_kept_once(active_client, challenge, sandbox_card, admin):
    from propdesk.challenges.participation import interventions

    joined = buy(active_client, challenge, sandbox_card)
    interventions.cancel(joined.pk, actor=admin, reason="Client changed their mind")
    carry_out_platform_commands()
    late = sandbox_payments.event_for(sandbox_payments.checkout(joined.checkout_token), paid=True)
    assert deliver(late).json()["outcome"] == "credited to the wallet"
    again = {**late, "id": "evt_again"}  # the same payment, a new event
    assert deliver(again).json()["outcome"] == "nothing new"
    blank = {**late, "id": "evt_blank", "data": {**late["data"], "payment_id": ""}}
    assert deliver(blank).json()["outcome"] == "nothing new"  # the body is not believed
    assert ledger.balances(active_client) == {"USD": Decimal("499.00")}
