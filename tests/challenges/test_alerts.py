"""The alerts a firm switches on per challenge (docs/notifications.md): each fires once
per crossing from the monitor's own figures, re-arms as documented, survives a restart without
firing again, and is off until switched on."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from propdesk.challenges.catalogue import alert_settings
from propdesk.challenges.models import MonitorCheckpoint, StageAlert, StageAttempt
from propdesk.challenges.monitoring import checkpoints, monitor, runner
from propdesk.challenges.monitoring import watcher as watcher_module
from propdesk.core.audit import AuditAction
from propdesk.core.errors import ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.notifications.models import Notification, WebhookMessage
from propdesk.platforms import feeds, natslog
from propdesk.platforms.models import LoggedEvent
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.platforms.sandbox.ingestor import SandboxIngestor
from tests.challenges.factories import eventually, move, next_reset, running, server, stage

pytestmark = pytest.mark.django_db
D = Decimal


def alerts_of(client, event):
    return list(
        Notification.objects.filter(user=client.user, event=event)
        .order_by("id")
        .values_list("title", flat=True)
    )


def trading_with_alerts(client, finance, admin, **alerts):
    """A running stage (daily loss 5% of 100,000 on the previous day's balance, max loss 10%
    static) holding 10 lots of EURUSD bought at 1.08512 (a pip is 100 USD), its challenge's
    alerts set as given."""
    joined, attempt = running(client, finance, admin, stages=[stage(), stage("live")])
    if alerts:
        alert_settings.set_alerts(joined.challenge_id, alerts, actor=admin)
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    return joined, attempt


def snapshot(attempt, at: datetime, equity: str) -> None:
    """An equity snapshot of the stage's account at `at` (a later day than the sandbox's)."""
    LoggedEvent.objects.create(
        server=server(),
        login=attempt.login,
        payload={"t": at.isoformat(), "type": "equity", "balance": "100000.00", "equity": equity},
        source=f"test-{at.isoformat()}-{equity}",
    )


def test_an_alert_at_80_percent_of_the_daily_loss_fires_once_when_crossed_not_on_every_snapshot(
    active_client, finance, admin
):
    _, attempt = trading_with_alerts(active_client, finance, admin, daily_loss_percent="80")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08300", "1.08312")  # -2,120: 42% of the 5,000 allowed
    monitor.process(server())
    assert alerts_of(active_client, "alert.daily_loss") == []
    move(price_feed, "1.08100", "1.08112")  # -4,120: 82.4%, crossed
    monitor.process(server())
    for bid in ("1.08050", "1.08150", "1.08080", "1.08120"):  # above and below 80% again
        move(price_feed, bid, str(D(bid) + D("0.00012")))
        monitor.process(server())
    sent = alerts_of(active_client, "alert.daily_loss")
    assert sent == [f"Account {attempt.login}: 82.40% of today's loss limit used"]
    alert = StageAlert.objects.get(attempt=attempt)
    assert (alert.kind, alert.threshold) == ("daily_loss", 80)
    body = Notification.objects.get(user=active_client.user, event="alert.daily_loss").body
    assert "4,120.00" in body
    assert "5,000.00" in body
    assert "95,000.00" in body


def test_the_daily_loss_alert_re_arms_when_the_trading_day_rolls_over(
    active_client, finance, admin
):
    _, attempt = trading_with_alerts(active_client, finance, admin, daily_loss_percent="80")
    move(feed.Feed(), "1.08100", "1.08112")  # 82.4% today
    monitor.process(server())
    assert len(alerts_of(active_client, "alert.daily_loss")) == 1
    tomorrow = timezone.now() + timedelta(days=1)
    snapshot(attempt, tomorrow, "96500.00")  # a new day: 70% of its 5,000
    snapshot(attempt, tomorrow + timedelta(minutes=1), "95800.00")  # 84%: crossed again
    snapshot(attempt, tomorrow + timedelta(minutes=2), "95700.00")
    monitor.read(server())
    assert len(alerts_of(active_client, "alert.daily_loss")) == 2
    assert StageAlert.objects.filter(attempt=attempt, kind="daily_loss").count() == 2


def test_a_restart_reading_the_events_again_does_not_fire_again(
    active_client, finance, admin, monkeypatch
):
    """The monitor stops after the alert, before its checkpoint moves: the next one reads the
    same snapshots from the checkpoint and sends nothing more."""
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 3600.0)  # no checkpoint meanwhile
    _, attempt = trading_with_alerts(active_client, finance, admin, daily_loss_percent="80")
    first = runner.Monitor(owner="first")
    try:
        first.round()
        move(feed.Feed(), "1.08100", "1.08112")
        first.round()
        assert len(alerts_of(active_client, "alert.daily_loss")) == 1
    finally:
        held = list(first.watchers)
        first.watchers.clear()  # dies: nothing written on the way out ...
        checkpoints.release(held, owner="first")  # ... and its leases are free at once
        first.close()
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 0.0)
    again = runner.Monitor(owner="second")
    try:
        for _ in range(3):
            again.round()
    finally:
        again.close()
    assert len(alerts_of(active_client, "alert.daily_loss")) == 1
    assert StageAlert.objects.filter(attempt=attempt).count() == 1


def test_no_alert_is_sent_while_the_challenge_has_none_switched_on(active_client, finance, admin):
    trading_with_alerts(active_client, finance, admin)
    move(feed.Feed(), "1.08000", "1.08012")  # -5,120: the daily loss breached
    monitor.process(server())
    assert not Notification.objects.filter(event__startswith="alert.").exists()
    assert not StageAlert.objects.exists()


def test_a_stage_that_breaches_on_the_crossing_snapshot_gets_its_failure_not_an_alert(
    active_client, finance, admin
):
    _, attempt = trading_with_alerts(active_client, finance, admin, daily_loss_percent="80")
    move(feed.Feed(), "1.08000", "1.08012")  # straight past the floor
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert alerts_of(active_client, "alert.daily_loss") == []


def test_the_max_loss_alert_re_arms_only_five_points_below_its_threshold(
    active_client, finance, admin
):
    """Max loss 10% of 100,000 (static floor 90,000), alert at 30% (equity 97,000): it fires,
    not again while the usage wavers between 26% and 33%, re-arms at 25% or less (97,500),
    fires again."""
    _, attempt = trading_with_alerts(active_client, finance, admin, max_loss_percent="30")
    start = timezone.now() + timedelta(minutes=5)
    for minute, equity in enumerate(
        ["98000", "96900", "97400", "96800", "97300", "96700", "97600", "96500"]
    ):
        snapshot(attempt, start + timedelta(seconds=minute), f"{equity}.00")
    monitor.read(server())
    sent = alerts_of(active_client, "alert.max_loss")
    assert sent == [
        f"Account {attempt.login}: 31.00% of the maximum loss used",
        f"Account {attempt.login}: 35.00% of the maximum loss used",
    ]


def test_the_period_ending_and_inactivity_alerts_fire_once_each(active_client, finance, admin):
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(trading_period_days=30), stage("live")]
    )
    alert_settings.set_alerts(
        joined.challenge_id, {"period_end_days": "5", "inactivity_days": "3"}, actor=admin
    )
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.close_position(  # a trade today, so that "no trade" counts from today
        account, orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00").pk
    )
    SandboxIngestor(server()).pull()
    monitor.read(server())
    now = timezone.now()
    monitor.close_days(now + timedelta(days=1))
    assert not Notification.objects.filter(event__startswith="alert.").exists()
    monitor.close_days(now + timedelta(days=3, hours=1))
    monitor.close_days(now + timedelta(days=4))
    assert len(alerts_of(active_client, "alert.inactivity")) == 1
    assert alerts_of(active_client, "alert.period_ending") == []
    monitor.close_days(now + timedelta(days=26))
    monitor.close_days(now + timedelta(days=27))
    ending = alerts_of(active_client, "alert.period_ending")
    assert len(ending) == 1
    assert "ends in" in ending[0]
    assert len(alerts_of(active_client, "alert.inactivity")) == 1


def test_alerts_switched_on_while_the_monitor_runs_apply_within_its_next_look(
    active_client, finance, admin, monkeypatch
):
    monkeypatch.setattr("propdesk.challenges.monitoring.alerts.SETTINGS_LOOKED_EVERY", 0.0)
    joined, _ = trading_with_alerts(active_client, finance, admin)
    reader = runner.Monitor(owner="reader")
    try:
        reader.round()
        alert_settings.set_alerts(joined.challenge_id, {"daily_loss_percent": "60"}, actor=admin)
        move(feed.Feed(), "1.08100", "1.08112")
        reader.round()
    finally:
        reader.close()
    assert len(alerts_of(active_client, "alert.daily_loss")) == 1


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("daily_loss_percent", "0"),
        ("daily_loss_percent", "101"),
        ("max_loss_percent", "-5"),
        ("max_loss_percent", "eighty"),
        ("period_end_days", "366"),
        ("inactivity_days", "99999999999999999999"),
        ("inactivity_days", "2.5"),
        ("daily_loss_percent", "<script>"),
        ("period_end_days", "٣"),  # an Arabic-Indic three: digits, not ours
    ],
)
def test_wrong_alert_settings_are_refused_with_the_field_and_nothing_changes(
    active_client, finance, admin, field, value
):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    with pytest.raises(ValidationFailed) as refused:
        alert_settings.set_alerts(joined.challenge_id, {field: value}, actor=admin)
    assert field in refused.value.fields
    assert alert_settings.current(joined.challenge) == dict.fromkeys(alert_settings.FIELDS)
    assert not AuditRecord.objects.filter(action=AuditAction.CHALLENGE_ALERTS.value).exists()


def test_alert_settings_are_saved_audited_and_empty_switches_off(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    alert_settings.set_alerts(
        joined.challenge_id,
        {"daily_loss_percent": " 80 ", "max_loss_percent": "100", "inactivity_days": "365"},
        actor=admin,
    )
    assert alert_settings.current(joined.challenge) == {
        "daily_loss_percent": 80,
        "max_loss_percent": 100,
        "period_end_days": None,
        "inactivity_days": 365,
    }
    alert_settings.set_alerts(joined.challenge_id, {"daily_loss_percent": ""}, actor=admin)
    assert alert_settings.current(joined.challenge)["daily_loss_percent"] is None
    records = AuditRecord.objects.filter(action=AuditAction.CHALLENGE_ALERTS.value)
    assert records.count() == 2
    assert records.order_by("id").last().after["daily_loss_percent"] is None


def test_a_restart_after_an_alert_re_armed_and_fired_again_sends_neither_again(
    active_client, finance, admin, monkeypatch, caplog
):
    """Max loss at 30%: crossed, re-armed, crossed again, all after the last checkpoint; the
    monitor dies, the next reads the same snapshots and sends nothing more."""
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 3600.0)
    _, attempt = trading_with_alerts(active_client, finance, admin, max_loss_percent="30")
    first = runner.Monitor(owner="first")
    try:
        first.round()  # the checkpoint: the sandbox's first events
        start = timezone.now() + timedelta(minutes=5)
        for second, equity in enumerate(["96900", "97600", "96800"]):
            snapshot(attempt, start + timedelta(seconds=second), f"{equity}.00")
        first.round()
        assert len(alerts_of(active_client, "alert.max_loss")) == 2
    finally:
        held = list(first.watchers)
        first.watchers.clear()
        checkpoints.release(held, owner="first")
        first.close()
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 0.0)
    again = runner.Monitor(owner="second")
    try:
        for _ in range(3):
            again.round()
    finally:
        again.close()
    assert len(alerts_of(active_client, "alert.max_loss")) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # none looked at twice


# --- review: figures, cost, transactions, pauses, clocks, hand-overs ---------------------------


def snapshots(attempt, start: datetime, *equities: str) -> None:
    for second, equity in enumerate(equities):
        snapshot(attempt, start + timedelta(seconds=second), equity)


def test_an_alerts_amounts_are_in_the_accounts_currency_rounded_the_careful_way(
    active_client, finance, admin
):
    """Daily loss 5% of the previous day's equity (99,987.65): 4,999.3825 allowed, floor
    94,988.2675. At 95,900.00 the loss is 4,087.65 (81.76% used): the limit is said rounded
    down (4,999.38), the floor rounded up (94,988.27), both to the cent."""
    of_its_basis = {"pct": "5", "basis": "prev_day_equity", "of": "basis"}
    joined, attempt = running(
        active_client,
        finance,
        admin,
        stages=[stage(max_daily_loss=of_its_basis), stage("live")],
    )
    alert_settings.set_alerts(joined.challenge_id, {"daily_loss_percent": "80"}, actor=admin)
    first = timezone.now() + timedelta(minutes=5)
    snapshot(attempt, first, "99987.65")
    snapshot(attempt, first + timedelta(days=1), "95900.00")
    monitor.read(server())
    sent = Notification.objects.get(user=active_client.user, event="alert.daily_loss")
    assert sent.title == f"Account {attempt.login}: 81.76% of today's loss limit used"
    assert "today's loss is 4,087.65 of 4,999.38 USD allowed" in sent.body
    assert "reached at an equity of 94,988.27" in sent.body
    carried = WebhookMessage.objects.filter(event_type="alert.daily_loss").first()
    if carried is not None:  # an endpoint subscribed: the amounts as exact strings
        assert carried.payload["data"]["limit"] == "4999.38"


def test_snapshots_below_every_threshold_cost_no_query_more(
    active_client, finance, admin, monkeypatch
):
    """The loss alerts are looked at in memory: a read of 30 snapshots that cross nothing makes
    the same queries as a read of 3 (all in one bucket of the equity curve; the settings'
    periodic look kept out of the count)."""
    monkeypatch.setattr("propdesk.challenges.monitoring.alerts.SETTINGS_LOOKED_EVERY", 1e9)
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    alert_settings.set_alerts(
        joined.challenge_id, {"daily_loss_percent": "80", "max_loss_percent": "90"}, actor=admin
    )
    start = (timezone.now() + timedelta(hours=1)).replace(minute=1, second=0, microsecond=0)
    snapshot(attempt, start, "100000.00")
    monitor.read(server())
    counted = []
    for first, count in ((1, 3), (10, 30)):
        snapshots(
            attempt,
            start + timedelta(seconds=first * 10),
            *(f"{99000 + 10 * i}.00" for i in range(count)),
        )
        with CaptureQueriesContext(connection) as queries:
            assert monitor.read(server()) == count
        counted.append(len(queries))
    assert counted[0] == counted[1]
    assert not StageAlert.objects.exists()


def test_an_alert_rolled_back_with_its_transaction_sends_nothing(
    active_client, finance, admin, run_jobs
):
    """The alert's state, its row, its portal notification, its email and its webhooks are
    written in one transaction: rolled back, nothing of it is left and nothing is sent."""
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    alert_settings.set_alerts(joined.challenge_id, {"daily_loss_percent": "80"}, actor=admin)
    snapshots(attempt, timezone.now() + timedelta(minutes=5), "100000.00", "95900.00")
    watching = watcher_module.FeedWatcher(feeds.LogFeed(server()).key)
    watching.load()

    def read_then_fail() -> None:
        with transaction.atomic():
            watching.step(limit=100)
            assert alerts_of(active_client, "alert.daily_loss")  # written in the transaction
            raise RuntimeError("the monitor's transaction fails after the alert")

    try:
        with pytest.raises(RuntimeError):
            read_then_fail()
    finally:
        watching.feed.close()
    mail.outbox.clear()
    run_jobs()
    assert alerts_of(active_client, "alert.daily_loss") == []
    assert not StageAlert.objects.exists()
    assert not WebhookMessage.objects.filter(event_type__startswith="alert.").exists()
    assert [m for m in mail.outbox if attempt.login in m.subject] == []
    assert StageAttempt.objects.get(pk=attempt.pk).alert_state is None


def test_a_daily_alert_crossed_in_the_batch_that_pauses_the_stage_is_not_sent(
    active_client, finance, admin
):
    """82% used, then through the daily floor (the rule pauses) in one read: the trader gets
    the pause, not an alert a moment older than it."""
    pause = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(max_daily_loss=pause), stage("live")]
    )
    alert_settings.set_alerts(joined.challenge_id, {"daily_loss_percent": "80"}, actor=admin)
    snapshots(attempt, timezone.now() + timedelta(minutes=5), "100000.00", "95900.00", "94900.00")
    monitor.read(server())
    attempt.refresh_from_db()
    assert attempt.paused
    assert alerts_of(active_client, "alert.daily_loss") == []
    assert not StageAlert.objects.exists()


def test_no_period_no_period_alert_and_no_trade_counts_from_the_first_day(
    active_client, finance, admin
):
    """No trading period: no period-ending alert, ever. Never traded: "no trade for 3 days"
    on its third day (its first day counts)."""
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    alert_settings.set_alerts(
        joined.challenge_id, {"period_end_days": "365", "inactivity_days": "3"}, actor=admin
    )
    now = timezone.now()
    snapshot(attempt, now, "100000.00")
    monitor.read(server())
    # Counted in the challenge's days (00:00 Prague), whatever time of day the test runs.
    first_close = next_reset(now, 0)
    monitor.close_days(first_close + timedelta(hours=1))  # the first day closed: 2 quiet days
    assert alerts_of(active_client, "alert.inactivity") == []
    monitor.close_days(first_close + timedelta(days=1, hours=1))  # the third day
    monitor.close_days(first_close + timedelta(days=2, hours=1))
    assert alerts_of(active_client, "alert.inactivity") == [
        f"No trade on account {attempt.login} for 3 days"
    ]
    assert alerts_of(active_client, "alert.period_ending") == []
    assert StageAlert.objects.get(attempt=attempt).ref.startswith("start:")


def test_a_stage_the_day_close_fails_for_inactivity_gets_no_inactivity_alert_with_it(
    active_client, finance, admin
):
    """The monitor's clock jumps past the third quiet day's close (it was down): the stage
    fails for inactivity, and no "no trade" alert goes out with the failure."""
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(inactivity_days=3), stage("live")]
    )
    alert_settings.set_alerts(joined.challenge_id, {"inactivity_days": "3"}, actor=admin)
    now = timezone.now()
    snapshot(attempt, now, "100000.00")
    monitor.read(server())
    monitor.close_days(now + timedelta(days=4))
    attempt.refresh_from_db()
    assert (attempt.status, attempt.verdict["rule"]) == ("failed", "inactivity")
    assert alerts_of(active_client, "alert.inactivity") == []


def test_a_crossing_sent_before_a_restart_whose_state_was_lost_is_not_sent_twice(
    active_client, finance, admin, caplog
):
    """The second guard: with the stage's alert state gone, the next read looks at the same
    snapshots again, and the alert's row (one per stage, kind, threshold and day) stops it."""
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    alert_settings.set_alerts(joined.challenge_id, {"daily_loss_percent": "80"}, actor=admin)
    snapshots(attempt, timezone.now() + timedelta(minutes=5), "100000.00", "95900.00")
    monitor.read(server())
    StageAttempt.objects.filter(pk=attempt.pk).update(
        alert_state=None, evaluator_state=None, fed_through=None
    )
    MonitorCheckpoint.objects.update(position=0)
    monitor.read(server())
    assert len(alerts_of(active_client, "alert.daily_loss")) == 1
    assert StageAlert.objects.filter(attempt=attempt).count() == 1
    assert "sent already" in caplog.text


