"""A payout's trading days are counted as the stage's rules count them: from the trading day
the previous payout was asked in (a day ends at the rules' reset time, not at midnight)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Payout, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.challenges.payouts import services as payouts
from propdesk.rules.evaluator import Evaluator
from tests.challenges.factories import paid_payout, running, stage
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db


def test_trading_days_since_the_previous_payout_count_from_its_trading_day_not_its_date(
    active_client, finance, admin
):
    """With a 17:00 reset a payout asked on Tuesday at 09:00 falls in trading day Monday (it
    ends on Tuesday at 17:00): a trade after the request that day counts for the next one."""
    joined, _ = running(
        active_client,
        finance,
        admin,
        stages=[stage("live", day_reset="17:00")],
        time_zone="America/New_York",
        payouts={
            "timing": "on_request",
            "first_after_days": 0,
            "every_days": 1,
            "min_trading_days": 1,
        },
    )
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    live = joined.current_attempt()
    asked = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tuesday 09:00 in New York
    previous = paid_payout(live, profit="100.00")
    Payout.objects.filter(pk=previous.pk).update(requested_at=asked)
    state = Evaluator(progress.rules_for(live)).state()
    state["counted"] = [["2026-03-02", None]]  # trading day Monday: Mon 17:00 to Tue 17:00
    StageAttempt.objects.filter(pk=live.pk).update(evaluator_state=state)
    live.refresh_from_db()
    found = payouts.check(live, payouts.Account(0, ()), now=asked + timedelta(days=2))
    days = {c.key: c for c in found.conditions}["min_trading_days"]
    assert (days.met, days.figure, days.label) == (True, "1 of 1", "Trading days since 2026-03-02")
