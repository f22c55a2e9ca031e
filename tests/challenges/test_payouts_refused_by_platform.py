"""A payout whose balance operation the platform refused: retried once its cause is put right,
it is paid; cancelled by staff, the profit was never taken off the account, so the payout is
cancelled too (nothing paid, the trader told) and the trader may ask again for that profit. A
command the platform did but whose outcome could not be recorded is retried, never cancelled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Payout, StageAttempt
from propdesk.challenges.payouts import services as payouts
from propdesk.core.errors import Conflict
from propdesk.notifications.models import Notification
from propdesk.platforms import commands, outbox
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts, orders
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import funded, take_profit
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal


def _approved_and_refused(client, finance, admin) -> tuple[StageAttempt, Payout, PlatformCommand]:
    """A payout of 2,880.00 approved while a position holds nearly all the margin: the
    platform refuses the debit (more than the free margin)."""
    _, live = funded(client, finance, admin)
    take_profit(live)  # +2,880.00
    payout = payouts.request_payout(client, live.participation_id)
    orders.place_order(
        accounts.account_by_login(live.login), symbol="EURUSD", side="buy", volume="92.00"
    )
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.approve(request.pk, actor=admin)
    carry_out_platform_commands()
    command = PlatformCommand.objects.get(key=f"balance:payout:{payout.pk}")
    assert command.status == "failed", command.error
    assert "free margin" in command.error
    payout.refresh_from_db()
    assert payout.status == "approved"
    return live, payout, command


def test_a_cancelled_balance_operation_cancels_its_payout_and_the_trader_may_ask_again(
    active_client, finance, admin
):
    live, payout, command = _approved_and_refused(active_client, finance, admin)
    commands.cancel(command.pk, actor=admin)
    payout.refresh_from_db()
    assert payout.status == "cancelled"
    assert "nothing was paid" in payout.reason
    assert not JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).exists()
    assert accounts.account_by_login(live.login).balance == D("102880.00")
    told = Notification.objects.filter(user=active_client.user, event="payout.failed").first()
    assert told is not None
    assert told.title == "Your payout of 2,304.00 USD was not made"
    assert payout.reference in told.body
    # The profit is still on the account and unpaid: the trader may ask for it again.
    live.refresh_from_db()
    assert payouts.refusal(live) == ""
    found = payouts.check(live, payouts.Account(0, ()))
    assert (found.profit, found.trader_share) == (D("2880.00"), D("2304.00"))
    assert found.eligible


def test_a_retried_balance_operation_pays_its_payout_once(active_client, finance, admin):
    live, payout, command = _approved_and_refused(active_client, finance, admin)
    account = accounts.account_by_login(live.login)
    held = account.positions.get(closed_at__isnull=True)
    orders.close_position(account, held.pk)  # the cause put right: the margin is free
    commands.retry_now(command.pk, actor=admin)
    carry_out_platform_commands()
    payout.refresh_from_db()
    assert payout.status == "paid"
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROFIT_SHARE).count() == 1


def test_a_command_done_on_the_platform_but_not_recorded_cannot_be_cancelled(
    active_client, finance, admin
):
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.approve(request.pk, actor=admin)

    def refuse(command, credentials):
        raise ValueError("the wallet is away")

    outbox.on_done(payouts.TAKEN, refuse)
    try:
        carry_out_platform_commands()
    finally:
        outbox.on_done(payouts.TAKEN, payouts.taken)
    command = PlatformCommand.objects.get(key=f"balance:payout:{payout.pk}")
    assert command.status == "failed"
    assert accounts.account_by_login(live.login).balance == D("100000.00")  # taken off
    with pytest.raises(Conflict, match="retry it"):
        commands.cancel(command.pk, actor=admin)
    payout.refresh_from_db()
    assert payout.status == "approved"
    commands.retry_now(command.pk, actor=admin)
    carry_out_platform_commands()
    payout.refresh_from_db()
    assert payout.status == "paid"
    assert accounts.account_by_login(live.login).balance == D("100000.00")  # once
