"""Prop Trading > Monitor: each feed with the process reading it and its lag, the live
processes, and the stages set aside with why; only for staff who may see the challenges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from propdesk.accounts.services import save_role
from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import checkpoints
from tests.challenges.factories import running, server, stage
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
PAGE = "/backoffice/prop-trading/monitor/"


def test_staff_see_each_feeds_reader_and_lag_and_the_stages_set_aside(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    StageAttempt.objects.filter(pk=attempt.pk).update(monitor_error="ValueError: bad state")
    key = f"log:{server().pk}"
    checkpoints.share([key], owner="host-a:101:abcd")
    MonitorCheckpoint.objects.filter(key=key).update(
        position=420, events_behind=1234, seconds_behind=2.5, measured_at=timezone.now()
    )
    html = logged_in(admin).get(PAGE).content.decode()
    assert f'data-feed="{key}"' in html
    assert f"{server().name}&#x27;s log" in html
    assert "host-a:101:abcd" in html
    assert "<td data-events-behind>1234</td>" in html
    assert "<td data-seconds-behind>2.5</td>" in html
    assert "ValueError: bad state" in html
    assert f'data-attempt="{attempt.pk}"' in html


def test_a_feed_no_process_reads_says_so():
    key = f"log:{server().pk}"
    lapsed = timezone.now() - timedelta(seconds=1)
    MonitorCheckpoint.objects.create(key=key, owner="gone:1:dead", lease_until=lapsed)
    from propdesk.challenges.monitoring import status

    (feed,) = status.feeds()
    assert feed.reader == ""
    assert feed.stale
    assert status.processes() == []


@pytest.fixture
def onboarding(staff_factory, admin):
    """Staff whose role sees clients but not prop trading."""
    save_role(
        None, name="Onboarding", description="", permission_codes=["clients.view"], actor=admin
    )
    return staff_factory("Onboarding")


def test_clients_and_staff_without_the_permission_get_nothing(active_client, onboarding):
    MonitorCheckpoint.objects.create(key=f"log:{server().pk}", owner="host-a:1:x")
    for user in (active_client.user, onboarding):
        response = logged_in(user).get(PAGE)
        assert response.status_code == 403
        assert b"host-a:1:x" not in response.content


def test_a_passed_stage_whose_next_stage_could_not_be_opened_is_among_those_set_aside(
    active_client, finance, admin
):
    """The monitor's `_open` leaves the reason on the passed stage, and staff's retry opens
    the next stage from it: the page lists it with the running stages set aside."""
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    StageAttempt.objects.filter(pk=attempt.pk).update(
        status=StageAttempt.Status.PASSED,
        monitor_error="The next stage could not be opened: the platform refused",
    )
    html = logged_in(admin).get(PAGE).content.decode()
    assert f'data-attempt="{attempt.pk}"' in html
    assert "the platform refused" in html
