"""What becomes of an approved payout is a catalogue event: `payout.paid` once the platform
took the profit off and the share is in the wallet, `payout.failed` when the balance operation
was given up. Each is raised once, in the transaction that recorded it, to the portal, the
email and the webhooks."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.payouts import services as payouts
from propdesk.notifications.models import Notification, WebhookMessage
from propdesk.platforms import commands
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts, orders
from tests.challenges.factories import funded, take_profit
from tests.notifications.factories import make_endpoint
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db


def _told(client, key):
    return list(Notification.objects.filter(user=client.user, event=key).order_by("id"))


def _approve(payout, admin):
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=payout.pk)
    approvals.approve(request.pk, actor=admin)


def test_a_paid_payout_is_the_payout_paid_event_once_with_the_share_and_the_profit(
    active_client, finance, admin
):
    make_endpoint(admin, "https://hooks.example.com/in", ["payout.paid"])
    _, live = funded(active_client, finance, admin)
    take_profit(live)  # +2,880.00: 80% is 2,304.00
    payout = payouts.request_payout(active_client, live.participation_id)
    _approve(payout, admin)
    carry_out_platform_commands()
    carry_out_platform_commands()  # carried out again: nothing is told twice
    [note] = _told(active_client, "payout.paid")
    assert note.title == "Your payout of 2,304.00 USD was paid"
    assert f"(reference {payout.reference}) was paid" in note.body
    assert "your share of 2,880.00 USD profit" in note.body
    assert note.level == "success"
    [message] = WebhookMessage.objects.filter(event_type="payout.paid")
    data = message.payload["data"]
    assert data["reference"] == payout.reference
    assert (data["amount"], data["profit"]) == ("2304.00", "2880.00")
    assert DBTaskResult.objects.filter(
        task_path__endswith="send_email", args_kwargs__args__1=note.title
    ).exists()


def test_a_payout_whose_balance_operation_was_cancelled_is_the_payout_failed_event(
    active_client, finance, admin
):
    make_endpoint(admin, "https://hooks.example.com/in", ["payout.failed"])
    _, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = payouts.request_payout(active_client, live.participation_id)
    # A position holds nearly all the margin: the platform refuses the debit.
    orders.place_order(
        accounts.account_by_login(live.login), symbol="EURUSD", side="buy", volume="92.00"
    )
    _approve(payout, admin)
    carry_out_platform_commands()
    command = PlatformCommand.objects.get(key=f"balance:payout:{payout.pk}")
    assert command.status == "failed"
    commands.cancel(command.pk, actor=admin)
    [note] = _told(active_client, "payout.failed")
    assert note.title == "Your payout of 2,304.00 USD was not made"
    assert "nothing was paid" in note.body
    assert note.level == "warning"
    assert not _told(active_client, "payout.paid")
    assert WebhookMessage.objects.filter(event_type="payout.failed").count() == 1


def test_the_payout_events_are_in_the_catalogue_with_samples_for_every_placeholder():
    from propdesk.notifications import events

    for key in ("payout.paid", "payout.failed"):
        subject = events.fill(str(events.spec(key).subject), events.sample(key))
        body = events.fill(str(events.spec(key).body), events.sample(key))
        assert "{{" not in subject + body
        events.check_template(key, str(events.spec(key).subject), str(events.spec(key).body))
