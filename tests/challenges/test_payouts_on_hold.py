"""A payout is decided on the stage's figures as the monitor last read them: while the monitor
does not read the stage (its client suspended: the stage is held; or set aside after an error),
those figures stand still and a breach found later may date from before, so no payout is asked
for or approved then, and the pages say why instead of failing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from propdesk.accounts import services as accounts_services
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Payout, StageAttempt
from propdesk.challenges.payouts import services as payouts
from propdesk.core.errors import Conflict
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import funded, take_profit
from tests.conftest import PASSWORD, logged_in
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal


def _request(payout: Payout) -> ApprovalRequest:
    return ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)


def _nothing_moved(live: StageAttempt) -> None:
    assert not PlatformCommand.objects.filter(kind="balance").exists()
    assert not JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).exists()
    assert accounts.account_by_login(live.login).balance == D("102880.00")


def test_a_payout_is_not_approved_while_the_client_is_suspended_and_is_once_reactivated(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)  # +2,880.00
    payout = payouts.request_payout(active_client, live.participation_id)
    accounts_services.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    carry_out_platform_commands()
    with pytest.raises(Conflict, match="suspended"):
        approvals.approve(_request(payout).pk, actor=admin)
    payout.refresh_from_db()
    assert payout.status == "requested"
    assert _request(payout).status == "pending"
    _nothing_moved(live)
    # Reactivated, the stage is read again and the payout may be decided.
    accounts_services.set_client_suspended(active_client.pk, suspended=False, actor=admin)
    carry_out_platform_commands()
    approvals.approve(_request(payout).pk, actor=admin)
    carry_out_platform_commands()
    payout.refresh_from_db()
    assert (payout.status, payout.profit) == ("paid", D("2880.00"))


def test_a_stage_the_monitor_set_aside_pays_nothing_until_it_is_watched_again(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = payouts.request_payout(active_client, live.participation_id)
    StageAttempt.objects.filter(pk=live.pk).update(monitor_error="EventError: bad event")
    with pytest.raises(Conflict, match="being checked"):
        approvals.approve(_request(payout).pk, actor=admin)
    _nothing_moved(live)
    approvals.reject(_request(payout).pk, actor=admin, reason="Wait for the check")
    with pytest.raises(Conflict, match="being checked"):
        payouts.request_payout(active_client, live.participation_id)
    assert Payout.objects.filter(status="requested").count() == 0
    live.refresh_from_db()
    assert "being checked" in payouts.refusal(live)


def test_the_payouts_tab_and_api_of_a_stage_whose_figures_cannot_be_read_answer_why(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    StageAttempt.objects.filter(pk=live.pk).update(
        evaluator_state={"not": "a state"}, monitor_error="ValueError: not a state"
    )
    url = reverse("portal:my_challenge", kwargs={"participation_id": live.participation_id})
    page = logged_in(active_client.user).get(f"{url}?tab=payouts")
    assert page.status_code == 200
    assert "being checked" in page.content.decode()
    http = HttpClient()
    token = http.post(
        "/api/v1/auth/token",
        {"email": active_client.user.email, "password": PASSWORD},
        content_type="application/json",
    ).json()["token"]
    http.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    answer = http.get(f"/api/v1/participations/{live.participation_id}/payouts")
    assert answer.status_code == 200
    body = answer.json()
    assert "being checked" in body["refused"]
    assert body["eligibility"] is None
