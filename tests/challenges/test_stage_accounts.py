"""A stage's account through the platform outbox: being prepared until the worker opens it,
its access following the stage, and what a stage's end does to its open positions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import StageAttempt
from propdesk.challenges.participation import services as participation
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts, orders, ticks
from propdesk.wallet import services
from tests.api.conftest import Api
from tests.challenges.factories import breached, definition, move, running, stage
from tests.conftest import PASSWORD, logged_in
from tests.support import carry_out_platform_commands

D = Decimal
pytestmark = pytest.mark.django_db


class Undone(Exception):
    """A fault after the business transaction wrote its commands: it rolls back."""


def started(client, finance, admin, **changes):
    services.adjust(
        client.pk, direction="credit", amount="1000.00", currency="USD", comment="Top up",
        actor=finance,
    )  # fmt: skip
    made = catalogue.create(definition(**changes), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return participation.start(client, made.pk, payment="wallet")


def test_a_started_stage_is_being_prepared_until_the_worker_opens_its_account(
    active_client, finance, admin
):
    joined = started(active_client, finance, admin)
    attempt = joined.current_attempt()
    assert attempt.login == ""
    assert not attempt.account_ready
    command = PlatformCommand.objects.get(subject=f"stage:{attempt.pk}")
    assert (command.kind, command.status) == ("open_account", "pending")
    assert D(command.payload["balance"]) == D("100000")
    assert command.payload["owner"]["email"] == active_client.user.email
    assert participation.credentials(joined, active_client) == {
        "preparing": "yes",
        "server": "Sandbox",
    }
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/")
    assert "Your account is being prepared on Sandbox" in page.content.decode()
    staff_page = logged_in(admin).get(f"/backoffice/prop-trading/participants/{joined.pk}/")
    assert 'id="being-prepared"' in staff_page.content.decode()
    home = logged_in(active_client.user).get("/portal/").content.decode()
    assert "Your account is being prepared" in home

    carry_out_platform_commands()
    attempt.refresh_from_db()
    shown = participation.credentials(joined, active_client)
    assert shown["login"] == attempt.login != ""
    account = accounts.account_by_login(attempt.login)
    assert account.balance == D("100000.00")
    assert account.creation_key == f"open:stage:{attempt.pk}"
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/")
    assert f"<code data-login>{attempt.login}</code>" in page.content.decode()
    home = logged_in(active_client.user).get("/portal/").content.decode()
    assert "Trade your challenge" in home
    assert "in the web terminal" in home


def test_the_api_says_the_account_is_being_prepared_then_gives_its_credentials(
    active_client, finance, admin
):
    joined = started(active_client, finance, admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    waiting = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert waiting["credentials"] == {
        "login": "",
        "password": "",
        "server": "Sandbox",
        "being_prepared": True,
    }
    carry_out_platform_commands()
    ready = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert ready["credentials"]["being_prepared"] is False
    assert ready["credentials"]["login"] == joined.current_attempt().login


def test_a_start_rolled_back_leaves_no_command_and_no_account(active_client, finance, admin):
    def start_then_fail():
        with transaction.atomic():
            started(active_client, finance, admin)
            raise Undone

    with pytest.raises(Undone):
        start_then_fail()
    assert not PlatformCommand.objects.exists()
    carry_out_platform_commands()
    assert not accounts.Account.objects.exists()


def test_a_breach_leaves_the_open_positions_to_the_trader_to_close_by_default(
    active_client, finance, admin
):
    _, _, account, position, _ = breached(active_client, finance, admin)
    account.refresh_from_db()
    assert (account.trading_enabled, account.may_close) == (False, True)
    assert account.positions.filter(closed_at=None).count() == 1
    orders.close_position(account, position.pk)  # the trader may still close it


def test_a_challenge_that_closes_positions_closes_them_at_the_breach(active_client, finance, admin):
    _, attempt = running(
        active_client, finance, admin, stages=[stage(), stage("live")], on_breach="close"
    )
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    from propdesk.challenges.monitoring import monitor
    from propdesk.platforms.sandbox import feed

    prices = feed.Feed()
    monitor.process(accounts.default_server())
    move(prices, "1.08000", "1.08012")
    monitor.process(accounts.default_server())  # the breach, and its commands at once
    attempt.refresh_from_db()
    assert attempt.status == StageAttempt.Status.FAILED
    account.refresh_from_db()
    assert (account.trading_enabled, account.may_close) == (False, False)
    assert not account.positions.filter(closed_at=None).exists()
    kinds = list(
        PlatformCommand.objects.filter(subject=attempt.subject)
        .order_by("id")
        .values_list("kind", "status")
    )
    assert kinds == [
        ("open_account", "done"),
        ("set_access", "done"),
        ("close_positions", "done"),
    ]


def test_what_a_stage_end_does_to_open_positions_is_leave_or_close(admin):
    from propdesk.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        catalogue.create(definition(on_breach="liquidate"), actor=admin)
    assert refused.value.fields["on_breach"] == "leave or close."
    made = catalogue.create(definition(on_breach="close"), actor=admin)
    assert made.draft().spec.on_breach == "close"
    assert catalogue.create(definition(), actor=admin).draft().spec.on_breach == "leave"
