"""The evidence on the review pages of prop trading's requests: the live step shows the
performance behind it (the curve, profit against the account size, trading days, each stage's
verdict, a warning for a stage staff passed by hand, a link to the participant page); the
participant page links its requests; the participation's review shows how its fee was paid."""

from __future__ import annotations

import json
import re

import pytest

from propdesk.accounts.services import save_role
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.participation import interventions
from propdesk.challenges.participation import services as participation
from propdesk.wallet import sandbox_payments
from propdesk.wallet.models import PaymentMethod
from tests.challenges.factories import pass_stage, running, stage
from tests.conftest import logged_in
from tests.support import carry_out_platform_commands
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db


def review_of(request: ApprovalRequest) -> str:
    return f"/backoffice/approvals/{request.pk}/"


def html(user, path: str) -> str:
    response = logged_in(user).get(path)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def live_step() -> ApprovalRequest:
    return ApprovalRequest.objects.get(type_key="prop_live_step")


def evaluated(active_client, finance, admin):
    """Stage 1 passed by its rules (+8,880 on 100,000 in one day, no minimum of days)."""
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(min_trading_days=1), stage("live")]
    )
    pass_stage(attempt)
    attempt.refresh_from_db()
    assert attempt.status == "passed"
    return joined, attempt


def test_the_live_step_review_shows_the_curve_profit_days_and_the_evaluators_verdict(
    active_client, finance, admin
):
    joined, _attempt = evaluated(active_client, finance, admin)
    page = html(admin, review_of(live_step()))

    assert 'id="evidence"' in page
    profit = re.search(r'data-evidence="profit">([^<]*)<', page).group(1)
    assert "8,880.00 USD" in profit
    assert "8.88% of the account size 100,000.00" in profit
    assert re.search(r'data-evidence="days">1 \(at least 1 needed: met\)', page)
    assert "8,000.00 USD (8.00%)" in page  # the target, reached
    verdict = re.search(r'<tr data-stage="1">(.*?)</tr>', page, re.S).group(1)
    assert 'data-verdict="passed"' in verdict
    assert "by the evaluator" in verdict
    assert "All objectives met" in verdict
    assert "every objective was met" in verdict
    assert "by hand" not in page
    # The curve: drawn by the static chart script from the JSON beside it, no inline script.
    assert 'data-chart="review-curve"' in page
    data = json.loads(
        re.search(
            r'<script id="review-curve" type="application/json">(.*?)</script>', page, re.S
        ).group(1)
    )
    assert data["points"], "the stage's equity curve"
    assert {line["key"] for line in data["lines"]} >= {"target", "max"}
    assert "challenges/chart.js" in page
    assert f'href="/backoffice/prop-trading/participants/{joined.pk}/"' in page


def test_a_stage_advanced_by_hand_is_flagged_on_the_live_step_review(active_client, finance, admin):
    _joined, attempt = running(
        active_client, finance, admin, stages=[stage(min_trading_days=4), stage("live")]
    )
    interventions.advance(attempt.pk, actor=admin, reason="Passed on the old server")
    carry_out_platform_commands()
    page = html(admin, review_of(live_step()))

    warning = re.search(
        r'<div class="form-error" role="alert" data-by-hand="1">(.*?)</div>', page, re.S
    )
    assert warning, "a warning for the stage passed by hand"
    assert "passed by hand by staff, not by the evaluator" in warning.group(1)
    assert admin.email in warning.group(1)
    assert "Passed on the old server" in warning.group(1)
    verdict = re.search(r'<tr data-stage="1">(.*?)</tr>', page, re.S).group(1)
    assert "by hand (staff)" in verdict
    assert re.search(r'data-evidence="days">0 \(at least 4 needed: <strong>not met', page)
    assert "<strong>not reached</strong>" in page  # the target was not reached either


def test_a_live_first_stage_review_says_no_stage_was_traded(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage("live")])
    page = html(admin, review_of(live_step()))
    assert 'id="no-stage"' in page
    assert f'href="/backoffice/prop-trading/participants/{joined.pk}/"' in page


