"""The payout's pages and API: the trader's Payouts page (the next date, each condition with its
figure, the request), the reviewer's evidence, and the API's refusals."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Payout
from propdesk.challenges.payouts import services as payouts
from tests.challenges.factories import funded, take_profit
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db


def _tab(participation_id: int) -> str:
    url = reverse("portal:my_challenge", kwargs={"participation_id": participation_id})
    return f"{url}?tab=payouts"


def _page(participation_id: int) -> str:
    """Where the tab's form posts."""
    return reverse("portal:my_challenge_payouts", kwargs={"participation_id": participation_id})


def test_the_payouts_page_says_the_next_date_and_each_condition_before_it_comes(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin, days_ago=2)
    take_profit(live)
    page = logged_in(active_client.user).get(_tab(live.participation_id))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="payout-not-yet"' in text
    assert 'data-condition="date" data-met="no"' in text
    assert 'data-condition="profit" data-met="yes"' in text
    assert "2,880.00 USD" in text
    # Asking anyway: refused with the reason, nothing kept.
    http = logged_in(active_client.user)
    asked = post_form(http, _page(live.participation_id), {"idempotency_key": "x1"})
    assert asked.status_code == 409
    refused = asked.content.decode()
    assert "A payout cannot be requested yet: Payout date: from" in refused
    assert 'id="tab-payouts"' in refused  # the tab again, with the reason
    assert not Payout.objects.exists()
    # Its address alone leads to the tab.
    assert http.get(_page(live.participation_id))["Location"] == _tab(live.participation_id)


def test_asking_when_eligible_makes_the_request_and_lists_it(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    http = logged_in(active_client.user)
    assert 'id="payout-eligible"' in http.get(_tab(live.participation_id)).content.decode()
    asked = post_form(http, _page(live.participation_id), {"idempotency_key": "x1"})
    assert asked.status_code == 302
    assert asked["Location"] == _tab(live.participation_id)
    text = http.get(asked["Location"]).content.decode()
    payout = Payout.objects.get()
    assert f"Payout {payout.reference} requested: 2,304.00 USD" in text
    assert f'data-payout-row="{payout.reference}"' in text
    assert "One at a time" not in text


def test_another_clients_payouts_page_is_not_found(
    active_client, finance, admin, register, set_method
):
    _, live = funded(active_client, finance, admin)
    set_method("trader_registration", "automatic")
    other, _ = register(email="someone-else@example.com")
    http = logged_in(other.user)
    assert http.get(_tab(live.participation_id)).status_code == 404
    assert http.get(_page(live.participation_id)).status_code == 404
    refused = post_form(http, _page(live.participation_id), {"idempotency_key": "z"})
    assert refused.status_code == 404
    assert not Payout.objects.exists()


def test_the_reviewer_sees_the_split_the_conditions_and_the_trade_history(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    page = logged_in(finance).get(reverse("backoffice:approval_review", args=[request.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Prop Trading Payout" in text
    assert 'data-payout="trader">2,304.00 USD' in text
    assert 'data-payout="firm">576.00 USD' in text
    assert 'data-condition="date"' in text
    assert 'id="payout-trades"' in text
    assert "EURUSD" in text


def test_the_reviewers_trade_history_reads_as_the_traders_prices_to_their_digits(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    text = logged_in(finance).get(reverse("backoffice:approval_review", args=[request.pk]))
    trades = text.content.decode().split('id="payout-trades"')[1].split("</table>")[0]
    assert "<td>Buy</td><td>Open</td><td>EURUSD</td>" in trades
    assert "<td>Sell</td><td>Close</td><td>EURUSD</td>" in trades
    assert "<td>1.08512</td>" in trades  # EURUSD's five digits, not the platform's raw 1.08512000
    newest_first = [trades.index(f"<td>{kind}</td>") for kind in ("Sell", "Buy", "Balance")]
    assert newest_first == sorted(newest_first), "the close, the open, then the deposit"
    assert "0.00000000" not in trades  # a balance operation has no price
    balance = trades.split("<td>Balance</td>")[1].split("</tr>")[0]
    assert "<td></td><td></td><td>" in balance  # nor volume


def test_the_reviewer_reads_the_conditions_said_of_the_trader_not_to_them(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin, payouts={"no_open_positions": True})
    take_profit(live)
    payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    text = logged_in(finance).get(reverse("backoffice:approval_review", args=[request.pk]))
    conditions = text.content.decode().split('id="payout-conditions"')[1].split("</table>")[0]
    assert "The trader&#x27;s share (80% of the profit)" in conditions
    assert "No open positions when the trader asked" in conditions
    assert "Your share" not in conditions
    assert "when you ask" not in conditions


def test_the_api_answers_the_eligibility_and_refuses_an_early_request_with_it(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin, days_ago=1)
    take_profit(live)
    http = HttpClient()
    token = http.post(
        "/api/v1/auth/token",
        {"email": active_client.user.email, "password": PASSWORD},
        content_type="application/json",
    ).json()["token"]
    http.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    url = f"/api/v1/participations/{live.participation_id}/payouts"
    shown = http.get(url).json()
    assert shown["refused"] == ""
    assert shown["eligibility"]["eligible"] is False
    assert shown["eligibility"]["profit"] == "2880.00"
    refused = http.post(url, HTTP_IDEMPOTENCY_KEY="k1")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "payout_not_eligible"
    assert body["eligibility"]["conditions"][0]["key"] == "date"
    assert http.get(f"/api/v1/participations/{10**12}/payouts").status_code == 404
    assert http.get("/api/v1/participations/x/payouts").status_code == 404


def test_the_participant_page_lists_the_payouts_with_their_split_and_request(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    page = logged_in(admin).get(
        reverse("backoffice:participant", kwargs={"participation_id": live.participation_id})
    )
    text = page.content.decode()
    assert f'data-payout="{payout.reference}"' in text
    assert "2,304.00 USD (80%)" in text
    assert reverse("backoffice:approval_review", kwargs={"request_id": request.pk}) in text


def test_a_payout_has_one_reference_for_the_trader_and_staff_who_find_it_by_it(
    active_client, finance, admin
):
    from propdesk.approvals import services as approvals
    from tests.support import carry_out_platform_commands

    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    assert request.reference == payout.reference  # PAY-..., not the request's own number
    staff = logged_in(finance)
    found = staff.get(reverse("backoffice:approvals_all"), {"q": payout.reference, "status": ""})
    assert reverse("backoffice:approval_review", args=[request.pk]) in found.content.decode()
    approvals.approve(request.pk, actor=finance)
    carry_out_platform_commands()
    report = staff.get(reverse("backoffice:transactions_report"), {"reference": payout.reference})
    text = report.content.decode()
    assert "Profit Share" in text
    assert 'data-amount="-2304.00">Out -2,304.00 USD' in text  # paid out, from the firm's side
    assert f'<td class="reference">{payout.reference}</td>' in text
    wallet = logged_in(active_client.user).get(reverse("portal:wallet")).content.decode()
    assert payout.reference in wallet


def test_past_its_date_the_payouts_tab_does_not_announce_a_next_date_already_gone(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)  # the date came 16 days ago; no profit
    text = logged_in(active_client.user).get(_tab(live.participation_id)).content.decode()
    assert 'data-condition="date" data-met="yes"' in text
    assert 'data-condition="profit" data-met="no"' in text
    assert "Next payout date" not in text
    assert 'id="payout-not-yet"' in text
    assert "Not yet: Profit since the last payout" in text
