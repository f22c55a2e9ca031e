"""Two webhooks for the same payment at the same moment (two events, or the webhook and the
sweep's job): the money is credited and the fee taken once (the payment's row lock, amounts)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import services as participation
from propdesk.wallet import ledger, payments, sandbox_payments
from propdesk.wallet.models import JournalEntry, Payment
from tests.challenges.factories import definition
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


def post(event):
    body = json.dumps(event).encode()
    return HttpClient().post(
        "/webhooks/payments/sandbox/",
        body,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE=sandbox_payments.sign(body),
    )


@pytest.mark.parametrize("attempt", range(3))
def test_two_webhooks_for_one_payment_at_once_credit_once(
    active_client, admin, sandbox_card, attempt
):
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    joined = participation.start(active_client, made.pk, payment="direct", method=sandbox_card.pk)
    event = sandbox_payments.event_for(joined, paid=True, amount=Decimal("600.00"))
    outcomes = at_once(
        lambda: post(event).status_code,
        lambda: post({**event, "id": "evt_other"}).status_code,
        lambda: payments.settle_payment.call(Payment.objects.get().pk),
    )
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert JournalEntry.objects.filter(type="deposit").count() == 1
    assert JournalEntry.objects.filter(type="prop_trading_fee").count() == 1
    assert ledger.balances(active_client) == {"USD": Decimal("101.00")}
    assert Payment.objects.get().received == Decimal("600.00")
    assert ledger.check() == []
