"""Migration 0017 on an install that already has payment methods and withdrawals: a bank
transfer (offline) method goes on paying to bank accounts, an online one pays none until staff
say where, and a withdrawal asked before keeps an empty destination ("not recorded")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from propdesk.wallet import withdrawals
from propdesk.wallet.models import Withdrawal
from tests.wallet.factories import bank_destination, fund

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("wallet", "0016_profit_share_retry_reset_types")]
AFTER = [("wallet", "0017_withdrawal_destination")]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def test_offline_methods_pay_to_banks_and_earlier_withdrawals_record_no_destination(
    active_client, bank_transfer, finance
):
    fund(active_client, finance)
    asked = withdrawals.request_withdrawal(
        active_client,
        method=bank_transfer.pk,
        amount="60.00",
        currency="USD",
        destination=bank_destination(),
    )
    old = _migrate(BEFORE)  # as if both were made before 0017
    old.get_model("wallet", "PaymentMethod").objects.create(
        name="Card",
        kind="online",
        provider="sandbox",
        currencies=["USD"],
        min_amount=1,
        max_amount=10,
    )
    try:
        new = _migrate(AFTER)
        paying = new.get_model("wallet", "PaymentMethod").objects.values_list("name", "payout_to")
        assert dict(paying) == {"Bank transfer": "bank", "Card": ""}
        assert new.get_model("wallet", "Withdrawal").objects.get().destination == {}
        assert Withdrawal.objects.get(pk=asked.pk).paid_to is None  # shown as not recorded
    finally:
        # Every app back to its newest migration: going back to 0016 undid the later ones
        # (and whatever depends on them in other apps).
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
