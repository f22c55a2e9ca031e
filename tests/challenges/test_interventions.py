"""Staff interventions: advance (only a stage in progress with no open positions), reinstate a
stage failed in error, cancel (refunding the fee if asked); each needs a reason and the
permission, and is audited."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import interventions
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.wallet import ledger
from tests.challenges.factories import breached, move, running, server, stage
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
# What staff may do to a running challenge, each audited with the reason.
INTERVENTIONS = [
    AuditAction.STAGE_ADVANCE,
    AuditAction.STAGE_REINSTATE,
    AuditAction.STAGE_RETRY,
    AuditAction.PARTICIPATION_CANCEL,
]
D = Decimal


def test_advancing_is_refused_while_positions_are_open_and_opens_the_next_stage_after(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage(), stage()])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    with pytest.raises(Conflict, match="1 open position"):
        interventions.advance(attempt.pk, actor=admin, reason="Passed on the old server")
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    orders.close_position(account, position.pk)
    interventions.advance(attempt.pk, actor=admin, reason="Passed on the old server")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.status == "passed"
    assert "Passed on the old server" in attempt.staff_note
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    following = joined.current_attempt()
    assert (following.stage, following.status) == (1, "in_progress")
    record = AuditRecord.objects.get(action=AuditAction.STAGE_ADVANCE)
    assert record.actor == admin
    assert "Passed on the old server" in record.summary


def test_advancing_into_a_live_stage_still_takes_the_live_step(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    interventions.advance(attempt.pk, actor=admin, reason="Manual review passed")
    carry_out_platform_commands()
    assert joined.current_attempt().stage == 0
    request = ApprovalRequest.objects.get(type_key="prop_live_step")
    assert request.status == "pending"


def test_only_a_stage_in_progress_can_be_advanced(active_client, finance, admin):
    _, attempt, *_ = breached(active_client, finance, admin)
    with pytest.raises(Conflict, match="failed"):
        interventions.advance(attempt.pk, actor=admin, reason="Try")


def test_reinstating_a_failure_in_error_resumes_the_stage_where_it_stood(
    active_client, finance, admin
):
    joined, attempt, account, position, price_feed = breached(active_client, finance, admin)
    move(price_feed, "1.08500", "1.08512")  # the bad price is gone
    interventions.reinstate(attempt.pk, actor=admin, reason="Bad tick from the price source")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert (attempt.status, joined.status) == ("in_progress", "active")
    assert attempt.explanation == ""
    assert attempt.verdict is None
    assert accounts.account_by_login(attempt.login).trading_enabled is True
    record = AuditRecord.objects.get(action=AuditAction.STAGE_REINSTATE)
    assert "95000.00" in record.before["explanation"].replace(
        ",", ""
    )  # the failure taken back is kept
    # The evaluator goes on from where it stood: the same position, the same floors.
    orders.close_position(account, position.pk)
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    # A real breach afterwards fails the stage again, as usual.
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.07900", "1.07912")  # a feed that knows the new position
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "failed"


def test_a_position_limit_breach_can_be_reinstated_and_the_limit_still_holds(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(max_open_positions=1)])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    second = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    monitor.process(server())
    attempt.refresh_from_db()
    assert (attempt.status, attempt.verdict["rule"]) == ("failed", "max_open_positions")
    orders.close_position(account, second.pk)  # the second order was the platform's error
    interventions.reinstate(attempt.pk, actor=admin, reason="Duplicate order from the bridge")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    monitor.process(server())
    attempt.refresh_from_db()
    assert (attempt.status, attempt.verdict["rule"]) == ("failed", "max_open_positions")


def test_reinstating_needs_a_failed_last_stage(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    with pytest.raises(Conflict, match="failed"):
        interventions.reinstate(attempt.pk, actor=admin, reason="Nothing to undo")


def test_cancelling_disables_the_account_withdraws_requests_and_refunds_if_asked(
    active_client, finance, admin
):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    fee_paid = ledger.balances(active_client)["USD"]
    interventions.cancel(joined.pk, actor=admin, reason="Chargeback on the card", refund=True)
    carry_out_platform_commands()
    joined.refresh_from_db()
    attempt.refresh_from_db()
    assert (joined.status, attempt.status) == ("cancelled", "cancelled")
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    assert joined.refund_entry is not None
    assert ledger.balances(active_client)["USD"] == fee_paid + joined.fee
    with pytest.raises(Conflict):
        interventions.cancel(joined.pk, actor=admin, reason="Again", refund=True)
    assert ledger.balances(active_client)["USD"] == fee_paid + joined.fee


def test_cancelling_withdraws_a_pending_live_step(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    interventions.advance(attempt.pk, actor=admin, reason="Manual review passed")
    carry_out_platform_commands()
    interventions.cancel(joined.pk, actor=admin, reason="Client asked to stop")
    carry_out_platform_commands()
    request = ApprovalRequest.objects.get(type_key="prop_live_step")
    assert request.status == "cancelled"
    assert request.actions.filter(kind="cancelled").exists()
    joined.refresh_from_db()
    assert joined.refund_entry is None  # no refund unless asked
    with pytest.raises(Conflict):
        approvals.approve(request.pk, actor=admin)


def test_interventions_need_a_reason_and_the_permission(active_client, finance, admin, support):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    for reason in ("", "   ", None, 7, "x" * 501, "bad\x00text"):
        with pytest.raises(ValidationFailed) as failed:
            interventions.advance(attempt.pk, actor=admin, reason=reason)
        assert "reason" in failed.value.fields
    with pytest.raises(Forbidden):
        interventions.cancel(joined.pk, actor=support, reason="Not mine to do")
    with pytest.raises(Forbidden):
        interventions.advance(attempt.pk, actor=support, reason="Not mine to do")
    for wrong in ("abc", "-1", 10**12, None):
        with pytest.raises(NotFound):
            interventions.cancel(wrong, actor=admin, reason="Which one?")
        with pytest.raises(NotFound):
            interventions.reinstate(wrong, actor=admin, reason="Which one?")
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert (attempt.status, joined.status) == ("in_progress", "active")
    assert not AuditRecord.objects.filter(action__in=INTERVENTIONS).exists()


def test_a_failed_stage_reads_as_one_sentence_with_its_figures(active_client, finance, admin):
    from propdesk.challenges.monitoring import progress

    _, attempt, *_ = breached(active_client, finance, admin)
    sentence = progress.headline(attempt)
    assert sentence.startswith("Equity 94,880.00 at ")
    assert sentence.endswith(
        "(Europe/Prague) fell below the daily floor 95,000.00 = yesterday's closing balance "
        "100,000.00 \u2212 5% of 100,000.00."
    )
    interventions.reinstate(attempt.pk, actor=admin, reason="Bad tick")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert progress.headline(attempt) == ""  # in progress again: nothing to say


def test_a_retry_applies_the_events_a_set_aside_stage_missed(active_client, finance, admin):
    from propdesk.challenges.models import StageAttempt

    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    attempt.refresh_from_db()
    good = attempt.evaluator_state
    StageAttempt.objects.filter(pk=attempt.pk).update(evaluator_state={"not": "a state"})
    move(price_feed, "1.08000", "1.08012")  # the breach, while the stage cannot be read
    monitor.process(server())
    move(price_feed, "1.08100", "1.08112")  # and more events it misses
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.monitor_error
    assert attempt.status == "in_progress"
    with pytest.raises(Conflict, match="still cannot be evaluated"):
        interventions.retry(attempt.pk, actor=admin, reason="State restored from backup")
    attempt.refresh_from_db()
    assert attempt.monitor_error  # nothing changed
    StageAttempt.objects.filter(pk=attempt.pk).update(evaluator_state=good)  # put right
    assert interventions.retry(attempt.pk, actor=admin, reason="State restored from backup") >= 2
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.monitor_error == ""
    assert attempt.status == "failed"  # the missed breach, applied at last
    assert attempt.verdict["rule"] == "max_daily_loss"
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    with pytest.raises(Conflict, match="not set this stage aside"):
        interventions.retry(attempt.pk, actor=admin, reason="State restored from backup")


def test_a_live_stage_is_never_advanced(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage("live")])
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    live = joined.current_attempt()
    with pytest.raises(Conflict, match="never passed"):
        interventions.advance(live.pk, actor=admin, reason="Promote")
    live.refresh_from_db()
    assert live.status == "in_progress"
    assert accounts.account_by_login(live.login).trading_enabled is True


def test_a_reinstated_stage_takes_the_events_of_its_time_out(active_client, finance, admin):
    from propdesk.challenges.monitoring import progress

    _, attempt, account, position, price_feed = breached(active_client, finance, admin)
    move(price_feed, "1.08500", "1.08512")  # the bad price is gone
    orders.close_position(account, position.pk)  # and the position closed meanwhile
    monitor.process(server())  # the monitor reads past it: the stage is failed
    interventions.reinstate(attempt.pk, actor=admin, reason="Bad tick\nfrom the price source")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    figures = progress.figures(attempt)
    assert figures.open_positions == 0  # the close reached the rules
    assert figures.balance == accounts.account_by_login(attempt.login).balance
    assert attempt.status == "in_progress"


def test_a_stage_paused_before_its_breach_stays_paused_when_reinstated(
    active_client, finance, admin
):
    daily = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}
    _, attempt = running(
        active_client, finance, admin, stages=[stage(max_daily_loss=daily), stage("live")]
    )
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08000", "1.08012")  # -5,120: paused
    monitor.process(server())
    move(price_feed, "1.07400", "1.07412")  # -11,120: the max loss, while paused
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.verdict["rule"] == "max_loss"
    interventions.reinstate(attempt.pk, actor=admin, reason="Bad tick")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.paused is True
    assert accounts.account_by_login(attempt.login).trading_enabled is False


def test_a_retry_of_a_stage_that_ended_applies_nothing(active_client, finance, admin):
    from propdesk.challenges.models import StageAttempt

    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    StageAttempt.objects.filter(pk=attempt.pk).update(
        evaluator_state={"not": "a state"}, monitor_error="ValueError: not a state"
    )
    interventions.cancel(joined.pk, actor=admin, reason="Client asked to stop")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.monitor_error == ""  # an ended stage is no longer the monitor's
    StageAttempt.objects.filter(pk=attempt.pk).update(monitor_error="ValueError: not a state")
    assert interventions.retry(attempt.pk, actor=admin, reason="Look again") == 0
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert (attempt.status, attempt.monitor_error) == ("cancelled", "")
    assert accounts.account_by_login(attempt.login).trading_enabled is False


def test_a_retry_opens_the_next_stage_that_could_not_be_opened(active_client, finance, admin):
    from propdesk.challenges.models import StageAttempt

    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    StageAttempt.objects.filter(pk=attempt.pk).update(
        status="passed", monitor_error="The next stage could not be opened: platform down"
    )
    interventions.retry(attempt.pk, actor=admin, reason="Platform back")
    carry_out_platform_commands()
    following = joined.current_attempt()
    assert (following.stage, following.status) == (1, "in_progress")


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_the_live_step_approval_cancels_the_stage_it_opened(
    active_client, finance, admin
):
    from propdesk.challenges.models import StageAttempt

    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    interventions.advance(attempt.pk, actor=admin, reason="Passed on the old server")
    carry_out_platform_commands()
    request = ApprovalRequest.objects.get(type_key="prop_live_step")
    approving = threading.Event()
    outcomes: list[str] = []

    def approve() -> None:
        try:
            with transaction.atomic():
                approvals.approve(request.pk, actor=admin)  # opens the live stage
                approving.set()
                time.sleep(0.5)  # the cancel arrives while this has not committed
            outcomes.append("approved")
        finally:
            connection.close()

    def cancel() -> None:
        try:
            approving.wait(10)
            interventions.cancel(joined.pk, actor=admin, reason="Chargeback", refund=True)
            outcomes.append("cancelled")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve), threading.Thread(target=cancel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes == ["approved", "cancelled"]  # the cancel waited for the approval
    joined.refresh_from_db()
    live = StageAttempt.objects.get(participation=joined, stage=1)
    assert (joined.status, live.status) == ("cancelled", "cancelled")
    carry_out_platform_commands()  # opened, then closed to trading, in that order
    live.refresh_from_db()
    assert accounts.account_by_login(live.login).trading_enabled is False


def test_a_verdict_set_aside_midway_keeps_nothing_and_its_retry_applies_it(
    active_client, finance, admin
):
    from propdesk.challenges.models import CurvePoint, Participation, StageAttempt

    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    attempt.refresh_from_db()
    earlier = {**attempt.curve_open, "t": "2020-01-01T00:00:00Z"}  # a bucket the breach closes
    StageAttempt.objects.filter(pk=attempt.pk).update(curve_open=earlier)
    # Acting on the breach fails: the participation is not in a state that can fail.
    Participation.objects.filter(pk=joined.pk).update(status="pending_approval")
    move(price_feed, "1.08000", "1.08012")
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.monitor_error
    assert attempt.status == "in_progress"
    assert not CurvePoint.objects.filter(attempt=attempt).exists()  # undone with the verdict
    assert accounts.account_by_login(attempt.login).trading_enabled is True
    Participation.objects.filter(pk=joined.pk).update(status="active")  # put right
    interventions.retry(attempt.pk, actor=admin, reason="Participation repaired")
    carry_out_platform_commands()
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert accounts.account_by_login(attempt.login).trading_enabled is False
    assert CurvePoint.objects.filter(attempt=attempt).count() == 1
