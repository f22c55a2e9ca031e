"""Coupons under PostgreSQL's row locks: the per-client limit holds for one client's purchases
racing, and a purchase never deadlocks with another purchase (or staff editing the coupon)
over a coupon's row and a challenge's.

Where the order of the locks is the point, a transaction of the test's own holds a row while
the use case under test runs in a thread; the test goes on once PostgreSQL shows that thread
waiting for a lock (`waiting_for_locks`), so no test depends on how long anything takes."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth import coupons
from propdesk.challenges.growth.models import Coupon, CouponUse
from propdesk.challenges.models import Challenge, Participation
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import DomainError
from propdesk.wallet import ledger
from tests.challenges.factories import definition, fund, make_coupon
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal


class Running:
    """A call on its own thread and database connection; `result()` joins it and gives what
    it returned, or raises what it raised."""

    def __init__(self, call):
        self.outcome: list[object] = []
        self.thread = threading.Thread(target=self._run, args=(call,))
        self.thread.start()

    def _run(self, call):
        try:
            self.outcome.append(("ok", call()))
        except BaseException as exc:  # handed to the test
            self.outcome.append(("raised", exc))
        finally:
            connection.close()

    def result(self):
        self.thread.join(timeout=120)
        assert self.outcome, "the call did not finish"
        kind, value = self.outcome[0]
        if kind == "raised":
            raise value  # type: ignore[misc]
        return value


def waiting_for_locks(count: int, *calls: Running) -> None:
    """Returns once `count` sessions of this database wait for a lock (each step polls);
    fails at once if one of `calls` ended meanwhile."""
    for _ in range(3000):
        ended = [c.outcome[0] for c in calls if c.outcome]
        assert not ended, ended
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # read afresh in a transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.01)
    raise AssertionError(f"{count} sessions never waited for a lock")


@pytest.fixture
def published(admin):
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


@pytest.mark.parametrize("repeat", range(3))
def test_one_clients_purchases_racing_use_a_code_no_more_than_allowed(
    admin, finance, active_client, repeat
):
    first = catalogue.create(definition(), actor=admin)
    other = catalogue.create(definition(name="1-Step 100K"), actor=admin)
    for made in (first, other):
        catalogue.publish(made.pk, actor=admin)
    make_coupon(admin, max_uses_per_client=1)
    fund(active_client, finance)
    outcomes = at_once(
        *(
            lambda ch=challenge: participation.start(
                active_client, ch.pk, payment="wallet", coupon="SPRING20"
            )
            for challenge in (first, other)
        )
    )
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(refused) == 1, outcomes
    assert refused[0].fields == {"coupon": "You have already used SPRING20."}
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (1, 1)
    assert ledger.balances(active_client)["USD"] == D("600.80")
    assert ledger.check() == []


def test_a_purchase_closing_a_lapsed_checkout_never_deadlocks_with_another_purchase(
    admin, active_client, published, sandbox_card
):
    coupon = make_coupon(admin, max_uses_per_client=5)
    lapsed = participation.start(
        active_client, published.pk, payment="direct", method=sandbox_card.pk, coupon="SPRING20"
    )
    Participation.objects.filter(pk=lapsed.pk).update(
        created_at=lapsed.created_at - timedelta(hours=25)
    )
    with transaction.atomic():  # another client's purchase of the challenge, with the code:
        Challenge.objects.select_for_update().get(pk=published.pk)  # the challenge first
        buying = Running(
            lambda: participation.start(
                active_client,
                published.pk,
                payment="direct",
                method=sandbox_card.pk,
                coupon="SPRING20",
            )
        )
        waiting_for_locks(1, buying)  # the purchase waits for the challenge
        list(Coupon.objects.select_for_update().filter(pk=coupon.pk))  # then the coupon
    made = buying.result()
    lapsed.refresh_from_db()
    assert lapsed.status == Participation.Status.CANCELLED
    assert made.status == Participation.Status.PENDING_PAYMENT
    assert (Coupon.objects.get().uses, CouponUse.objects.get().participation_id) == (1, made.pk)


def test_staff_adding_a_challenge_to_a_coupon_never_deadlocks_with_a_purchase(
    admin, finance, active_client, published
):
    coupon = make_coupon(admin)
    fund(active_client, finance)
    with transaction.atomic():  # the coupon held: staff's change and the purchase queue on it
        list(Coupon.objects.select_for_update().filter(pk=coupon.pk))
        editing = Running(
            lambda: coupons.save_coupon(
                coupon.pk,
                actor=admin,
                code="SPRING20",
                kind="percent",
                value="20",
                challenges=[published.pk],
            )
        )
        waiting_for_locks(1, editing)  # staff's change first in the queue
        buying = Running(
            lambda: participation.start(
                active_client, published.pk, payment="wallet", coupon="SPRING20"
            )
        )
        waiting_for_locks(2, editing, buying)  # the purchase (the challenge locked) after it
    saved = editing.result()
    made = buying.result()
    assert [c.pk for c in saved.challenges.all()] == [published.pk]
    assert made.fee == D("399.20")
    assert ledger.check() == []


@pytest.mark.parametrize("repeat", range(3))
def test_two_coupons_made_at_once_with_one_code_are_one_coupon_and_a_clear_refusal(admin, repeat):
    outcomes = at_once(
        *(
            lambda typed=typed: coupons.save_coupon(
                None, actor=admin, code=typed, kind="percent", value="10"
            )
            for typed in ("summer", "SUMMER")
        )
    )
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(refused) == 1, outcomes
    assert refused[0].fields == {"code": "A coupon with this code already exists."}
    assert list(Coupon.objects.values_list("code", flat=True)) == ["SUMMER"]
