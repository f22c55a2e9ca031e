"""The monitor: a breach fails the stage and disables the account, a pass opens the next
stage (or asks for the live step), days close on the clock, and a restart neither misses nor
repeats a verdict."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import idle, monitor, progress, runner
from propdesk.challenges.monitoring.watcher import FeedWatcher
from propdesk.challenges.participation import services as participation
from propdesk.platforms import adapters, services
from propdesk.platforms.models import LoggedEvent, TradingServer
from propdesk.platforms.protocol import PlatformError
from propdesk.platforms.sandbox import accounts, auth, feed, orders, stream, ticks
from propdesk.platforms.sandbox.ingestor import SandboxIngestor
from propdesk.platforms.sandbox.models import Event
from propdesk.rules.explain import explain
from propdesk.rules.model import decimal_text, format_time
from tests.challenges.factories import PRAGUE, move, pass_stage, running, server, stage
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_breach_fails_the_stage_disables_the_account_and_is_explained(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08000", "1.08012")  # -5,120: equity 94,880 < the daily floor 95,000
    monitor.process(server())
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert attempt.status == "failed"
    assert joined.status == "failed"
    assert attempt.verdict["rule"] == "max_daily_loss"
    assert "95000" in attempt.explanation.replace(",", "")
    assert accounts.account_by_login(attempt.login).trading_enabled is False


def test_a_pass_at_the_day_close_opens_the_next_demo_stage(active_client, finance, admin):
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(), stage(), stage("live")]
    )
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    move(price_feed, "1.09400", "1.09412")  # +8,880
    orders.close_position(account, position.pk)
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"  # a pass waits for the day's close
    monitor.close_days(timezone.now() + timedelta(days=1))
    carry_out_platform_commands()
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert attempt.status == "passed"
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    following = joined.current_attempt()
    assert following.stage == 1
    assert following.status == "in_progress"
    assert accounts.account_by_login(following.login).balance == D("100000.00")


def test_reaching_a_live_stage_asks_for_the_live_step_and_approval_issues_credentials(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)
    request = ApprovalRequest.objects.get(type_key="prop_live_step")
    assert request.status == "pending"
    assert joined.current_attempt().stage == 0
    approvals.approve(request.pk, actor=admin)
    carry_out_platform_commands()
    live = joined.current_attempt()
    assert (live.stage, live.kind) == (1, "live")
    shown = participation.credentials(joined, active_client)
    assert auth.authenticate(shown["login"], shown["password"]).group == "live"


def test_rejecting_the_live_step_fails_the_challenge(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)
    request = ApprovalRequest.objects.get(type_key="prop_live_step")
    approvals.reject(request.pk, actor=admin, reason="Trading style not accepted")
    joined.refresh_from_db()
    assert joined.status == "failed"


def test_a_restart_mid_stream_neither_misses_nor_repeats_a_verdict(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    for bid in ("1.08400", "1.08300", "1.08200", "1.08000", "1.07900"):
        move(price_feed, bid, str(D(bid) + D("0.00012")))
    read = 0
    while batch := monitor.process(server(), limit=2):  # a restart after every two events
        read += batch
    assert read == LoggedEvent.objects.count() == Event.objects.count()  # every event, once
    assert (
        MonitorCheckpoint.objects.get(key=f"log:{server().pk}").position
        == LoggedEvent.objects.order_by("-id").first().pk
    )
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert len([e for e in attempt.verdict["events"] if e["kind"] == "failed"]) == 1
    assert monitor.process(server()) == 0  # nothing read twice
    assert StageAttempt.objects.filter(status="failed").count() == 1


def test_events_of_accounts_that_run_no_stage_are_passed_over(active_client, finance, admin):
    accounts.create_account(server(), group="demo", leverage=100, balance="5000")
    assert monitor.process(server()) >= 1
    assert monitor.process(server()) == 0


def test_a_live_stage_is_watched_for_breaches_but_never_passes(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage("live")])
    assert attempt is None  # a first stage that is live waits for the live step
    request = ApprovalRequest.objects.get(type_key="prop_live_step")
    approvals.approve(request.pk, actor=admin)
    carry_out_platform_commands()
    live = joined.current_attempt()
    account = accounts.account_by_login(live.login)
    assert account.group == "live"
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.09400", "1.09412")  # past the 8% target
    orders.close_position(account, position.pk)
    monitor.process(server())
    monitor.close_days(timezone.now() + timedelta(days=3))
    carry_out_platform_commands()
    live.refresh_from_db()
    assert live.status == "in_progress"
    assert accounts.account_by_login(live.login).trading_enabled is True


def test_a_stage_the_monitor_cannot_evaluate_is_set_aside_and_the_others_go_on(
    active_client, register, finance, admin
):
    _, broken = running(active_client, finance, admin, stages=[stage(), stage("live")])
    other, _ = register(email="other@example.com")
    _, healthy = running(other, finance, admin, stages=[stage(), stage("live")])
    StageAttempt.objects.filter(pk=broken.pk).update(evaluator_state={"not": "a state"})
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    for attempt in (broken, healthy):
        orders.place_order(
            accounts.account_by_login(attempt.login), symbol="EURUSD", side="buy", volume="10.00"
        )
    move(feed.Feed(), "1.08000", "1.08012")
    monitor.process(server())
    broken.refresh_from_db()
    healthy.refresh_from_db()
    assert broken.monitor_error  # set aside, with the reason, for staff
    assert broken.status == "in_progress"
    assert healthy.status == "failed"  # the breach next to it was acted on


def test_the_monitor_reads_what_the_ingestor_appended_to_the_log_not_the_stream(
    active_client, finance, admin
):
    """An event in the sandbox's stream that its ingestor has not taken in is not read; once
    taken in, it is read from the log (as the log holds it)."""
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    monitor.process(server())
    move(feed.Feed(), "1.08000", "1.08012")  # the breach, in the stream only
    assert monitor.read(server()) == 0
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert SandboxIngestor(server()).pull() >= 1
    assert monitor.read(server()) >= 1
    attempt.refresh_from_db()
    assert attempt.status == "failed"


class Away:
    """A platform that cannot be reached: its ingestor's every pull fails as a refused
    connection does (`asked` counts the pulls, `made` the ingestors)."""

    def __init__(self):
        self.asked = 0
        self.made = 0
        self.closed = 0

    def __call__(self, server):  # adapters' factory: the platform for a server of this kind
        return self

    def ingestor(self):
        self.made += 1
        return self

    def pull(self):
        self.asked += 1
        raise PlatformError("connection refused", transient=True)

    def waiter(self):
        return None

    def close(self):
        self.closed += 1


@pytest.fixture
def away(monkeypatch):
    platform = Away()
    monkeypatch.setitem(adapters._KINDS, "away", platform)
    TradingServer.objects.create(name="away", kind="away", demo_groups=["demo"])
    return platform


def test_a_server_whose_platform_is_away_is_skipped_and_the_others_are_read(
    active_client, finance, admin, away, polled, caplog
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.08000", "1.08012")
    monitor.run(stop=Rounds(1))
    attempt.refresh_from_db()
    assert attempt.status == "failed"  # the sandbox's breach was read beside the failing server
    assert "taking in the events of server away" in caplog.text
    assert away.asked == 1  # resting after its failure, not asked every round
    assert away.closed == 1  # the monitor's end closed its ingestor


def test_a_failing_ingestor_rests_longer_after_each_failure_until_it_pulls_again(away):
    now = [1000.0]
    ingestors = idle.Ingestors(clock=lambda: now[0])
    gone = TradingServer.objects.get(name="away")
    asked = []
    for step in (0.0, 0.5, 0.6, 1.5, 0.6, 3.0, 1.1):
        now[0] += step
        assert ingestors.pull(gone) is None
        asked.append(away.asked)
    # Failed at 0 s (rests 1 s), 1.1 s (2 s), 3.2 s (4 s), 7.3 s.
    assert asked == [1, 1, 2, 2, 3, 3, 4]
    assert away.made == 1


def test_an_ingestor_is_made_again_when_staff_change_its_servers_connection(away):
    ingestors = idle.Ingestors(clock=lambda: 0.0)
    gone = TradingServer.objects.get(name="away")
    ingestors.pull(gone)
    gone.base_url = "https://broker.example.com"
    ingestors.pull(gone)
    assert (away.made, away.closed, away.asked) == (2, 1, 2)


# --- an idle monitor ------------------------------------------------------------------------------


class Rounds:
    """A monitor's `stop` that ends it after `waits` idle waits, and notes what each asked for
    (so nothing here sleeps)."""

    def __init__(self, waits):
        self.left = waits
        self.asked = []

    def is_set(self):
        return self.left <= 0

    def wait(self, seconds):
        self.asked.append(seconds)
        self.left -= 1
        return self.is_set()


@pytest.fixture
def polled(monkeypatch):
    """No platform wakes the monitor (as on SQLite): it backs off, and its waits are `Rounds`'."""
    monkeypatch.setattr(SandboxIngestor, "waiter", lambda ingestor: None)


