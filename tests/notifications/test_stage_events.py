"""A participation's stages tell their trader: the account is ready once it is open (once, if
its command is carried out again), the stage passed, failed with one sentence of why, paused,
resumed; from the monitor and from staff interventions alike."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone, translation

from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import interventions, notices, stage_accounts
from propdesk.notifications.models import Notification, NotificationTemplate
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.protocol import Credentials
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.rules.events import Outcome
from tests.challenges.factories import breached, move, running, server, stage
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal
DAILY_PAUSE = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}


def _told(client, key):
    return list(Notification.objects.filter(user=client.user, event=key).order_by("id"))


def test_the_account_ready_event_comes_when_the_account_is_open_with_its_login(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    [note] = _told(active_client, "participation.approved")
    assert note.title == "Your 2-Step 100K account is ready"
    assert attempt.login
    assert f"login {attempt.login} on Sandbox" in note.body


def test_no_account_ready_event_before_the_account_is_open(active_client, finance, admin):
    from propdesk.challenges.catalogue import services as catalogue
    from propdesk.challenges.participation import services as participation
    from propdesk.wallet import services as wallet
    from tests.challenges.factories import definition

    wallet.adjust(
        active_client.pk,
        direction="credit",
        amount="1000",
        currency="USD",
        comment="x",
        actor=finance,
    )
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    participation.start(active_client, made.pk, payment="wallet")
    # Approved (automatic), the account's command waits for the worker: nothing said yet.
    assert _told(active_client, "participation.approved") == []
    assert not Notification.objects.filter(user=active_client.user, event__startswith="request")
    carry_out_platform_commands()
    assert len(_told(active_client, "participation.approved")) == 1


def test_a_retried_opening_tells_the_trader_once(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    command = PlatformCommand.objects.get(
        subject=attempt.subject, kind=PlatformCommand.Kind.OPEN_ACCOUNT
    )
    again = Credentials(login=attempt.login, password="another", server="Sandbox")
    stage_accounts.account_opened(command, again)  # the outbox's hook called a second time
    assert len(_told(active_client, "participation.approved")) == 1


def test_a_breach_fails_the_stage_with_one_sentence_of_why(active_client, finance, admin):
    _, attempt, *_ = breached(active_client, finance, admin)
    [note] = _told(active_client, "stage.failed")
    assert note.title == "Stage 1 of 2-Step 100K has ended"
    assert (
        f"on account {attempt.login} has ended: Your equity fell to 94,880.00, below the "
        "daily loss floor of 95,000.00." in note.body
    )
    assert note.level == Notification.Level.WARNING


def test_the_monitor_reading_on_after_a_breach_tells_the_failure_once(
    active_client, finance, admin
):
    *_, price_feed = breached(active_client, finance, admin)
    move(price_feed, "1.07500", "1.07512")  # deeper still: the stage has already ended
    monitor.process(server())
    monitor.process(server())  # a batch run again
    monitor.close_days(timezone.now() + timedelta(days=1))
    assert len(_told(active_client, "stage.failed")) == 1
    assert not _told(active_client, "stage.paused")
    assert not _told(active_client, "participation.rejected")  # no second, participation-level one


def test_a_failure_email_is_in_the_outbox_after_the_commit(active_client, finance, admin, run_jobs):
    breached(active_client, finance, admin)
    mail.outbox.clear()
    run_jobs()
    [note] = _told(active_client, "stage.failed")
    assert [m.subject for m in mail.outbox if m.subject == note.title] == [note.title]


def test_a_pass_tells_the_trader_and_the_next_account_is_ready(active_client, finance, admin):
    from tests.challenges.factories import pass_stage

    joined, attempt = running(
        active_client, finance, admin, stages=[stage(min_trading_days=1), stage(), stage("live")]
    )
    pass_stage(attempt)
    [passed] = _told(active_client, "stage.passed")
    assert passed.title.startswith("You passed ")
    assert attempt.login in passed.body
    ready = _told(active_client, "participation.approved")
    assert len(ready) == 2  # the first stage's account, then the second's
    assert joined.current_attempt().login in ready[-1].body


def test_the_daily_pause_and_the_resume_are_told(active_client, finance, admin):
    _, attempt = running(
        active_client, finance, admin, stages=[stage(max_daily_loss=DAILY_PAUSE), stage("live")]
    )
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08000", "1.08012")  # -5,120: paused
    monitor.process(server())
    move(price_feed, "1.07900", "1.07912")  # further below the floor: still the one pause
    monitor.process(server())
    monitor.process(server())
    [paused] = _told(active_client, "stage.paused")
    assert "is paused: Your equity fell to 94,880.00, below the daily loss floor" in paused.body
    assert "trading is paused until the day ends at" in paused.body
    move(price_feed, "1.08500", "1.08512")
    monitor.process(server())
    monitor.close_days(timezone.now() + timedelta(days=1))
    monitor.close_days(timezone.now() + timedelta(days=1))  # run again: no second resume
    [resumed] = _told(active_client, "stage.resumed")
    assert resumed.title.endswith("is running again")
    assert "is running again: The day ended: the pause is over" in resumed.body


def test_staff_advancing_a_stage_tells_the_trader_it_passed(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage(), stage("live")])
    interventions.advance(attempt.pk, actor=admin, reason="Passed on the old server")
    [note] = _told(active_client, "stage.passed")
    assert attempt.login in note.body
    assert "old server" not in note.body  # the staff's reason stays internal


def test_staff_reinstating_a_failed_stage_tells_the_trader_it_runs_again(
    active_client, finance, admin
):
    _, attempt, *_ = breached(active_client, finance, admin)
    interventions.reinstate(attempt.pk, actor=admin, reason="Bad tick")
    [note] = _told(active_client, "stage.resumed")
    assert note.title.endswith("is running again")
    assert "is running again: The firm found the stage's failure to be in error" in note.body
    assert "Bad tick" not in note.body


def test_the_reason_is_written_in_the_traders_language():
    happened = Outcome(
        at=timezone.now(),
        kind="failed",
        rule="max_loss",
        explanation={"snapshot": {"equity": "44870.00"}, "floor": "45000.00"},
    )
    why = notices.reason(happened.kind, happened.rule, happened.explanation)
    with translation.override("en"):
        assert str(why) == (
            "Your equity fell to 44,870.00, below the maximum loss floor of 45,000.00."
        )
    with translation.override("es"):
        assert "44.870,00" in str(why)  # numbers as Spanish writes them


def test_a_reason_missing_its_figures_is_the_general_sentence():
    why = notices.reason("failed", "max_loss", {})
    assert str(why) == "The stage's rules ended it."


def test_the_firms_spanish_template_is_used_for_a_spanish_trader(active_client, finance, admin):
    NotificationTemplate.objects.create(
        event="stage.failed",
        language="es",
        subject="{{ stage }} de {{ challenge }} terminó",
        body="Cuenta {{ login }}: {{ reason }}",
    )
    user = active_client.user
    user.language = "es"
    user.save(update_fields=["language"])
    _, attempt, *_ = breached(active_client, finance, admin)
    [note] = _told(active_client, "stage.failed")
    assert note.title == "Stage 1 de 2-Step 100K terminó"
    assert note.body.startswith(f"Cuenta {attempt.login}: ")
    assert "94.880,00" in note.body


def test_a_pause_says_until_when_in_the_traders_own_time_zone_and_language(active_client):
    from propdesk.accounts import services as client_accounts
    from propdesk.notifications import events
    from propdesk.rules.model import MAX_DAILY_LOSS, PAUSED

    client_accounts.set_time_zone(active_client, "America/Mexico_City")  # UTC-6 in December
    user = active_client.user
    user.language = "es"
    user.save(update_fields=["language"])
    user.refresh_from_db()
    why = {
        "snapshot": {"equity": "94500.5"},
        "floor": "95000",
        "paused_until": "2026-12-07T22:00:00Z",
    }
    data = {"challenge": "2-Step", "stage": "Fase 1", "login": "700001"}
    data["reason"] = notices.reason(PAUSED, MAX_DAILY_LOSS, why)
    _subject, body = events.render("stage.paused", user, data)
    assert "2026-12-07T22:00:00Z" not in body
    assert "el 7 de diciembre de 2026 a las 16:00 (CST)" in body  # 22:00 UTC in Mexico City
    assert "94.500,50" in body  # in cents
