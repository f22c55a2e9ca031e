"""The staff API of participants: GET /api/v1/participants with the list page's filters and
figures, paged by key; staff with challenges.view only."""

from __future__ import annotations

import pytest

from propdesk.accounts.services import save_role
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import StageAttempt
from propdesk.challenges.participation import interventions
from tests.api.conftest import Api
from tests.challenges.factories import breached, running, stage
from tests.conftest import PASSWORD
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def staff_token(api: Api, admin) -> str:
    return api.token(admin.email, PASSWORD)


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def test_staff_list_participants_with_the_current_stages_figures(
    api, staff_token, active_client, finance, admin
):
    joined, attempt, *_ = breached(active_client, finance, admin)
    response = api.call("GET", "/participants", token=staff_token)
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    (item,) = body["items"]
    assert item["id"] == joined.pk
    assert item["client"] == {
        "id": active_client.pk,
        "name": active_client.user.name,
        "email": active_client.user.email,
    }
    assert (item["status"], item["currency"], item["stage_count"]) == ("failed", "USD", 2)
    current = item["current_stage"]
    assert (current["stage"], current["status"], current["login"]) == (1, "failed", attempt.login)
    figures = current["figures"]
    assert figures["equity"] == "94880.00"
    assert figures["daily_loss_used_pct"] == "100.00"
    assert figures["max_loss_used_pct"] == "51.20"
    assert "95,000.00" in current["headline"]


def test_filters_by_status_challenge_and_stage(
    api, staff_token, active_client, register, finance, admin
):
    failed, *_ = breached(active_client, finance, admin)
    other, _ = register(email="other@example.com")
    moving, first = running(other, finance, admin, stages=[stage(), stage(), stage("live")])
    interventions.advance(first.pk, actor=admin, reason="Passed on the old server")
    carry_out_platform_commands()

    def listed(query: str) -> list[int]:
        response = api.call("GET", f"/participants?{query}", token=staff_token)
        assert response.status_code == 200
        return ids(response)

    assert listed("status=failed") == [failed.pk]
    assert listed("status=active") == [moving.pk]
    assert listed(f"challenge={failed.challenge_id}") == [failed.pk]
    assert listed("stage=2") == [moving.pk]
    assert listed("stage=1") == [failed.pk]
    assert listed("") == [moving.pk, failed.pk]


def test_bad_filters_and_cursors_are_named(api, staff_token, active_client, finance, admin):
    breached(active_client, finance, admin)
    response = api.call("GET", "/participants?challenge=x&status=won&stage=0", token=staff_token)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"challenge", "status", "stage"}
    for query, field in (("after=abc", "after"), ("limit=0", "limit"), ("limit=501", "limit")):
        response = api.call("GET", f"/participants?{query}", token=staff_token)
        assert response.status_code == 422
        assert field in response.json()["fields"]


def test_pages_follow_the_cursor(api, staff_token, active_client, register, finance, admin):
    made = []
    for n in range(3):
        client, _ = register(email=f"p{n}@example.com")
        made.append(running(client, finance, admin, stages=[stage(), stage("live")])[0].pk)
    first = api.call("GET", "/participants?limit=2", token=staff_token).json()
    assert [i["id"] for i in first["items"]] == made[:0:-1]
    second = api.call(
        "GET", f"/participants?limit=2&after={first['next']}", token=staff_token
    ).json()
    assert [i["id"] for i in second["items"]] == [made[0]]
    assert second["next"] is None


def test_a_live_stage_shows_its_own_minimum_of_trading_days(
    api, staff_token, active_client, finance, admin
):
    running(active_client, finance, admin, stages=[stage("live", min_trading_days=3)])
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    (item,) = api.call("GET", "/participants", token=staff_token).json()["items"]
    assert item["current_stage"]["kind"] == "live"
    assert item["current_stage"]["figures"]["min_trading_days"] == 3


def test_a_stage_the_monitor_set_aside_lists_without_figures(
    api, staff_token, active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    StageAttempt.objects.filter(pk=attempt.pk).update(
        evaluator_state={"not": "a state"}, monitor_error="ValueError: not a state"
    )
    response = api.call("GET", "/participants", token=staff_token)
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert item["current_stage"]["figures"] is None
    assert item["current_stage"]["monitor_error"] == "ValueError: not a state"


def test_clients_anonymous_callers_and_staff_without_the_permission_are_refused(
    api, active_client, staff_factory, finance, admin
):
    breached(active_client, finance, admin)
    assert api.call("GET", "/participants").status_code == 401
    client_token = api.token(active_client.user.email, PASSWORD)
    assert api.call("GET", "/participants", token=client_token).status_code == 403
    save_role(
        None, name="Onboarding", description="", permission_codes=["clients.view"], actor=admin
    )
    onboarding = staff_factory("Onboarding")
    refused = api.call("GET", "/participants", token=api.token(onboarding.email, PASSWORD))
    assert refused.status_code == 403
    assert "items" not in refused.json()
