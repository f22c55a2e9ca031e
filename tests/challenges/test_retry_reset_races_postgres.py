"""Paid second chances racing what else ends a stage, on PostgreSQL's row locks: a reset racing
the monitor's breach of the same stage charges only if it won (and then the breach is not
applied to the stage it cancelled), and a retry racing staff's reinstatement of the same failed
challenge leaves one run going, never two."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import interventions, retries
from propdesk.core.errors import DomainError
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import failed_with_offers, move, server, with_offers
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal


@pytest.mark.parametrize("repeat", range(3))
def test_a_reset_racing_the_breach_of_its_stage_charges_only_when_it_wins(
    active_client, finance, admin, repeat
):
    joined, attempt = with_offers(active_client, finance, admin)
    # 10 lots against the trader: equity 94,880, under the daily-loss floor of 95,000, in the
    # feed and not yet read by the monitor.
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    monitor.process(server())
    move(feed.Feed(), "1.08000", "1.08012")

    outcomes = at_once(
        lambda: monitor.process(server()),
        lambda: retries.reset(active_client, joined.pk, attempt_id=attempt.pk),
    )
    monitor.process(server())  # whatever the monitor has not read yet
    attempt.refresh_from_db()
    joined.refresh_from_db()
    fees = JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RESET_FEE).count()
    if isinstance(outcomes[1], DomainError):  # the breach committed first
        assert outcomes[1].code == "not_resettable"
        assert (attempt.status, joined.status, fees) == ("failed", "failed", 0)
        assert not StageAttempt.objects.filter(reset_of=attempt).exists()
        assert ledger.balances(active_client) == {"USD": D("501.00")}
    else:  # the reset first: the old stage is cancelled, not failed, and the challenge runs
        assert (attempt.status, joined.status, fees) == ("cancelled", "active", 1)
        fresh = StageAttempt.objects.get(reset_of=attempt)
        assert fresh.status == "in_progress"
        assert ledger.balances(active_client) == {"USD": D("452.00")}


@pytest.mark.parametrize("repeat", range(3))
def test_a_retry_racing_a_reinstatement_leaves_one_run(active_client, finance, admin, repeat):
    failed, attempt = failed_with_offers(active_client, finance, admin)
    outcomes = at_once(
        lambda: retries.retry(active_client, failed.pk),
        lambda: interventions.reinstate(attempt.pk, actor=admin, reason="bad price"),
    )
    failed.refresh_from_db()
    attempt.refresh_from_db()
    retried = Participation.objects.filter(retry_of=failed).first()
    fees = JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RETRY_FEE).count()
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1, outcomes
    if retried is not None:  # the retry won: the failed one stays failed
        assert (failed.status, attempt.status, fees) == ("failed", "failed", 1)
        assert ledger.balances(active_client) == {"USD": D("402.00")}
    else:  # the reinstatement won: nothing paid, the challenge runs again
        assert outcomes[0].code == "not_failed"  # type: ignore[union-attr]
        assert (failed.status, attempt.status, fees) == ("active", "in_progress", 0)
        assert ledger.balances(active_client) == {"USD": D("501.00")}
