"""A retry is a purchase: a client moved out of the group a challenge is meant for buys no
retry of it (the refusal charges nothing), a client still in it retries as before."""

from __future__ import annotations

import pytest

from propdesk.accounts import groups
from propdesk.accounts.models import default_group
from propdesk.challenges.participation import retries
from propdesk.core.errors import Conflict
from propdesk.wallet import ledger
from tests.challenges.factories import failed_with_offers

pytestmark = pytest.mark.django_db


def test_a_challenge_no_longer_offered_to_the_clients_group_is_not_retried(
    active_client, finance, admin
):
    vip = groups.save_group(None, name="VIP", actor=admin)
    groups.assign([active_client.pk], vip.pk, actor=admin)
    active_client.refresh_from_db()
    failed, _ = failed_with_offers(active_client, finance, admin, client_groups=["VIP"])
    groups.assign([active_client.pk], default_group().pk, actor=admin)  # out of VIP
    active_client.refresh_from_db()
    failed.refresh_from_db()
    assert retries.retry_refusal(failed, False)
    before = (ledger.balances(active_client), failed.client.participations.count())
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, failed.pk)
    assert refused.value.code == "not_offered"
    assert (ledger.balances(active_client), failed.client.participations.count()) == before
    assert ledger.check() == []


def test_a_vip_client_still_in_vip_retries_the_vip_challenge(active_client, finance, admin):
    vip = groups.save_group(None, name="VIP", actor=admin)
    groups.assign([active_client.pk], vip.pk, actor=admin)
    active_client.refresh_from_db()
    failed, _ = failed_with_offers(active_client, finance, admin, client_groups=["VIP"])
    made = retries.retry(active_client, failed.pk)
    assert made.retry_of_id == failed.pk
    assert ledger.check() == []