def test_an_idle_monitor_backs_off_to_its_cap_and_events_bring_the_fast_looks_back():
    now = [1000.0]
    backoff = idle.Backoff(every=0.01, clock=lambda: now[0])
    assert backoff.pause(woken=False) == 0.01
    now[0] += 0.03  # quiet between two of the feed's writes: the looks stay fast
    backoff.read(0)
    assert backoff.pause(woken=False) == 0.01
    now[0] += 1.0
    backoff.read(0)
    assert 0.01 < backoff.pause(woken=False) < idle.IDLE_CAP  # backing off
    now[0] += 600.0
    backoff.read(0)
    assert backoff.pause(woken=False) == idle.IDLE_CAP
    backoff.read(3)  # a batch found events
    assert backoff.pause(woken=False) == 0.01


def test_a_monitor_its_platforms_wake_waits_for_them_up_to_the_safety_look():
    backoff = idle.Backoff(every=0.01)
    assert backoff.pause(woken=True) == idle.WOKEN_CAP


def test_an_idle_monitor_never_waits_past_the_next_day_end():
    now = [1000.0]
    backoff = idle.Backoff(every=0.01, clock=lambda: now[0])
    now[0] += 600.0
    assert backoff.pause(woken=True, due_in=0.3) == 0.3
    assert backoff.pause(woken=False, due_in=0.3) == 0.3
    assert backoff.pause(woken=False, due_in=-2.0) == 0.01  # overdue: look again soon


