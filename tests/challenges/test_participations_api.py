"""GET /api/v1/participations and /{id}: the owner's status, stage, credentials, the current
stage's live figures, the next day reset, why a stage was decided, and every stage so far;
another client's participation does not exist for them."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from propdesk.accounts import services as accounts
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import StageAttempt
from propdesk.challenges.monitoring import progress
from tests.api.conftest import Api
from tests.challenges.factories import (
    breach,
    next_reset_17_prague,
    pass_stage,
    profit_then_loss,
    running,
    stage,
    trading,
)
from tests.conftest import PASSWORD
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db


def as_owner(client):
    api = Api()
    return api, api.token(client.user.email, PASSWORD)


def utc_text(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_owner_reads_the_live_figures_and_the_next_day_reset(active_client, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    api, token = as_owner(active_client)
    before = timezone.now()
    response = api.call("GET", f"/participations/{joined.pk}", token=token)
    after = timezone.now()
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["figures"] == progress.figures(attempt).to_dict()
    assert body["figures"]["equity"] == "97760.00"
    assert body["figures"]["target_progress_pct"] == "36.00"
    assert body["figures"]["daily_loss_used_pct"] == "44.80"
    assert body["next_day_reset"] in {
        utc_text(next_reset_17_prague(before)),
        utc_text(next_reset_17_prague(after)),
    }
    assert (body["stage"], body["stage_name"], body["stage_kind"], body["stage_status"]) == (
        1,
        "Stage 1",
        "demo",
        "in_progress",
    )
    assert body["paused"] is False
    assert body["headline"] is None
    assert body["explanation"] is None
    assert body["credentials"]["login"] == attempt.login
    [only] = body["stages"]
    assert only["status"] == "in_progress"
    assert only["ended_at"] is None


def test_the_listing_carries_the_same_figures(active_client, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    api, token = as_owner(active_client)
    [listed] = api.call("GET", "/participations", token=token).json()
    one = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert listed["figures"] == one["figures"]
    assert listed["stages"] == one["stages"]


def test_a_failed_stage_is_explained(active_client, finance, admin):
    accounts.set_time_zone(active_client, "Asia/Tokyo")  # the headline's instant is in it
    joined, attempt = trading(active_client, finance, admin)
    breach(attempt)
    api, token = as_owner(active_client)
    body = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert body["status"] == "failed"
    assert body["stage_status"] == "failed"
    assert body["explanation"] == attempt.explanation
    assert "95000" in body["explanation"].replace(",", "")
    assert body["headline"] == progress.headline(attempt, zone=ZoneInfo("Asia/Tokyo"))
    assert "fell below the daily floor" in body["headline"]
    assert "(Asia/Tokyo)" in body["headline"]
    assert body["figures"]["equity"] == "94880.00"
    assert body["figures"]["status"] == "failed"
    assert body["next_day_reset"] is None  # a decided stage has no trading day
    [only] = body["stages"]
    assert only["status"] == "failed"
    assert only["explanation"] == attempt.explanation
    assert only["ended_at"] is not None


def test_a_paused_stage_says_so(active_client, finance, admin):
    daily = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}
    joined, attempt = trading(active_client, finance, admin, max_daily_loss=daily)
    breach(attempt)
    api, token = as_owner(active_client)
    body = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert (body["stage_status"], body["paused"]) == ("in_progress", True)
    assert body["figures"]["paused"] is True
    assert body["next_day_reset"] is not None


def test_every_stage_so_far_is_listed_with_how_it_was_decided(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    pass_stage(attempt)
    attempt.refresh_from_db()
    following = StageAttempt.objects.get(participation=joined, stage=1)
    api, token = as_owner(active_client)
    body = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    first, second = body["stages"]
    assert (first["stage"], first["name"], first["status"]) == (1, "Stage 1", "passed")
    assert first["explanation"] == attempt.explanation
    assert (second["stage"], second["name"], second["status"]) == (2, "Stage 2", "in_progress")
    assert second["explanation"] is None
    assert body["stage"] == 2
    assert body["credentials"]["login"] == following.login
    assert body["figures"]["equity"] == "100000.00"  # the new stage starts afresh


def test_a_live_stage_shows_the_definitions_minimum_of_trading_days(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage("live")])
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    api, token = as_owner(active_client)
    body = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert body["stage_kind"] == "live"
    assert body["figures"]["min_trading_days"] == 0


def test_another_clients_participation_is_not_found(active_client, register, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    other, _ = register(email="other@example.com")
    api, token = as_owner(other)
    response = api.call("GET", f"/participations/{joined.pk}", token=token)
    assert response.status_code == 404
    assert "97760" not in response.content.decode()
    assert api.call("GET", "/participations", token=token).json() == []


def test_figures_that_cannot_be_read_are_null(active_client, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    StageAttempt.objects.filter(pk=attempt.pk).update(evaluator_state={"not": "a state"})
    api, token = as_owner(active_client)
    response = api.call("GET", f"/participations/{joined.pk}", token=token)
    assert response.status_code == 200
    assert response.json()["figures"] is None
    assert response.json()["stage_status"] == "in_progress"
