"""The other decisions' events: a purchase rejected, the live step, a payout approved or
rejected, a withdrawal rejected, a request type without an event of its own (approved or
rejected), a client suspended and reactivated."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.accounts import services as accounts_services
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import lifecycle
from propdesk.challenges.participation import services as participation
from propdesk.challenges.payouts import services as payouts
from propdesk.notifications.models import Notification
from propdesk.wallet import services as wallet
from propdesk.wallet import withdrawals
from tests.challenges.factories import definition, funded, pass_stage, running, stage, take_profit
from tests.support import carry_out_platform_commands
from tests.wallet.factories import bank_destination

pytestmark = pytest.mark.django_db


def _told(client, key):
    return list(Notification.objects.filter(user=client.user, event=key).order_by("id"))


def test_a_rejected_purchase_names_the_challenge_and_the_reason(
    active_client, finance, admin, set_method
):
    set_method(participation.PARTICIPATION, "manual")
    wallet.adjust(
        active_client.pk,
        direction="credit",
        amount="1000",
        currency="USD",
        comment="x",
        actor=finance,
    )
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    joined = participation.start(active_client, made.pk, payment="wallet")
    request = ApprovalRequest.objects.get(type_key=participation.PARTICIPATION)
    approvals.reject(request.pk, actor=admin, reason="Not in your country.", message="Sorry!")
    [note] = _told(active_client, "participation.rejected")
    assert note.title == "Your 2-Step 100K purchase was rejected"
    assert f"(reference {joined.reference}) was rejected" in note.body
    assert "Reason: Not in your country." in note.body
    assert note.body.endswith("Sorry!")


def test_the_live_step_decision_and_then_the_funded_account_ready(active_client, finance, admin):
    joined, attempt = running(
        active_client, finance, admin, stages=[stage(min_trading_days=1), stage("live")]
    )
    pass_stage(attempt)
    request = ApprovalRequest.objects.get(type_key=lifecycle.LIVE_STEP)
    approvals.approve(request.pk, actor=admin, message="Well traded.")
    [note] = _told(active_client, "live_step.approved")
    assert note.title == "Your funded account for 2-Step 100K was approved"
    assert note.body.endswith("Well traded.")
    assert len(_told(active_client, "participation.approved")) == 1  # not open yet
    carry_out_platform_commands()
    ready = _told(active_client, "participation.approved")
    assert len(ready) == 2
    assert joined.current_attempt().login in ready[-1].body


def test_a_rejected_live_step_is_told_with_its_reason(active_client, finance, admin):
    _, attempt = running(
        active_client, finance, admin, stages=[stage(min_trading_days=1), stage("live")]
    )
    pass_stage(attempt)
    request = ApprovalRequest.objects.get(type_key=lifecycle.LIVE_STEP)
    approvals.reject(request.pk, actor=admin, reason="Gambling on news.")
    [note] = _told(active_client, "live_step.rejected")
    assert "Reason: Gambling on news." in note.body


def _stage_progression_asked(active_client, finance, admin) -> ApprovalRequest:
    """A passed stage whose next stage waits for staff (a stage progression request)."""
    _, attempt = running(
        active_client,
        finance,
        admin,
        stages=[stage(min_trading_days=1), stage(), stage("live")],
        progression="approved",
    )
    pass_stage(attempt)
    return ApprovalRequest.objects.get(type_key=lifecycle.STAGE_PROGRESSION)


def test_a_stage_request_without_an_event_of_its_own_is_the_request_event(
    active_client, finance, admin
):
    request = _stage_progression_asked(active_client, finance, admin)
    approvals.reject(request.pk, actor=admin, reason="Review pending.")
    [note] = _told(active_client, "request.rejected")
    assert note.title == "Your prop trading next stage was rejected"
    assert f"(reference {request.reference}) was rejected" in note.body


def test_an_approved_payout_names_the_traders_share(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    take_profit(live)  # +2,880.00: 80% is 2,304.00
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.approve(request.pk, actor=admin)
    [note] = _told(active_client, "payout.approved")
    assert note.title == "Your payout of 2,304.00 USD was approved"
    assert payout.trader_share == Decimal("2304.00")


def test_suspending_and_reactivating_a_client_are_events(active_client, admin):
    accounts_services.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Chargeback under review"
    )
    [suspended] = _told(active_client, "client.suspended")
    assert suspended.title == "Your account is suspended"
    assert "Reason: Chargeback under review" in suspended.body
    accounts_services.set_client_suspended(active_client.pk, suspended=False, actor=admin)
    [reactivated] = _told(active_client, "client.reactivated")
    assert reactivated.title == "Your account is active again"


def _withdrawal(client, finance, bank_transfer):
    wallet.adjust(
        client.pk, direction="credit", amount="1000", currency="USD", comment="x", actor=finance
    )
    made = withdrawals.request_withdrawal(
        client,
        method=bank_transfer.pk,
        amount="400.00",
        currency="USD",
        destination=bank_destination(),
    )
    request = ApprovalRequest.objects.get(type_key="withdrawal", payload__withdrawal_id=made.pk)
    return made, request


def test_a_rejected_withdrawal_says_the_amount_is_back_with_the_reason(
    active_client, finance, bank_transfer
):
    made, request = _withdrawal(active_client, finance, bank_transfer)
    approvals.reject(
        request.pk, actor=finance, reason="The account is not in your name.", message="Call us."
    )
    [note] = _told(active_client, "withdrawal.rejected")
    assert note.title == "Your withdrawal of 400.00 USD was rejected"
    assert (
        f"your withdrawal of 400.00 USD (reference {made.reference}) was rejected; the amount "
        "is back in your wallet."
    ) in note.body
    assert "Reason: The account is not in your name." in note.body
    assert note.body.endswith("Call us.")
    assert note.level == "warning"
    assert not _told(active_client, "withdrawal.approved")


def test_a_rejected_withdrawal_is_told_in_the_clients_language(
    register, set_method, finance, bank_transfer
):
    set_method("trader_registration", "automatic")
    client, _ = register(language="es")
    made, request = _withdrawal(client, finance, bank_transfer)
    approvals.reject(request.pk, actor=finance, reason="Titular distinto")
    [note] = _told(client, "withdrawal.rejected")
    assert note.title == "Su retiro de 400,00 USD fue rechazado"
    assert f"(referencia {made.reference}) fue rechazado; el importe volvió" in note.body
    assert "Motivo: Titular distinto" in note.body


def test_a_rejected_payout_names_the_share_asked_and_the_reason(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    take_profit(live)  # +2,880.00: 80% is 2,304.00
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.reject(request.pk, actor=admin, reason="Traded during news.", message="Sorry!")
    [note] = _told(active_client, "payout.rejected")
    assert note.title == "Your payout of 2,304.00 USD was rejected"
    assert (
        f"your payout request of 2,304.00 USD (reference {payout.reference}) was rejected."
    ) in note.body
    assert "Reason: Traded during news." in note.body
    assert note.body.endswith("Sorry!")
    assert note.level == "warning"
    assert not _told(active_client, "payout.approved")


def test_an_approved_request_without_an_event_of_its_own_is_the_request_event(
    active_client, finance, admin
):
    request = _stage_progression_asked(active_client, finance, admin)
    approvals.approve(request.pk, actor=admin, message="Good trading.")
    [note] = _told(active_client, "request.approved")
    assert note.title == "Your prop trading next stage was approved"
    assert f"your prop trading next stage (reference {request.reference}) was approved." in (
        note.body
    )
    assert note.body.endswith("Good trading.")
    assert note.level == "success"
    assert not _told(active_client, "request.rejected")