def test_a_nats_partition_taken_over_after_an_alert_does_not_send_it_again(
    nats_log, active_client, finance, admin, monkeypatch
):
    """Two monitor processes share the partitions; the one holding the stage's sends the
    alert and dies before its checkpoint moves; the other reads the partition from its
    checkpoint, the same snapshots, and sends nothing more."""
    monkeypatch.setattr(watcher_module, "CHECKPOINT_EVERY", 3600.0)
    _, attempt = trading_with_alerts(active_client, finance, admin, daily_loss_percent="80")
    price_feed = feed.Feed()
    first, second = runner.Monitor(owner="first"), runner.Monitor(owner="second")
    for each in (first, second, first, second):
        each.share()
    partition = f"nats:{natslog.partition_of(attempt.login)}"
    holder, other = (first, second) if partition in first.watchers else (second, first)
    for _ in range(2):
        holder.round()
        other.round()
    move(price_feed, "1.08100", "1.08112")  # 82.4%: crossed

    def sent() -> bool:  # the published snapshot may take a few rounds to come in
        holder.round()
        return len(alerts_of(active_client, "alert.daily_loss")) == 1

    eventually(sent, within=30, what="the daily-loss alert sent by the partition's holder")
    lapsed = timezone.now() - timedelta(seconds=1)
    MonitorCheckpoint.objects.filter(owner=holder.owner).update(lease_until=lapsed)
    holder.watchers.clear()  # dead: nothing more written
    holder.close()
    other.shared_at = -1e9
    try:
        for _ in range(3):
            other.round()
        assert partition in other.watchers
        move(price_feed, "1.08080", "1.08092")  # lower still, the same day
        other.round()
    finally:
        other.close()
    assert len(alerts_of(active_client, "alert.daily_loss")) == 1
    assert StageAlert.objects.filter(attempt=attempt).count() == 1


