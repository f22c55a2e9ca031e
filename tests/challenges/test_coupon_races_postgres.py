"""The last use of a coupon taken by two purchases at once is granted once (PostgreSQL's row
locks): the other purchase is refused with the reason, charges nothing and uses nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth.models import Coupon, CouponUse
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import DomainError
from propdesk.wallet import ledger
from tests.challenges.factories import definition, fund, make_coupon
from tests.support import at_once, carry_out_platform_commands

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal


@pytest.fixture
def two_buyers(active_client, register, finance):
    second, _ = register(email="second@example.test")
    second.kyc_status = active_client.kyc_status
    second.save(update_fields=["kyc_status"])
    for client in (active_client, second):
        fund(client, finance)
    return active_client, second


@pytest.mark.parametrize("same_challenge", [True, False])
@pytest.mark.parametrize("repeat", range(3))
def test_the_last_use_of_a_coupon_is_granted_once(admin, two_buyers, same_challenge, repeat):
    first = catalogue.create(definition(), actor=admin)
    catalogue.publish(first.pk, actor=admin)
    other = first
    if not same_challenge:  # no challenge row lock to queue them: only the coupon's
        other = catalogue.create(definition(name="1-Step 100K"), actor=admin)
        catalogue.publish(other.pk, actor=admin)
    make_coupon(admin, max_uses=1)
    buyers = list(zip(two_buyers, (first, other), strict=True))
    outcomes = at_once(
        *(
            lambda c=client, ch=challenge: participation.start(
                c, ch.pk, payment="wallet", coupon="SPRING20"
            )
            for client, challenge in buyers
        )
    )
    carry_out_platform_commands()
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(refused) == 1, outcomes
    assert refused[0].fields == {"coupon": "SPRING20 has been used up."}
    assert Participation.objects.count() == 1
    assert (Coupon.objects.get().uses, CouponUse.objects.count()) == (1, 1)
    winner = Participation.objects.get()
    loser = next(c for c in two_buyers if c.pk != winner.client_id)
    assert ledger.balances(winner.client)["USD"] == D("600.80")
    assert ledger.balances(loser)["USD"] == D("1000.00")
    assert ledger.check() == []
