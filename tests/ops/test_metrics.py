"""/metrics: behind its bearer token (not there without one), the requests by route, and the
install's state read from the database at the scrape (jobs, platform commands, the monitor,
breaches and passes), parsed as Prometheus parses it."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import checkpoints, monitor
from propdesk.challenges.participation import interventions
from propdesk.challenges.participation import services as participation
from propdesk.platforms.sandbox import feed, orders
from tests.challenges.factories import (
    breach,
    breached,
    definition,
    fund,
    move,
    pass_stage,
    running,
    server,
    stage,
)
from tests.jobs import factories as jobs
from tests.ops.probes import TOKEN, configure, count, families, scrape, value
from tests.support import carry_out_platform_commands

SERIES = {
    "propdesk_http_requests": "counter",
    "propdesk_http_request_duration_seconds": "histogram",
    "propdesk_database_up": "gauge",
    "propdesk_jobs": "gauge",
    "propdesk_platform_commands": "gauge",
    "propdesk_platform_commands_oldest_seconds": "gauge",
    "propdesk_monitor_events_read": "counter",
    "propdesk_monitor_lag_seconds": "gauge",
    "propdesk_monitor_lag_events": "gauge",
    "propdesk_monitor_feed_read": "gauge",
    "propdesk_monitor_feed_read_timestamp_seconds": "gauge",
    "propdesk_monitor_processes": "gauge",
    "propdesk_monitor_stages_set_aside": "gauge",
    "propdesk_stage_breaches": "counter",
    "propdesk_stage_passes": "counter",
}


@pytest.fixture
def token(settings):
    configure(settings, metrics_token=TOKEN)


def test_without_a_token_configured_there_are_no_metrics(settings):
    configure(settings, metrics_token="")
    response = HttpClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404
    assert b"propdesk_" not in response.content


def test_a_scrape_without_the_token_or_with_a_wrong_one_is_refused(token):
    http = HttpClient()
    missing = http.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == "Bearer"
    # No bearer token given: asked for one (401); a token, but not the one: refused (403).
    cases = {
        f"Bearer {TOKEN}x": 403,
        f"Bearer {TOKEN[:-1]}": 403,
        f"Basic {TOKEN}": 401,
        "Bearer": 401,
        "Bearer   ": 401,
    }
    for given, expected in cases.items():
        response = http.get("/metrics", HTTP_AUTHORIZATION=given)
        assert response.status_code == expected, given
        assert b"propdesk_" not in response.content


@pytest.mark.django_db
def test_every_named_series_is_there_with_its_type(token):
    HttpClient().get("/healthz")  # one request counted at least
    response = HttpClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = families(response.content.decode())
    assert {name: found.get(name) for name in SERIES} == SERIES


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_not_by_path(token, active_client):
    http = HttpClient()
    before = scrape(http)
    for pk in (1, 2, 3):
        http.get(f"/api/v1/challenges/{pk}")
    http.get("/healthz")
    after = scrape(http)
    route = "api/v1/challenges/<challenge_id>"
    key = {"method": "GET", "route": route, "status": "401"}
    assert value(after, "propdesk_http_requests_total", **key) == (
        count(before, "propdesk_http_requests_total", **key) + 3
    )
    timed = {"method": "GET", "route": route}
    assert value(after, "propdesk_http_request_duration_seconds_count", **timed) == (
        count(before, "propdesk_http_request_duration_seconds_count", **timed) + 3
    )
    assert not any("/api/v1/challenges/1" in str(labels) for _, labels in after)
    ok = {"method": "GET", "route": "healthz", "status": "200"}
    assert value(after, "propdesk_http_requests_total", **ok) == (
        count(before, "propdesk_http_requests_total", **ok) + 1
    )


@pytest.mark.django_db
def test_a_made_up_method_is_counted_as_other(token):
    http = HttpClient()
    other = {"method": "other", "route": "login", "status": "405"}
    before = count(scrape(http), "propdesk_http_requests_total", **other)
    response = http.generic("BREW", "/login/")
    assert response.status_code == 405
    found = scrape(http)
    assert not any(dict(labels).get("method") == "BREW" for _, labels in found)
    assert value(found, "propdesk_http_requests_total", **other) == before + 1


@pytest.mark.django_db
def test_a_breach_seen_by_the_monitor_adds_one_to_the_breaches_and_its_events_are_counted(
    token, active_client, finance, admin
):
    http = HttpClient()
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    before = scrape(http)
    breach(attempt)  # the monitor reads a loss past the daily floor
    assert attempt.status == "failed"
    after = scrape(http)
    assert value(after, "propdesk_stage_breaches_total") == (
        value(before, "propdesk_stage_breaches_total") + 1
    )
    assert value(after, "propdesk_stage_passes_total") == value(
        before, "propdesk_stage_passes_total"
    )
    key = f"log:{server().pk}"
    read = value(after, "propdesk_monitor_events_read_total", feed=key)
    assert read is not None
    assert read > count(before, "propdesk_monitor_events_read_total", feed=key)
    assert read == MonitorCheckpoint.objects.get(key=key).events_read
    assert value(after, "propdesk_database_up") == 1


@pytest.mark.django_db
def test_a_breach_staff_reinstate_stays_counted_and_the_next_one_adds_one(
    token, active_client, finance, admin
):
    """The counter never goes down: Prometheus would take a drop for a restart."""
    http = HttpClient()
    _, attempt, account, position, price_feed = breached(active_client, finance, admin)
    counted = value(scrape(http), "propdesk_stage_breaches_total")
    move(price_feed, "1.08500", "1.08512")  # the bad price is gone
    interventions.reinstate(attempt.pk, actor=admin, reason="Bad tick from the price source")
    carry_out_platform_commands()  # its account enabled again
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert value(scrape(http), "propdesk_stage_breaches_total") == counted
    orders.close_position(account, position.pk)
    monitor.process(server())
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.07900", "1.07912")  # a real breach this time
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert value(scrape(http), "propdesk_stage_breaches_total") == counted + 1


@pytest.mark.django_db
def test_a_pass_adds_one_to_the_passes(token, active_client, finance, admin):
    http = HttpClient()
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage(), stage("live")])
    before = value(scrape(http), "propdesk_stage_passes_total")
    pass_stage(attempt)
    assert value(scrape(http), "propdesk_stage_passes_total") == before + 1


@pytest.mark.django_db
def test_the_monitor_feeds_lag_readers_and_stages_set_aside(token, active_client, finance, admin):
    http = HttpClient()
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    key = f"log:{server().pk}"
    checkpoints.share([key], owner="host-a:101:abcd")
    MonitorCheckpoint.objects.filter(key=key).update(seconds_behind=2.5, events_behind=1234)
    StageAttempt.objects.filter(pk=attempt.pk).update(monitor_error="ValueError: bad state")
    found = scrape(http)
    assert value(found, "propdesk_monitor_lag_seconds", feed=key) == 2.5
    assert value(found, "propdesk_monitor_lag_events", feed=key) == 1234
    assert value(found, "propdesk_monitor_feed_read", feed=key) == 1
    assert value(found, "propdesk_monitor_processes") == 1
    assert value(found, "propdesk_monitor_stages_set_aside") == 1
    checkpoints.release([key], owner="host-a:101:abcd")  # the monitor stops
    found = scrape(http)
    assert value(found, "propdesk_monitor_feed_read", feed=key) == 0
    assert value(found, "propdesk_monitor_processes") == 0


@pytest.mark.django_db
def test_only_the_enabled_servers_feeds_are_shown_with_when_each_was_last_read(token):
    """A server disabled (or removed) leaves its feed's checkpoint behind: no monitor reads it,
    and none should; it is not shown as an unread feed. An enabled server's feed no monitor
    ever took is shown, unread and never read."""
    from propdesk.platforms.models import TradingServer

    http = HttpClient()
    key = f"log:{server().pk}"
    checkpoints.share([key], owner="host-a:101:abcd")
    checkpoints.mark_read([key], owner="host-a:101:abcd")
    old = TradingServer.objects.create(name="old", demo_groups=["demo"])
    MonitorCheckpoint.objects.create(key=f"log:{old.pk}", position=10)
    fresh = TradingServer.objects.create(name="fresh", demo_groups=["demo"])
    TradingServer.objects.filter(pk=old.pk).update(enabled=False)
    found = scrape(http)
    assert value(found, "propdesk_monitor_feed_read", feed=key) == 1
    read_at = MonitorCheckpoint.objects.get(key=key).read_at
    assert read_at is not None
    assert value(found, "propdesk_monitor_feed_read_timestamp_seconds", feed=key) == (
        read_at.timestamp()
    )
    assert not any(dict(labels).get("feed") == f"log:{old.pk}" for _, labels in found)
    never = f"log:{fresh.pk}"
    assert value(found, "propdesk_monitor_feed_read", feed=never) == 0
    assert value(found, "propdesk_monitor_feed_read_timestamp_seconds", feed=never) == 0


@pytest.mark.django_db
def test_the_job_queue_by_state_and_its_failures(token, run_jobs):
    http = HttpClient()
    jobs.refuse.enqueue()
    jobs.always_fails.enqueue()
    run_jobs()  # one gives up at once, the other waits to retry
    jobs.add.enqueue(1, 2)
    found = scrape(http)
    assert value(found, "propdesk_jobs", state="queued") == 1
    assert value(found, "propdesk_jobs", state="waiting_retry") == 1
    assert value(found, "propdesk_jobs", state="gave_up") == 1
    assert value(found, "propdesk_jobs", state="running") == 0


@pytest.mark.django_db
def test_the_platform_command_backlog_by_state(token, active_client, finance, admin):
    """A challenge bought: its stage's account is a command to carry out after the commit."""
    http = HttpClient()
    fund(active_client, finance)
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    before = scrape(http)
    participation.start(active_client, made.pk, payment="wallet")
    found = scrape(http)
    assert value(found, "propdesk_platform_commands", state="pending") == (
        value(before, "propdesk_platform_commands", state="pending") + 1  # type: ignore[operator]
    )
    assert value(found, "propdesk_platform_commands_oldest_seconds", state="pending") >= 0  # type: ignore[operator]
    assert value(found, "propdesk_platform_commands", state="failed") == 0
    carry_out_platform_commands()
    assert value(scrape(http), "propdesk_platform_commands", state="pending") == 0