def test_staff_raising_the_max_loss_threshold_mid_way_warn_again_at_the_new_one(
    active_client, finance, admin, monkeypatch
):
    """Max loss 10% static (floor 90,000), alert at 30%: sent at 32%. Staff raise it to 40%
    while the monitor runs: the usage (33%) is 5 points or more under it, so it re-arms, and
    warns once at 41% (the daily floor, 95,000, is not reached)."""
    monkeypatch.setattr("propdesk.challenges.monitoring.alerts.SETTINGS_LOOKED_EVERY", 0.0)
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    alert_settings.set_alerts(joined.challenge_id, {"max_loss_percent": "30"}, actor=admin)
    start = timezone.now() + timedelta(minutes=5)
    reader = runner.Monitor(owner="reader")
    try:
        snapshots(attempt, start, "100000.00", "96800.00")
        reader.round()
        alert_settings.set_alerts(joined.challenge_id, {"max_loss_percent": "40"}, actor=admin)
        later = start + timedelta(minutes=1)
        snapshots(attempt, later, "96700.00", "96100.00", "95900.00", "95800.00")
        reader.round()
    finally:
        reader.close()
    assert alerts_of(active_client, "alert.max_loss") == [
        f"Account {attempt.login}: 32.00% of the maximum loss used",
        f"Account {attempt.login}: 41.00% of the maximum loss used",
    ]