def test_an_idle_look_sees_only_events_past_the_monitors_cursor():
    accounts.create_account(server(), group="demo", leverage=100, balance="5000")
    monitor.process(server())
    seen = {server().pk: MonitorCheckpoint.objects.get(key=f"log:{server().pk}").position}
    ingestors = idle.Ingestors()
    assert not idle.news([server()], seen, ingestors=ingestors)
    accounts.create_account(server(), group="demo", leverage=100, balance="5000")
    assert idle.news([server()], seen, ingestors=ingestors)


def _seen() -> dict[int, int]:
    """Where the monitor's one-off reads left it, by server."""
    return {server().pk: MonitorCheckpoint.objects.get(key=f"log:{server().pk}").position}


def test_an_idle_monitor_stops_waiting_at_its_first_look_that_finds_events(polled):
    accounts.create_account(server(), group="demo", leverage=100, balance="5000")
    monitor.process(server())
    waits = Rounds(100)
    looks = idle.Backoff(every=0.01)
    idle.until_news(
        [server()], backoff=looks, ingestors=idle.Ingestors(), seen=_seen(), due_in=None, stop=waits
    )
    assert len(waits.asked) > 1  # nothing came: it waited on, look after look, till the round
    accounts.create_account(server(), group="demo", leverage=100, balance="5000")
    waits = Rounds(100)
    idle.until_news(
        [server()], backoff=looks, ingestors=idle.Ingestors(), seen=_seen(), due_in=None, stop=waits
    )
    assert len(waits.asked) == 1


