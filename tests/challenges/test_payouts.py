"""A funded trader's payout: asked for when the schedule allows (refused with the date and the
reason before), approved or rejected by staff, paid by taking the profit off the trading account
(a balance operation the rules read as money moved, not trading) and crediting the trader's
share to the wallet as one Profit Share entry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Certificate, Payout, StageAttempt
from propdesk.challenges.monitoring import monitor, progress
from propdesk.challenges.payouts import services as payouts
from propdesk.core.errors import Conflict, NotFound
from propdesk.onboarding import kyc
from propdesk.platforms import eventlog
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts
from propdesk.rules.evaluator import Evaluator
from propdesk.rules.parse import parse_event
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import funded, running, server, stage, take_profit
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal


def _paid(payout: Payout, admin) -> Payout:
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.approve(request.pk, actor=admin)
    carry_out_platform_commands()  # the balance operation, after the commit
    payout.refresh_from_db()
    return payout


def test_a_payout_asked_too_early_is_refused_with_the_date_and_nothing_is_kept(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin, days_ago=3)
    take_profit(live)
    with pytest.raises(payouts.NotEligible) as refused:
        payouts.request_payout(active_client, live.participation_id)
    assert "Payout date: from " in refused.value.message
    conditions = {c["key"]: c for c in refused.value.extra["eligibility"]["conditions"]}
    assert conditions["date"]["met"] is False
    assert (conditions["profit"]["met"], conditions["profit"]["figure"]) == (True, "2,880.00 USD")
    assert (
        refused.value.extra["eligibility"]["next_date"]
        == (live.started_at + timedelta(days=14)).isoformat()
    )
    assert not Payout.objects.exists()
    assert not ApprovalRequest.objects.filter(type_key=payouts.PAYOUT).exists()


def test_an_approved_payout_takes_the_profit_off_the_account_and_pays_the_share_once(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)  # +2,880.00
    wallet_before = ledger.wallet(active_client, "USD").balance
    payout = payouts.request_payout(active_client, live.participation_id)
    assert (payout.status, payout.profit, payout.trader_share, payout.firm_share) == (
        "requested",
        D("2880.00"),
        D("2304.00"),
        D("576.00"),
    )
    payout = _paid(payout, admin)
    assert payout.status == "paid"
    account = accounts.account_by_login(live.login)
    assert account.balance == D("100000.00")  # the profit is off the trading account
    entry = payout.entry
    assert entry.type == JournalEntry.Type.PROFIT_SHARE
    assert ledger.wallet(active_client, "USD").balance == wallet_before + D("2304.00")
    certificate = Certificate.objects.get(payout=payout)  # the trader's proof of payment
    assert (certificate.kind, certificate.figures["amount"]) == ("payout", "2304.00")
    # Carried out again, nothing moves twice.
    command = PlatformCommand.objects.get(key=f"balance:payout:{payout.pk}")
    assert command.status == "done"
    carry_out_platform_commands()
    assert accounts.account_by_login(live.login).balance == D("100000.00")
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).count() == 1


def test_the_payout_reaches_the_rules_as_money_moved_and_breaches_nothing(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    _paid(payouts.request_payout(active_client, live.participation_id), admin)
    monitor.process(server())
    live.refresh_from_db()
    assert live.status == StageAttempt.Status.IN_PROGRESS
    shown = progress.figures(live)
    assert shown is not None
    assert (shown.balance, shown.moved, shown.profit) == (
        D("100000.00"),
        D("-2880.00"),
        D("2880.00"),
    )
    # The floors are the rule contract's: a fresh evaluator fed the account's events agrees.
    reference = Evaluator(progress.rules_for(live))
    logged = [e.payload for e in eventlog.events(live.server_id, login=live.login)]
    for event in logged:
        reference.feed(parse_event(event))
    assert reference.figures().daily_loss_floor == shown.daily_loss_floor
    assert reference.figures().max_loss_floor == shown.max_loss_floor
    assert {"t": logged[-2]["t"], "type": "balance", "amount": "-2880.00"} in logged
    # Nothing is left to pay until the trader makes more profit (and the next date comes).
    found = payouts.check(live, payouts.read_account(live))
    assert found.profit == D("0.00")
    assert not found.eligible


def test_a_rejected_payout_keeps_its_reason_for_the_trader_and_moves_nothing(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    approvals.reject(request.pk, actor=admin, reason="Hedging across accounts (rule 4.2)")
    carry_out_platform_commands()
    payout.refresh_from_db()
    assert (payout.status, payout.reason) == ("rejected", "Hedging across accounts (rule 4.2)")
    assert accounts.account_by_login(live.login).balance == D("102880.00")
    assert not JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).exists()
    assert not PlatformCommand.objects.filter(kind="balance").exists()
    # The trader may ask again at once: a rejection does not move the date.
    again = payouts.request_payout(active_client, live.participation_id)
    assert again.status == "requested"


def test_one_payout_at_a_time_and_a_retry_with_the_same_key_answers_the_first(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    first = payouts.request_payout(active_client, live.participation_id, idempotency_key="k1")
    again = payouts.request_payout(active_client, live.participation_id, idempotency_key="k1")
    assert again.pk == first.pk
    with pytest.raises(Conflict, match=f"Payout {first.reference} is requested"):
        payouts.request_payout(active_client, live.participation_id, idempotency_key="k2")
    assert Payout.objects.count() == 1
    assert payouts.refusal(live) == (
        f"Payout {first.reference} is requested: one at a time, so the next one can be asked "
        "for once it is paid or rejected."
    )
    assert ApprovalRequest.objects.filter(type_key=payouts.PAYOUT).count() == 1


def test_the_kyc_policy_can_block_payout_requests(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    kyc.set_policy(["request_payout"], actor=admin)
    with pytest.raises(kyc.KycRequired, match="request a payout"):
        payouts.request_payout(active_client, live.participation_id)
    assert not Payout.objects.exists()


def test_nobody_else_can_ask_for_a_clients_payout_and_a_demo_stage_pays_nothing(
    active_client, finance, admin, register, set_method
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    set_method("trader_registration", "automatic")
    other, _ = register(email="other-trader@example.com")
    with pytest.raises(NotFound):
        payouts.request_payout(other, live.participation_id)
    demo_joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    with pytest.raises(Conflict, match="live"):
        payouts.request_payout(active_client, demo_joined.pk)


def test_an_approval_after_the_stage_failed_is_refused_and_the_request_is_withdrawn(
    active_client, finance, admin, django_capture_on_commit_callbacks
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT)
    # The stage fails (staff cancel the participation: the same ending as a breach).
    from propdesk.challenges.participation import interventions

    with django_capture_on_commit_callbacks(execute=True):
        interventions.cancel(live.participation_id, actor=admin, reason="Chargeback")
    payout.refresh_from_db()
    request.refresh_from_db()
    assert (payout.status, request.status) == ("cancelled", "cancelled")
    with pytest.raises(Conflict):
        approvals.approve(request.pk, actor=admin)
    assert not JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).exists()


def test_an_approval_pays_no_more_than_the_profit_left_when_the_trader_lost_meanwhile(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live, bid="1.09400")  # +8,880.00
    payout = payouts.request_payout(active_client, live.participation_id)
    take_profit(live, bid="1.08000")  # -5,120.00: 3,760.00 left
    payout = _paid(payout, admin)
    assert (payout.profit, payout.trader_share, payout.figures["asked_profit"]) == (
        D("3760.00"),
        D("3008.00"),
        "8880.00",
    )
    assert accounts.account_by_login(live.login).balance == D("100000.00")
