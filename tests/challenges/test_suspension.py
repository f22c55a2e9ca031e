"""A suspended client's challenges are on hold: their accounts cannot log in (so nobody trades
on them), the monitor decides nothing for them, and reactivation opens the accounts again and
applies what happened meanwhile."""

from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.accounts import services as accounts
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import interventions
from propdesk.challenges.participation import services as participation
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict
from propdesk.core.models import AuditRecord
from propdesk.notifications.models import Notification
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import auth, feed, orders, ticks
from propdesk.wallet import services
from tests.challenges.factories import definition, move, pass_stage, running, server, stage
from tests.conftest import logged_in, post_form
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal


def suspend(client, admin):
    """Suspend the client, and the worker's turn: the accounts' access is set on the platform."""
    done = accounts.set_client_suspended(
        client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    carry_out_platform_commands()
    return done


def reactivate(client, admin):
    done = accounts.set_client_suspended(client.pk, suspended=False, actor=admin)
    carry_out_platform_commands()
    return done


def basic(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def terminal_login(login: str, password: str) -> tuple[HttpClient, int]:
    http = HttpClient()
    response = http.post("/terminal/login/", {"login": login, "password": password})
    return http, response.status_code


def test_suspension_blocks_the_clients_trading_accounts_and_reactivation_opens_them(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    creds = participation.credentials(joined, active_client)
    assert creds is not None
    http, status = terminal_login(creds["login"], creds["password"])
    assert status == 302
    assert http.get("/terminal/").status_code == 200

    suspend(active_client, admin)
    account = sandbox_accounts.account_by_login(attempt.login)
    assert account.login_enabled is False
    order = {"symbol": "EURUSD", "side": "buy", "volume": "1.00"}
    refused = HttpClient().post(
        "/api/v1/sandbox/orders",
        order,
        content_type="application/json",
        **basic(creds["login"], creds["password"]),
    )
    assert refused.status_code == 403
    assert not account.positions.filter(closed_at=None).exists()
    assert http.get("/terminal/").status_code == 302  # the open terminal session ended
    _, status = terminal_login(creds["login"], creds["password"])
    assert status != 302
    api = HttpClient().get("/api/v1/sandbox/account", **basic(creds["login"], creds["password"]))
    assert api.status_code == 403
    assert api.json()["code"] == "account_blocked"
    attempt.refresh_from_db()
    assert attempt.held_after is not None

    reactivate(active_client, admin)
    account = sandbox_accounts.account_by_login(attempt.login)
    assert (account.trading_enabled, account.login_enabled) == (True, True)
    _, status = terminal_login(creds["login"], creds["password"])
    assert status == 302
    attempt.refresh_from_db()
    assert attempt.held_after is None


def test_the_monitor_decides_nothing_while_the_client_is_suspended_and_catches_up_after(
    active_client, finance, admin
):
    """A floor crossed while suspended fails the stage at reactivation, at the moment it was
    crossed; meanwhile the stage stays in progress and nothing is opened or failed."""
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    suspend(active_client, admin)
    crossed_at = timezone.now()
    move(price_feed, "1.08000", "1.08012")  # equity 94,880: below the daily floor 95,000
    monitor.process(server())
    monitor.close_days(timezone.now() + timedelta(days=1))
    carry_out_platform_commands()
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert attempt.status == "in_progress"
    assert joined.status == "active"

    reactivated_at = timezone.now()
    reactivate(active_client, admin)
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert attempt.status == "failed"
    assert joined.status == "failed"
    assert attempt.verdict["rule"] == "max_daily_loss"
    # Decided at the tick that crossed the floor, not at the reactivation.
    assert crossed_at <= datetime.fromisoformat(attempt.verdict["at"]) < reactivated_at
    assert sandbox_accounts.account_by_login(attempt.login).trading_enabled is False


def test_a_stage_approved_while_the_client_is_suspended_opens_on_hold(
    active_client, finance, admin
):
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="1000.00",
        currency="USD",
        comment="Top up",
        actor=finance,
    )
    made = catalogue.create(
        definition(stages=[stage(), stage()], progression="approved"), actor=admin
    )
    catalogue.publish(made.pk, actor=admin)
    joined = participation.start(active_client, made.pk, payment="wallet")
    carry_out_platform_commands()
    # The stage passes under approved progression, then the client is suspended.
    pass_stage(joined.current_attempt())
    step = ApprovalRequest.objects.get(type_key="prop_stage_progression")
    suspend(active_client, admin)
    approvals.approve(step.pk, actor=admin)
    carry_out_platform_commands()
    opened = joined.current_attempt()
    assert opened.stage == 1
    assert opened.held_after is not None
    assert sandbox_accounts.account_by_login(opened.login).login_enabled is False

    reactivate(active_client, admin)
    account = sandbox_accounts.account_by_login(opened.login)
    assert (account.trading_enabled, account.login_enabled) == (True, True)


def test_staff_cannot_advance_reinstate_or_retry_while_the_client_is_suspended(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    suspend(active_client, admin)
    with pytest.raises(Conflict, match="suspended"):
        interventions.advance(attempt.pk, actor=admin, reason="Passed elsewhere")
    StageAttempt.objects.filter(pk=attempt.pk).update(monitor_error="x", set_aside_after=0)
    with pytest.raises(Conflict, match="suspended"):
        interventions.retry(attempt.pk, actor=admin, reason="Fixed")
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert attempt.monitor_error == "x"
    interventions.cancel(joined.pk, actor=admin, reason="Closing the account")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.status == "cancelled"


def test_suspension_is_told_to_the_client_and_to_staff(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage()])
    http = logged_in(admin)
    response = post_form(
        http, f"/backoffice/clients/{active_client.pk}/suspend/", {"reason": "KYC expired"}
    )
    assert response.status_code == 302
    page = http.get(response["Location"]).content.decode()
    assert "their challenges are on hold" in page
    notice = Notification.objects.filter(user=active_client.user).latest("id")
    assert "your trading accounts cannot log in" in notice.body
    record = AuditRecord.objects.get(action=AuditAction.CLIENT_SUSPEND)
    assert "1 running challenge stage(s) on hold" in record.summary
    participant = http.get(f"/backoffice/prop-trading/participants/{joined.pk}/").content.decode()
    assert 'id="on-hold"' in participant


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_a_suspension_racing_a_monitor_batch_waits_for_it_and_holds_what_comes_after(
    active_client, finance, admin
):
    """The batch applies its events (a breach here) and the hold takes the stream from where
    the batch left it: nothing is applied twice or lost, whichever comes first."""
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    monitor.process(server())
    move(feed.Feed(), "1.08000", "1.08012")  # the breach, not yet read by the monitor
    reading = threading.Event()
    order: list[str] = []

    def batch() -> None:
        try:
            with transaction.atomic():
                monitor.process(server())
                reading.set()
                time.sleep(0.5)  # the suspension arrives while the batch has not committed
            order.append("batch")
        finally:
            connection.close()

    def suspension() -> None:
        try:
            reading.wait(10)
            suspend(active_client, admin)
            order.append("suspended")
        finally:
            connection.close()

    threads = [threading.Thread(target=batch), threading.Thread(target=suspension)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert order == ["batch", "suspended"]
    attempt.refresh_from_db()
    assert attempt.status == "failed"  # the batch's verdict stands
    assert attempt.held_after is None  # an ended stage is not held
    assert AuditRecord.objects.get(action=AuditAction.CLIENT_SUSPEND).after["effects"] == []


def test_every_account_of_a_suspended_client_is_blocked_and_reactivation_gives_each_its_access(
    active_client, finance, admin
):
    """An account of an ended stage cannot log in either while the client is suspended; on
    reactivation each account gets the access its stage calls for (a block set by hand on the
    sandbox's account page is lifted with the suspension: the stage decides)."""
    from propdesk.platforms import services as platforms

    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    interventions.advance(attempt.pk, actor=admin, reason="Passed elsewhere")
    carry_out_platform_commands()
    following = joined.current_attempt()
    platforms.set_trading(following.login, enabled=False, reason="Copy-trading check", actor=admin)
    suspend(active_client, admin)
    for login in (attempt.login, following.login):
        assert sandbox_accounts.account_by_login(login).login_enabled is False
    reactivate(active_client, admin)
    first = sandbox_accounts.account_by_login(attempt.login)
    second = sandbox_accounts.account_by_login(following.login)
    assert first.login_enabled is True
    assert first.trading_enabled is False  # a passed stage stays closed
    assert second.login_enabled is True
    assert second.trading_enabled is True  # the running stage trades again


def test_a_stage_whose_events_cannot_be_applied_is_set_aside_and_the_client_reactivated(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    account = sandbox_accounts.account_by_login(attempt.login)
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    suspend(active_client, admin)
    move(feed.Feed(), "1.08400", "1.08412")  # its equity still moves while it is held
    StageAttempt.objects.filter(pk=attempt.pk).update(evaluator_state={"not": "a state"})
    reactivate(active_client, admin)
    active_client.refresh_from_db()
    attempt.refresh_from_db()
    assert active_client.status == "active"
    assert attempt.held_after is None
    assert attempt.monitor_error  # for staff to put right and retry
    assert attempt.set_aside_after is not None
    assert sandbox_accounts.account_by_login(attempt.login).login_enabled is True


def _race(first, second) -> list[str]:
    """Run `first` in a transaction held open a moment after it acted, and `second` meanwhile;
    returns the order in which they finished."""
    acting = threading.Event()
    order: list[str] = []

    def one() -> None:
        try:
            with transaction.atomic():
                first()
                acting.set()
                time.sleep(0.5)
            order.append("first")
        finally:
            acting.set()
            connection.close()

    def two() -> None:
        try:
            acting.wait(10)
            second()
            order.append("second")
        finally:
            connection.close()

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return order


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_a_stage_a_day_close_opens_while_the_client_is_being_suspended_is_held(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.09400", "1.09412")
    orders.close_position(account, position.pk)
    monitor.process(server())  # +8,880: the pass comes at the day's close

    order = _race(
        lambda: monitor.close_days(timezone.now() + timedelta(days=1)),
        lambda: suspend(active_client, admin),
    )
    carry_out_platform_commands()
    assert order == ["first", "second"]
    opened = StageAttempt.objects.get(participation=joined, stage=1)
    assert opened.status == "in_progress"
    assert opened.held_after is not None
    assert sandbox_accounts.account_by_login(opened.login).login_enabled is False


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_a_reinstatement_racing_a_suspension_leaves_the_stage_held(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08000", "1.08012")  # the breach
    monitor.process(server())
    move(price_feed, "1.08500", "1.08512")
    orders.close_position(account, position.pk)
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "failed"

    order = _race(
        lambda: interventions.reinstate(attempt.pk, actor=admin, reason="A bad price"),
        lambda: suspend(active_client, admin),
    )
    carry_out_platform_commands()
    assert order == ["first", "second"]
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert attempt.held_after is not None
    assert sandbox_accounts.account_by_login(attempt.login).login_enabled is False


def test_an_order_signed_in_before_the_suspension_is_refused_after_it(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    signed_in = sandbox_accounts.account_by_login(attempt.login)  # the call authenticated, then...
    suspend(active_client, admin)
    with pytest.raises(auth.AccountBlocked):
        orders.place_order(signed_in, symbol="EURUSD", side="buy", volume="1.00")
    assert not signed_in.positions.exists()


def test_cancelling_a_suspended_clients_challenge_keeps_its_account_from_logging_in(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    suspend(active_client, admin)
    interventions.cancel(joined.pk, actor=admin, reason="Chargeback")
    carry_out_platform_commands()
    account = sandbox_accounts.account_by_login(attempt.login)
    assert account.login_enabled is False  # still suspended: no login
    reactivate(active_client, admin)
    account.refresh_from_db()
    assert (account.login_enabled, account.trading_enabled) == (True, False)  # ended: close only