class Unwoken:
    """A platform's waiter that is never woken: it notes the waits asked of it and ends the
    monitor after the first (nothing here sleeps)."""

    def __init__(self):
        self.asked = []
        self.stop = Rounds(1)

    def wait(self, *, after, timeout):
        self.asked.append(timeout)
        self.stop.left = 0
        return False

    def close(self):
        pass


def test_an_idle_monitor_wakes_for_its_next_running_stages_day_end(
    active_client, finance, admin, monkeypatch
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    monitor.process(server())
    now = timezone.now()
    due = now + timedelta(seconds=0.6 - runner.GRACE_SECONDS)  # due to close in 0.6 s
    StageAttempt.objects.filter(pk=attempt.pk).update(day_end=due)
    waiter = Unwoken()
    monkeypatch.setattr(SandboxIngestor, "waiter", lambda ingestor: waiter)
    monkeypatch.setattr(idle, "WOKEN_CAP", 3600.0)  # only the day end can cut the wait short
    monkeypatch.setattr(idle, "FULL_ROUND_EVERY", 3600.0)
    monitor.run(stop=waiter.stop, clock=lambda: now)
    # The day end and its grace (sooner than the leases' renewal), less the moments the
    # monitor took to get there.
    (asked,) = waiter.asked
    assert 0.3 < asked <= 0.6


def test_an_idle_monitor_closes_a_day_that_ended_with_no_event_after_it(
    active_client, finance, admin, polled
):
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(), stage(), stage("live")]
    )
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.09400", "1.09412")  # +8,880: the target, passed at the day's close
    orders.close_position(account, position.pk)
    monitor.process(server())
    tomorrow = timezone.now() + timedelta(days=1)
    monitor.run(stop=Rounds(1), clock=lambda: tomorrow)
    attempt.refresh_from_db()
    assert attempt.status == "passed"
    assert joined.current_attempt().stage == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
def test_a_committed_event_wakes_the_waiting_monitor_before_its_safety_look():
    servers = [server()]
    ingestors = idle.Ingestors()
    try:
        assert ingestors.wakes(servers)
        ingestors.wait(servers, 0)  # the first wait listens, and says "look"
        accounts.create_account(servers[0], group="demo", leverage=100, balance="5000")
        assert ingestors.wait(servers, 30.0) is True  # woken: a wait this long is never slept
        assert idle.news(servers, {}, ingestors=ingestors)
        assert LoggedEvent.objects.filter(server=servers[0]).exists()  # the look took it in
    finally:
        ingestors.close()


