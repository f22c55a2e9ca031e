"""/healthz (alive) and /readyz (the install can work): each check with its figures, 503 naming
what fails, reachable by a probe that asks by address over plain HTTP."""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.challenges.models import MonitorCheckpoint
from propdesk.challenges.monitoring import checkpoints
from propdesk.jobs import leases
from propdesk.jobs.models import WorkerProcess
from propdesk.ops import health
from propdesk.ops.config import ops_settings
from tests.challenges.factories import database_shared_with_processes, eventually, server
from tests.ops.probes import configure, start_monitor

MONITOR = "host-a:101:abcd1234"


def ready(http=None):
    response = (http or HttpClient()).get("/readyz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


@pytest.fixture(autouse=True)
def _ask_the_migrations_again():
    health.forget_migrations()
    yield
    health.forget_migrations()


def test_healthz_answers_ok_without_the_database():
    # No database fixture: a query would fail the test.
    response = HttpClient().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_a_probe_by_address_over_plain_http_is_answered_where_pages_are_redirected(settings):
    """A load balancer asks http://10.0.0.5:8000/healthz: neither the host check (a 400) nor
    the redirect to HTTPS (a 301) stands in its way; the site's pages keep both."""
    settings.ALLOWED_HOSTS = ["crm.firm.example"]
    settings.SECURE_SSL_REDIRECT = True
    http = HttpClient(HTTP_HOST="10.0.0.5:8000")
    assert http.get("/healthz").status_code == 200
    assert http.get("/login/").status_code == 400
    assert HttpClient(HTTP_HOST="crm.firm.example").get("/login/").status_code == 301


@pytest.mark.django_db
def test_a_post_is_refused_and_changes_nothing():
    response = HttpClient().post("/readyz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def seen_monitor(owner=MONITOR):
    """A monitor process that renewed its presence and the sandbox's feed just now, and read
    it without an error (the leases' own code, as `propdesk monitor` renews and marks them)."""
    held = checkpoints.share(checkpoints.all_feed_keys([server().pk]), owner=owner)
    checkpoints.mark_read(held, owner=owner)
    return held


@pytest.mark.django_db
def test_readyz_is_ok_with_a_monitor_reading_every_feed_and_a_worker_seen():
    seen_monitor()
    leases.sign_in("host-b:202:worker01")
    status, body = ready()
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["failing"] == []
    checks = body["checks"]
    assert set(checks) == {"database", "migrations", "monitor", "monitor_lag", "worker"}
    assert all(c["ok"] for c in checks.values())
    assert checks["migrations"]["unapplied"] == 0
    assert checks["monitor"]["processes"] == 1
    assert checks["monitor"]["feeds"] == 1
    assert checks["monitor"]["unread"] == []
    assert checks["worker"]["workers"] == 1
    # Counts and ages: no process's name (its host), nothing of a client's.
    text = json.dumps(body)
    assert "host-a" not in text
    assert "host-b" not in text


@pytest.mark.django_db
def test_a_worker_not_seen_past_its_threshold_makes_readyz_fail_naming_it(settings):
    configure(settings, worker_seconds=60)
    seen_monitor()
    leases.sign_in("host-b:202:worker01")
    WorkerProcess.objects.update(seen_at=timezone.now() - timedelta(seconds=61))
    status, body = ready()
    assert status == 503
    assert body["status"] == "fail"
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"]["workers"] == 0
    assert body["checks"]["worker"]["seen_seconds_ago"] >= 61


@pytest.mark.django_db
def test_an_install_without_a_worker_says_so_and_readyz_shows_it_without_failing(settings):
    configure(settings, require=frozenset({"monitor"}))
    seen_monitor()
    status, body = ready()
    assert status == 200, body
    assert body["checks"]["worker"] == {
        "ok": False,
        "required": False,
        "workers": 0,
        "seen_seconds_ago": None,
        "threshold_seconds": settings.OPS.worker_seconds,
    }


@pytest.mark.django_db
def test_a_monitor_lag_over_its_threshold_makes_readyz_fail_naming_it(settings):
    configure(settings, monitor_lag_seconds=30)
    seen_monitor()
    leases.sign_in("host-b:202:worker01")
    key = f"log:{server().pk}"
    MonitorCheckpoint.objects.filter(key=key).update(seconds_behind=45.5, events_behind=9000)
    status, body = ready()
    assert status == 503
    assert body["failing"] == ["monitor_lag"]
    lag = body["checks"]["monitor_lag"]
    assert (lag["seconds_behind"], lag["events_behind"], lag["feed"]) == (45.5, 9000, key)


@pytest.mark.django_db
def test_a_feed_not_read_well_lately_makes_readyz_fail_though_its_lease_is_renewed(settings):
    """The monitor holds the feed and renews its lease, and the lag it last measured is 0, but
    its reads have failed for longer than the lag's threshold (a feed it cannot read)."""
    configure(settings, monitor_lag_seconds=30)
    seen_monitor()
    leases.sign_in("host-b:202:worker01")
    key = f"log:{server().pk}"
    MonitorCheckpoint.objects.filter(key=key).update(
        read_at=timezone.now() - timedelta(seconds=31), seconds_behind=0.0, events_behind=0
    )
    checkpoints.renew(owner=MONITOR)
    status, body = ready()
    assert status == 503
    assert body["failing"] == ["monitor_lag"]
    lag = body["checks"]["monitor_lag"]
    assert lag["not_read"] == [key]
    assert lag["read_seconds_ago"] >= 31
    assert lag["seconds_behind"] == 0.0
    checkpoints.mark_read([key], owner=MONITOR)  # a round read it again
    assert ready()[0] == 200
    MonitorCheckpoint.objects.filter(key=key).update(read_at=None)  # taken, never read well
    status, body = ready()
    assert (status, body["checks"]["monitor_lag"]["read_seconds_ago"]) == (503, None)


@pytest.mark.django_db
def test_a_feed_no_monitor_reads_makes_readyz_fail_though_a_monitor_is_alive(settings):
    """A second trading server's feed, taken by no process (its lease lapsed long ago)."""
    from propdesk.platforms.models import TradingServer

    leases.sign_in("host-b:202:worker01")
    other = TradingServer.objects.create(name="other", demo_groups=["demo"])
    seen_monitor()
    MonitorCheckpoint.objects.filter(key=f"log:{other.pk}").update(
        lease_until=timezone.now() - timedelta(minutes=5)
    )
    status, body = ready()
    assert status == 503
    assert body["failing"] == ["monitor"]
    assert body["checks"]["monitor"]["unread"] == [f"log:{other.pk}"]


@pytest.mark.django_db
def test_an_unapplied_migration_makes_readyz_fail_and_a_clean_answer_is_kept(settings):
    configure(settings, require=frozenset())
    assert ready()[0] == 200
    # The app's newest migration unrecorded, as if the deploy had not migrated yet (a gap
    # before an applied one is not a plan's business: Django plans up to the leaves).
    newest = max(n for app, n in MigrationLoader(None).graph.leaf_nodes() if app == "challenges")
    applied = MigrationRecorder.Migration.objects.filter(app="challenges", name=newest)
    assert applied.delete()[0] == 1
    assert ready()[0] == 200  # this process found them all applied: not asked again
    health.forget_migrations()  # a process started now
    status, body = ready()
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"]["unapplied"] == 1
    # The checks that read propdesk's tables wait for them: not made, shown failing.
    for name in ("monitor", "monitor_lag", "worker"):
        not_made = {"ok": False, "required": False, "error": "unapplied migrations"}
        assert body["checks"][name] == not_made


@pytest.mark.django_db(transaction=True)
def test_readyz_on_a_database_not_migrated_answers_json_naming_the_migrations():
    """A new install's web process started before `migrate`: no table of propdesk's is there,
    and /readyz says so in JSON (not an error page) without asking for them."""
    from django.core.management import call_command

    call_command("migrate", "challenges", "zero", verbosity=0)
    try:
        status, body = ready()
        assert status == 503
        assert body["failing"] == ["migrations", "monitor", "monitor_lag", "worker"]
        assert body["checks"]["migrations"]["unapplied"] > 0
        assert body["checks"]["monitor"]["error"] == "unapplied migrations"
    finally:
        call_command("migrate", verbosity=0)


def test_thresholds_and_requirements_that_mean_nothing_stop_the_start_naming_the_variable():
    cases = {
        "PROPDESK_READY_MONITOR_SECONDS": "soon",
        "PROPDESK_READY_MONITOR_LAG_SECONDS": "0",
        "PROPDESK_READY_WORKER_SECONDS": "\u00b2\u00b2\u00b2",  # digits to isdigit(), not to int()
        "PROPDESK_READY_REQUIRE": "monitor,feed",
        "PROPDESK_METRICS_TOKEN": "short",
    }
    for name, value in cases.items():
        with pytest.raises(ImproperlyConfigured, match=name):
            ops_settings({name: value}, job_lease_seconds=300)
    # A worker threshold within one heartbeat (a quarter of the job lease) would fail live ones.
    with pytest.raises(ImproperlyConfigured, match="PROPDESK_READY_WORKER_SECONDS"):
        ops_settings({"PROPDESK_READY_WORKER_SECONDS": "60"}, job_lease_seconds=300)
    chosen = ops_settings(
        {"PROPDESK_READY_REQUIRE": "none", "PROPDESK_READY_WORKER_SECONDS": "200"},
        job_lease_seconds=300,
    )
    assert (chosen.require, chosen.worker_seconds) == (frozenset(), 200)
    assert ops_settings({}, job_lease_seconds=300).require == {"monitor", "worker"}


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_when_the_monitor_stops_past_its_threshold_and_recovers_when_it_returns(
    settings, tmp_path
):
    """A real `propdesk monitor`: killed (no goodbye, its leases left to lapse) /readyz fails
    once its threshold has passed, naming the monitor; started again it is ready; stopped
    cleanly (its feeds given back) it fails at once."""
    configure(settings, monitor_seconds=3)
    log = tmp_path / "monitor.log"
    with database_shared_with_processes(tmp_path) as env:
        server()  # the sandbox's server: one feed
        leases.sign_in("host-b:202:worker01")
        assert ready()[1]["failing"] == ["monitor"]
        monitor = start_monitor(env, log)
        try:
            eventually(lambda: ready()[0] == 200, what=f"ready; the monitor's log:\n{log}")
            time.sleep(4)  # idle past its threshold: it still renews its leases
            assert ready()[0] == 200
            monitor.kill()  # SIGKILL
            monitor.wait()
            eventually(lambda: ready()[0] == 503, what="unready once the monitor was killed")
            status, body = ready()
            assert body["failing"] == ["monitor"]
            assert body["checks"]["monitor"]["unread"] == [f"log:{server().pk}"]
            assert body["checks"]["monitor"]["seen_seconds_ago"] >= 3
            monitor = start_monitor(env, log)
            eventually(lambda: ready()[0] == 200, what="ready again with the monitor back")
            monitor.send_signal(signal.SIGTERM)
            assert monitor.wait(timeout=30) == 0
            status, body = ready()
            assert status == 503
            assert body["failing"] == ["monitor"]
            assert body["checks"]["monitor"]["processes"] == 0
        finally:
            if monitor.poll() is None:
                monitor.kill()
                monitor.wait()


@pytest.mark.django_db
def test_a_probe_may_require_less_than_the_setting_for_itself(settings):
    """A load balancer asks whether this process can serve (`?require=none`): the database
    and the migrations; the same install's /readyz still fails on its missing monitor."""
    leases.sign_in("host-b:202:worker01")
    assert ready()[1]["failing"] == ["monitor"]
    status, body = ready_with("?require=none")
    assert status == 200, body
    assert body["checks"]["monitor"]["required"] is False
    assert ready_with("?require=worker")[0] == 200
    assert ready_with("?require=monitor")[0] == 503


@pytest.mark.django_db
def test_a_requirement_that_means_nothing_is_refused_naming_it():
    status, body = ready_with("?require=monitor,everything")
    assert status == 400
    assert body["code"] == "validation_error"
    assert "everything" in body["fields"]["require"]
    assert "checks" not in body


def ready_with(query):
    response = HttpClient().get("/readyz" + query)
    return response.status_code, json.loads(response.content)
