"""Client groups changed by two staff at the same instant (PostgreSQL row locks): a group
deleted while clients move into it, or while it is made the default, ends one way or the
other, with a clear refusal, never an error, and one default group always."""

from __future__ import annotations

import pytest
from django.db import connection

from propdesk.accounts import groups
from propdesk.accounts.models import Client, ClientGroup
from propdesk.core.errors import DomainError
from propdesk.platforms import servers
from propdesk.platforms.models import TradingServer
from propdesk.wallet import deposits
from tests.support import at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]

DELETED = "deleted"


@pytest.mark.parametrize("attempt", range(4))
def test_a_group_deleted_while_clients_move_into_it_ends_one_way_or_the_other(
    admin, active_client, attempt
):
    spare = groups.save_group(None, name="Spare", actor=admin)

    def delete() -> str:
        groups.delete_group(spare.pk, actor=admin)
        return DELETED

    outcomes = at_once(delete, lambda: groups.assign([active_client.pk], spare.pk, actor=admin))
    assert None not in outcomes, outcomes  # an error escaped: not a refusal
    active_client.refresh_from_db()
    if outcomes[0] == DELETED:
        assert isinstance(outcomes[1], DomainError)
        assert not ClientGroup.objects.filter(pk=spare.pk).exists()
        assert active_client.group_id != spare.pk
    else:
        assert isinstance(outcomes[0], DomainError)
        assert outcomes[1] == 1
        assert active_client.group_id == spare.pk


@pytest.mark.parametrize("attempt", range(4))
def test_a_group_deleted_while_made_the_default_leaves_one_default(admin, attempt):
    first = groups.save_group(None, name="First", actor=admin)
    groups.set_default(first.pk, actor=admin)
    spare = groups.save_group(None, name="Spare", actor=admin)

    def delete() -> str:
        groups.delete_group(spare.pk, actor=admin)
        return DELETED

    outcomes = at_once(delete, lambda: groups.set_default(spare.pk, actor=admin))
    assert None not in outcomes, outcomes
    defaults = list(ClientGroup.objects.filter(is_default=True))
    assert len(defaults) == 1
    if outcomes[0] == DELETED:
        assert isinstance(outcomes[1], DomainError)
        assert defaults == [first]
    else:
        assert isinstance(outcomes[0], DomainError)
        assert defaults == [spare]
    assert Client.objects.filter(group__isnull=True).count() == 0


def limit_a_method(admin, group):
    return deposits.save_payment_method(
        None,
        name="VIP card",
        kind="online",
        provider="sandbox",
        currencies=["USD"],
        min_amount="10",
        max_amount="100",
        client_groups=[group.pk],
        actor=admin,
    )


def limit_a_server(admin, group):
    server = TradingServer.objects.order_by("pk").first()
    return servers.save_server(
        server.pk,
        name=server.name,
        kind=server.kind,
        demo_groups=server.demo_groups,
        live_groups=server.live_groups,
        client_groups=[group.pk],
        actor=admin,
    )


@pytest.mark.parametrize("attempt", range(3))
@pytest.mark.parametrize("limit", [limit_a_method, limit_a_server])
def test_a_group_deleted_while_something_is_limited_to_it_ends_one_way_or_the_other(
    admin, limit, attempt
):
    spare = groups.save_group(None, name="Spare", actor=admin)

    def delete() -> str:
        groups.delete_group(spare.pk, actor=admin)
        return DELETED

    outcomes = at_once(delete, lambda: limit(admin, spare))
    assert None not in outcomes, outcomes
    if outcomes[0] == DELETED:
        assert isinstance(outcomes[1], DomainError)
    else:
        assert isinstance(outcomes[0], DomainError)
        assert (
            ClientGroup.objects.get(pk=spare.pk).payment_methods.count()
            + ClientGroup.objects.get(pk=spare.pk).trading_servers.count()
            == 1
        )


@pytest.mark.parametrize("attempt", range(3))
def test_two_groups_made_the_default_at_once_leave_one_default(admin, attempt):
    one = groups.save_group(None, name="One", actor=admin)
    two = groups.save_group(None, name="Two", actor=admin)
    outcomes = at_once(
        lambda: groups.set_default(one.pk, actor=admin),
        lambda: groups.set_default(two.pk, actor=admin),
    )
    assert all(isinstance(o, ClientGroup) for o in outcomes), outcomes
    assert ClientGroup.objects.filter(is_default=True).count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_the_same_rule_added_twice_at_once_is_made_once_and_refused_once(admin, attempt):
    spare = groups.save_group(None, name="Spare", actor=admin)

    def add() -> object:
        return groups.save_rule(None, kind="country", value="SK", group=spare.pk, actor=admin)

    outcomes = at_once(add, add)
    assert None not in outcomes, outcomes
    assert sum(isinstance(o, DomainError) for o in outcomes) == 1
    assert spare.rules.count() == 1
