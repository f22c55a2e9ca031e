"""Direct challenge purchases waiting for payment: a few at a time per client, and they lapse
like card deposits do."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from propdesk.challenges.models import Participation
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import Conflict
from propdesk.jobs import housekeeping
from propdesk.wallet import ledger, sandbox_payments
from propdesk.wallet.models import JournalEntry
from tests.support import carry_out_platform_commands
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db


def buy(client, challenge, method):
    return participation.start(client, challenge.pk, payment="direct", method=method.pk)


def hours_pass(hours: float) -> None:
    for joined in Participation.objects.all():
        Participation.objects.filter(pk=joined.pk).update(
            created_at=joined.created_at - timedelta(hours=hours)
        )


def test_a_client_has_at_most_three_purchases_waiting_for_payment(
    active_client, challenge, sandbox_card
):
    for _ in range(3):
        buy(active_client, challenge, sandbox_card)
    with pytest.raises(Conflict) as refused:
        buy(active_client, challenge, sandbox_card)
    assert refused.value.status == 409
    assert refused.value.code == "too_many_awaiting_payment"
    assert "3 challenge purchases waiting for payment" in refused.value.message
    assert Participation.objects.count() == 3


def test_a_purchase_from_the_wallet_is_not_capped_by_unpaid_ones(
    active_client, challenge, sandbox_card, finance
):
    from propdesk.wallet import services

    for _ in range(3):
        buy(active_client, challenge, sandbox_card)
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="499.00",
        currency="USD",
        comment="Funding",
        actor=finance,
    )
    paid = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    assert paid.fee_entry is not None  # taken from the wallet: not one more unpaid checkout


def test_an_unpaid_purchase_lapses_and_its_checkout_closes(active_client, challenge, sandbox_card):
    joined = buy(active_client, challenge, sandbox_card)
    hours_pass(25)
    assert sandbox_payments.checkout(joined.checkout_token).waiting is False
    housekeeping.run_due(force=True)
    joined.refresh_from_db()
    assert joined.status == "cancelled"
    assert buy(active_client, challenge, sandbox_card).status == "pending_payment"


def test_lapsed_purchases_free_their_places_before_the_sweep(
    active_client, challenge, sandbox_card
):
    for _ in range(3):
        buy(active_client, challenge, sandbox_card)
    hours_pass(25)
    assert buy(active_client, challenge, sandbox_card).status == "pending_payment"


def test_a_payment_for_a_lapsed_purchase_is_kept_in_the_wallet(
    active_client, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    event = sandbox_payments.event_for(sandbox_payments.checkout(joined.checkout_token), paid=True)
    hours_pass(25)
    housekeeping.run_due(force=True)
    assert deliver(event).json()["outcome"] == "credited to the wallet"
    assert ledger.balances(active_client) == {"USD": Decimal("499.00")}
    assert not JournalEntry.objects.filter(type="prop_trading_fee").exists()
