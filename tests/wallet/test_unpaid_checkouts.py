"""Online payments a client opened and never paid: a few at a time, and they lapse.

Each card deposit waits for its payment with a checkout page of its own; without a cap a
client (or a script with their token) could open them without end."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from propdesk.core.errors import Conflict
from propdesk.jobs import housekeeping
from propdesk.wallet import deposits, ledger, sandbox_payments
from propdesk.wallet.models import Deposit
from tests.api.conftest import Api
from tests.conftest import PASSWORD
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db


def open_card_deposit(client, method, amount="100.00"):
    return deposits.request_deposit(client, method=method.pk, amount=amount, currency="USD")


def webhooks_sent() -> bool:
    path = sandbox_payments.deliver_webhook.module_path
    return DBTaskResult.objects.filter(task_path=path).exists()


def hours_pass(hours: float) -> None:
    """Every deposit was opened `hours` earlier than it was."""
    for deposit in Deposit.objects.all():
        Deposit.objects.filter(pk=deposit.pk).update(
            created_at=deposit.created_at - timedelta(hours=hours)
        )


def test_a_client_has_at_most_three_card_deposits_awaiting_payment(active_client, sandbox_card):
    for _ in range(3):
        open_card_deposit(active_client, sandbox_card)
    with pytest.raises(Conflict) as refused:
        open_card_deposit(active_client, sandbox_card)
    assert refused.value.code == "too_many_awaiting_payment"
    assert "3 card payments waiting" in refused.value.message
    assert Deposit.objects.count() == 3


def test_the_cap_is_a_setting_and_counts_each_client_alone(
    active_client, sandbox_card, register, settings
):
    settings.MAX_AWAITING_PAYMENT = 1
    open_card_deposit(active_client, sandbox_card)
    with pytest.raises(Conflict):
        open_card_deposit(active_client, sandbox_card)
    other, _ = register()  # trader registration is automatic (active_client set it)
    assert open_card_deposit(other, sandbox_card).status == "awaiting_payment"


def test_the_api_says_409_with_the_reason(active_client, sandbox_card):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    body = {"method": sandbox_card.pk, "amount": "50.00", "currency": "USD"}
    for _ in range(3):
        assert api.call("POST", "/wallet/deposits", body, token=token).status_code == 201
    response = api.call("POST", "/wallet/deposits", body, token=token)
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_awaiting_payment"


def test_a_paid_deposit_no_longer_counts_against_the_cap(active_client, sandbox_card):
    made = [open_card_deposit(active_client, sandbox_card) for _ in range(3)]
    deliver(sandbox_payments.event_for(made[0], paid=True))
    assert open_card_deposit(active_client, sandbox_card).status == "awaiting_payment"


def test_an_unpaid_checkout_lapses_after_a_day_and_cannot_be_paid_then(active_client, sandbox_card):
    deposit = open_card_deposit(active_client, sandbox_card)
    hours_pass(23)
    housekeeping.run_due(force=True)
    assert Deposit.objects.get(pk=deposit.pk).status == "awaiting_payment"
    hours_pass(1)
    housekeeping.run_due(force=True)
    assert Deposit.objects.get(pk=deposit.pk).status == "cancelled"
    page = HttpClient().get(f"/pay/sandbox/{deposit.checkout_token}/")
    assert b"This checkout is closed (cancelled)" in page.content
    assert b'value="pay"' not in page.content
    HttpClient().post(f"/pay/sandbox/{deposit.checkout_token}/", {"action": "pay"})
    assert not webhooks_sent()


def test_a_lapsed_checkout_cannot_be_paid_even_before_the_sweep_ran(active_client, sandbox_card):
    deposit = open_card_deposit(active_client, sandbox_card)
    hours_pass(25)
    assert sandbox_payments.checkout(deposit.checkout_token).waiting is False
    page = HttpClient().get(f"/pay/sandbox/{deposit.checkout_token}/")
    assert b"This checkout is closed (expired)" in page.content
    http = HttpClient()
    response = http.post(f"/pay/sandbox/{deposit.checkout_token}/", {"action": "pay"}, follow=True)
    assert not webhooks_sent()
    said = [str(m) for m in response.context["messages"]]
    assert said == ["This checkout is closed (expired); nothing was charged."]


def test_lapsed_deposits_free_their_places_at_once(active_client, sandbox_card):
    for _ in range(3):
        open_card_deposit(active_client, sandbox_card)
    hours_pass(25)  # the sweep has not run yet
    assert open_card_deposit(active_client, sandbox_card).status == "awaiting_payment"
    assert Deposit.objects.filter(status="cancelled").count() == 3


def test_a_payment_made_before_the_lapse_but_told_after_is_not_dropped(
    active_client, sandbox_card, set_method
):
    set_method("deposit", "automatic")
    deposit = open_card_deposit(active_client, sandbox_card, "70.00")
    event = sandbox_payments.event_for(deposit, paid=True)  # paid in time...
    hours_pass(25)
    housekeeping.run_due(force=True)
    assert Deposit.objects.get(pk=deposit.pk).status == "cancelled"
    assert deliver(event).status_code == 200  # ...told late (the site was down)
    assert Deposit.objects.get(pk=deposit.pk).status == "approved"
    assert ledger.balances(active_client) == {"USD": Decimal("70.00")}


def test_the_lapse_is_a_setting(active_client, sandbox_card, settings):
    settings.CHECKOUT_EXPIRY_HOURS = 1
    deposit = open_card_deposit(active_client, sandbox_card)
    hours_pass(1)
    housekeeping.run_due(force=True)
    assert Deposit.objects.get(pk=deposit.pk).status == "cancelled"
    assert deposit.created_at < timezone.now()


def test_the_wallet_page_leads_back_to_an_unpaid_checkout_to_pay_or_cancel_it(
    active_client, sandbox_card
):
    from tests.conftest import logged_in

    deposit = open_card_deposit(active_client, sandbox_card)
    page = logged_in(active_client.user).get("/portal/wallet/").content.decode()
    assert f'href="/portal/pay/{deposit.checkout_token}/" class="pay-deposit"' in page
    HttpClient().post(f"/pay/sandbox/{deposit.checkout_token}/", {"action": "cancel"})
    assert webhooks_sent()  # the provider tells us of the cancel