def test_an_overdue_stage_on_a_disabled_server_does_not_cut_the_idle_wait_short(
    active_client, finance, admin, monkeypatch
):
    """A stage whose server staff disabled keeps its (past) day end, and no round closes its
    day: the idle monitor's waits do not count it (it would bring back 10 ms polling)."""
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    monitor.process(server())
    now = timezone.now()
    StageAttempt.objects.filter(pk=attempt.pk).update(day_end=now - timedelta(hours=1))
    TradingServer.objects.filter(pk=server().pk).update(enabled=False)
    TradingServer.objects.create(name="other", demo_groups=["demo"])  # enabled, idle
    waiter = Unwoken()
    monkeypatch.setattr(SandboxIngestor, "waiter", lambda ingestor: waiter)
    monitor.run(stop=waiter.stop, clock=lambda: now)
    assert waiter.asked
    assert waiter.asked[0] > 0.3, waiter.asked  # a real idle wait (till a renewal), not 10 ms


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
def test_a_listener_whose_connection_was_killed_says_look_and_listens_again():
    listener = stream.Listener()
    try:
        assert listener.wait(after=0, timeout=0) is True
        pid = listener._conn.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert listener.wait(after=0, timeout=30.0) is True  # the failure: "look"
        assert listener._conn is None
        assert listener.wait(after=0, timeout=30.0) is True  # listens again: "look"
        assert listener._conn is not None
        assert listener._conn.info.backend_pid != pid
        accounts.create_account(server(), group="demo", leverage=100, balance="5000")
        assert listener.wait(after=0, timeout=30.0) is True  # woken by the new connection
    finally:
        listener.close()
    assert listener._conn is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
def test_closing_the_ingestors_closes_every_listening_connection():
    ingestors = idle.Ingestors()
    servers = [server()]
    ingestors.wait(servers, 0)
    conn = ingestors.waiter(server())._conn
    assert conn is not None
    assert not conn.closed
    ingestors.close()
    assert conn.closed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
def test_a_notify_that_came_between_waits_is_not_lost():
    """Committed after one wait ended and before the next began (the monitor was looking)."""
    listener = stream.Listener()
    try:
        listener.wait(after=0, timeout=0)
        assert listener.wait(after=0, timeout=0) is False
        accounts.create_account(server(), group="demo", leverage=100, balance="5000")
        assert listener.wait(after=0, timeout=30.0) is True
        assert listener.wait(after=0, timeout=0) is False  # drained: one wake-up, not one each
    finally:
        listener.close()


class Told:
    """A platform's waiter that notes every wait asked of it (nothing sleeps)."""

    def __init__(self):
        self.asked = []

    def wait(self, *, after, timeout):
        self.asked.append(timeout)
        return False

    def close(self):
        pass


def test_a_busy_monitor_takes_in_what_its_waiters_were_told_without_waiting(monkeypatch):
    """While events keep coming the monitor never waits, so what a listener was told would pile
    up in the database's notification queue: after each busy round it is taken in, at once."""
    told = Told()
    monkeypatch.setattr(SandboxIngestor, "waiter", lambda ingestor: told)
    ingestors = idle.Ingestors()
    assert ingestors.wakes([server()])  # the monitor was idle once: its waiter exists
    ingestors.drain()
    assert told.asked == [0]


# --- version 2 on the clock and with money moved: weekend cutoffs, balance operations ----------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def weekend_close_soon() -> tuple[dict, datetime]:
    """Rules whose weekend cutoff falls about two hours from now (Prague, whole minutes), their
    day reset an hour ago (the day ends almost a day later, after the cutoff), and the cutoff."""
    now = timezone.now().astimezone(PRAGUE)
    local = (now + timedelta(hours=2, minutes=1)).replace(second=0, microsecond=0)
    rules = {
        "day_reset": (now - timedelta(hours=1)).strftime("%H:%M"),
        "weekend_close": {"day": WEEKDAYS[local.weekday()], "time": local.strftime("%H:%M")},
    }
    return rules, local.astimezone(UTC)


