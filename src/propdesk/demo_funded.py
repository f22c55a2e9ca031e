"""The demo's funded trader: a live stage that has traded for three weeks, a profitable trade
closed, and a payout asked for, approved by Finance and paid (the Profit Share in the wallet).
The challenges' payout schedules and their retry and reset offers are here too."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from propdesk.accounts.models import User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.payouts import services as payouts
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import orders as sandbox_orders
from propdesk.platforms.sandbox.models import Quote

# Every 14 days from 14 days after the live start, at least 50 USD to the trader.
TWO_WEEKLY: dict[str, Any] = {
    "timing": "on_request",
    "first_after_days": 14,
    "every_days": 14,
    "min_payout": "50",
}
# On the 1st and the 15th, with two trading days in the period and a consistency rule.
TWICE_MONTHLY: dict[str, Any] = {
    "timing": "fixed_days",
    "first_after_days": 7,
    "fixed_days": [1, 15],
    "min_payout": "100",
    "min_trading_days": 2,
    "consistency_pct": "50",
}
RETRY = {"fee": "399.00", "discount_pct": "20", "discount_days": 7}
RESET = {"fee": "99.00"}
LIVE_DAYS = 21  # how long the demo's funded trader has traded


def paid_payout(joined: Participation, finance: User) -> None:
    """+200 USD closed on gold, then the payout: 70% of it, 140.00 USD, in the wallet."""
    from propdesk import demo  # (it calls this one)

    demo.sandbox_turn()
    attempt = Participation.objects.get(pk=joined.pk).current_attempt()
    assert attempt is not None
    StageAttempt.objects.filter(pk=attempt.pk).update(
        started_at=timezone.now() - timedelta(days=LIVE_DAYS)
    )
    account = sandbox_accounts.account_by_login(attempt.login)
    monitor.process(sandbox_accounts.default_server())
    position = sandbox_orders.place_order(account, symbol="XAUUSD", side="buy", volume="1.00")
    quote = Quote.objects.get(instrument__symbol="XAUUSD")
    up = quote.ask - quote.bid + Decimal("2.00")  # closes at +2.00 a troy ounce: +200 USD
    demo.move_price("XAUUSD", up)
    sandbox_orders.close_position(account, position.pk)
    demo.move_price("XAUUSD", -up)
    monitor.process(sandbox_accounts.default_server())
    payout = payouts.request_payout(joined.client, joined.pk, idempotency_key="demo-payout")
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.approve(request.pk, actor=finance, comment="Trading history reviewed.")
    demo.sandbox_turn()  # the profit taken off the account; the share reaches the wallet
    monitor.process(sandbox_accounts.default_server())