def test_the_participant_page_links_its_pending_requests(active_client, finance, admin):
    joined, _attempt = evaluated(active_client, finance, admin)
    step = live_step()
    page = html(admin, f"/backoffice/prop-trading/participants/{joined.pk}/")

    pending = re.search(rf'data-pending-request="{step.pk}">(.*?)</div>', page, re.S)
    assert pending, "the waiting live step is announced"
    assert f'href="{review_of(step)}"' in pending.group(1)
    assert "(stage 2)" in pending.group(1)
    purchase = ApprovalRequest.objects.get(type_key="prop_participation")
    assert f'<tr data-request="{purchase.pk}">' in page  # decided: listed, not announced
    assert f'data-pending-request="{purchase.pk}"' not in page

    approvals.approve(step.pk, actor=admin)
    carry_out_platform_commands()
    assert "data-pending-request" not in html(
        admin, f"/backoffice/prop-trading/participants/{joined.pk}/"
    )


def test_the_participants_list_marks_a_stage_waiting_for_the_live_step_under_review(
    active_client, finance, admin
):
    joined, _attempt = evaluated(active_client, finance, admin)
    step = live_step()
    listing = html(admin, "/backoffice/prop-trading/participants/")
    shown = re.search(rf'<tr data-participation="{joined.pk}">(.*?)</tr>', listing, re.S)
    assert shown, "the participant is listed"
    assert "data-under-review>Under review</span>" in shown.group(1)
    review = html(admin, review_of(step))
    assert re.search(r"<strong>Submitted</strong>\s*—\s*system", review)  # the monitor asked
    approvals.approve(step.pk, actor=admin)
    carry_out_platform_commands()
    assert "data-under-review" not in html(admin, "/backoffice/prop-trading/participants/")


def test_staff_who_cannot_see_approvals_get_no_request_links(
    active_client, finance, admin, staff_factory
):
    save_role(None, name="Desk", description="", permission_codes=["challenges.view"], actor=admin)
    desk = staff_factory("Desk")
    joined, _ = evaluated(active_client, finance, admin)
    page = html(desk, f"/backoffice/prop-trading/participants/{joined.pk}/")
    assert "data-pending-request" not in page
    assert 'id="requests"' not in page


def test_the_participation_review_shows_a_wallet_fee_payment(
    active_client, finance, admin, set_method
):
    set_method("prop_participation", "manual")
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    page = html(admin, review_of(request))

    fee = re.search(r'<article id="fee-payment">(.*?)</article>', page, re.S).group(1)
    assert "Deducted from the client&#x27;s wallet" in fee
    assert re.search(r'data-fee="amount">499.00 USD<', fee)
    assert "Charged" in fee
    in_ledger = f'In the ledger as <span class="reference">{joined.reference}</span>'
    assert f"{in_ledger} (Prop Trading Fee)" in fee

    approvals.reject(request.pk, actor=admin, reason="Not eligible")
    joined.refresh_from_db()
    fee = re.search(
        r'<article id="fee-payment">(.*?)</article>', html(admin, review_of(request)), re.S
    )
    assert "Refunded to the wallet" in fee.group(1)
    assert f"{in_ledger} (a reversal)" in fee.group(1)


def test_the_participation_review_shows_a_direct_purchase_and_its_provider_payment(
    active_client, admin, challenge, sandbox_card, set_method
):
    set_method("prop_participation", "manual")
    joined = participation.start(
        active_client, challenge.pk, payment="direct", method=sandbox_card.pk
    )
    carry_out_platform_commands()
    assert sandbox_card.provider == PaymentMethod.Provider.SANDBOX
    deliver(sandbox_payments.event_for(joined, paid=True))
    joined.refresh_from_db()
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    fee = re.search(
        r'<article id="fee-payment">(.*?)</article>', html(admin, review_of(request)), re.S
    ).group(1)
    assert f"Direct purchase through {sandbox_card.name} (Sandbox payment provider)" in fee
    assert joined.provider_payment_id.startswith("pay_")
    assert joined.provider_payment_id in fee
    shown = r'received in the ledger as <span class="reference">[A-Z]{3}-\d{6}</span>'
    assert re.search(shown, fee)


def test_the_reviews_print_stage_sizes_and_the_fee_grouped_with_their_currency(
    active_client, finance, admin, set_method
):
    set_method("prop_participation", "manual")
    running(active_client, finance, admin, stages=[stage(), stage("live")])
    page = html(admin, review_of(ApprovalRequest.objects.get(type_key="prop_participation")))
    assert "Demo 100,000.00 USD → Live 100,000.00 USD" in page
    assert "499.00 USD paid by the wallet" in page
    assert "100000.00" not in page


def test_the_live_step_review_prints_the_next_stage_size_grouped_with_its_currency(
    active_client, finance, admin
):
    evaluated(active_client, finance, admin)
    step = html(admin, review_of(live_step()))
    assert "(live, 100,000.00 USD)" in step
    assert "100000.00" not in step