def test_a_stage_holding_a_position_at_the_weekend_cutoff_fails_then_by_the_clock_alone(
    active_client, finance, admin, polled
):
    rules, cutoff = weekend_close_soon()
    _, attempt = running(active_client, finance, admin, stages=[stage(**rules), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.next_due == cutoff < attempt.day_end  # saved: the cutoff comes first
    watcher = FeedWatcher(f"log:{server().pk}")
    watcher.load()
    assert watcher.soonest_due() == cutoff  # what the idle monitor waits for
    events = Event.objects.count()
    grace = timedelta(seconds=runner.GRACE_SECONDS)
    monitor.run(stop=Rounds(1), clock=lambda: cutoff + grace - timedelta(seconds=1))
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"  # a second before the cutoff
    monitor.run(stop=Rounds(1), clock=lambda: cutoff + grace)
    attempt.refresh_from_db()
    assert Event.objects.count() == events  # no event came: the clock alone
    assert attempt.status == "failed"
    assert attempt.verdict["rule"] == "weekend_holding"
    assert attempt.verdict["at"] == format_time(cutoff)  # at the cutoff instant
    carry_out_platform_commands()  # what the breach decided for the account (the worker's)
    assert accounts.account_by_login(attempt.login).trading_enabled is False


def test_a_stage_flat_at_the_weekend_cutoff_goes_on_and_is_next_due_at_its_days_end(
    active_client, finance, admin, polled
):
    rules, cutoff = weekend_close_soon()
    _, attempt = running(active_client, finance, admin, stages=[stage(**rules), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    orders.close_position(account, position.pk)
    monitor.process(server())
    monitor.run(stop=Rounds(1), clock=lambda: cutoff + timedelta(seconds=runner.GRACE_SECONDS))
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert attempt.next_due == attempt.day_end  # the next cutoff is a week away


def test_a_5000_debit_at_a_funded_stages_trailing_high_neither_fails_it_nor_moves_its_target(
    active_client, finance, admin
):
    """The issue's own check: a staff balance operation of -5,000 on a funded sandbox account at
    a trailing high. Read as a loss it would breach (equity 103,880 under the trailing floor
    104,880); read as money moved, the references move with it, and the explanation shows them
    moved."""
    trailing = {"max_loss": {"pct": "4", "mode": "trailing_intraday", "lock_at_initial": False}}
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(), stage("live", **trailing)]
    )
    pass_stage(attempt)
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    funded = joined.current_attempt()
    assert funded.kind == "live"
    account = accounts.account_by_login(funded.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.09400", "1.09412")
    orders.close_position(account, position.pk)  # +8,880: the trailing high is 108,880
    monitor.process(server())
    funded.refresh_from_db()
    high = progress.figures(funded)
    assert high.max_loss_floor == D("104880")
    services.balance_operation(funded.login, amount="-5000", comment="Profit share", actor=admin)
    monitor.process(server())
    funded.refresh_from_db()
    assert funded.status == "in_progress"
    assert accounts.account_by_login(funded.login).trading_enabled is True
    after = progress.figures(funded)
    assert (after.balance, after.equity, after.moved) == (D("103880"), D("103880"), D("-5000"))
    # The target is a trading profit: no nearer (as a balance to reach, it moved with the money).
    assert (after.profit, after.target_progress_pct) == (high.profit, high.target_progress_pct)
    assert after.target_balance == high.target_balance - 5000
    assert after.max_loss_floor == D("99880")  # the trailing high moved with the money
    assert after.daily_loss_floor == high.daily_loss_floor - 5000
    evaluator = progress.evaluator_for(funded)
    (moved,) = evaluator.moves
    assert moved["amount"] == "-5000.00"
    assert D(moved["before"]["max_loss_floor"]) == D("104880")
    assert D(moved["after"]["max_loss_floor"]) == D("99880")
    told = explain(evaluator)
    for shown in (
        D("5000"),
        high.max_loss_floor,
        after.max_loss_floor,
        high.daily_loss_floor,
        after.daily_loss_floor,
    ):
        assert decimal_text(shown) in told, (shown, told)


def test_the_migration_gives_a_stage_saved_before_weekend_cutoffs_its_day_end_as_next_due(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.day_end is not None
    StageAttempt.objects.filter(pk=attempt.pk).update(next_due=None)  # as saved before 0017
    migration = importlib.import_module("propdesk.challenges.migrations.0017_next_due")
    migration.fill_next_due(apps, None)
    attempt.refresh_from_db()
    assert attempt.next_due == attempt.day_end
