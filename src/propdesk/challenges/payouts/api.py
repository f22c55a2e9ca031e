"""A funded trader's payouts over the API: where the next one stands (each condition with its
figure) and asking for one (Idempotency-Key honoured)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Header, Router, Schema, Status

from propdesk.accounts.api_auth import current_client
from propdesk.challenges.models import Payout
from propdesk.challenges.payouts import services as payouts
from propdesk.core.schema import DecimalString, Money, OneOf

payouts_router = Router(tags=["payouts"])


class ConditionOut(Schema):
    key: str
    label: str
    met: bool | None  # null: it could not be checked right now (the platform did not answer)
    figure: str


class EligibilityOut(Schema):
    """Money as exact decimal strings in the challenge's currency; instants ISO 8601."""

    eligible: bool
    next_date: datetime
    period_start: datetime
    profit: Money
    share_pct: DecimalString
    trader_share: Money
    firm_share: Money
    currency: str
    conditions: list[ConditionOut]


class PayoutOut(Schema):
    reference: str
    status: Annotated[str, OneOf(Payout.Status.values)]
    currency: str
    profit: Money
    share_pct: DecimalString
    trader_share: Money
    requested_at: datetime
    decided_at: datetime | None
    paid_at: datetime | None
    reason: str  # why it was rejected or cancelled ("" otherwise)


class PayoutsOut(Schema):
    """`refused`: why no payout can be asked for on this participation at all ("" when one
    can); `eligibility` is null then when the stage is not a live one, or one the firm is
    checking (its figures cannot be measured)."""

    refused: str
    eligibility: EligibilityOut | None
    payouts: list[PayoutOut]


def _out(payout: Payout) -> PayoutOut:
    return PayoutOut(
        reference=payout.reference,
        status=payout.status,
        currency=payout.currency,
        profit=payout.profit,
        share_pct=payout.share_pct,
        trader_share=payout.trader_share,
        requested_at=payout.requested_at,
        decided_at=payout.decided_at,
        paid_at=payout.paid_at,
        reason=payout.reason,
    )


@payouts_router.get(
    "/{participation_id}/payouts",
    response=PayoutsOut,
    summary="My payouts of a funded challenge, and whether I may ask for one now",
)
def my_payouts(request: HttpRequest, participation_id: str) -> PayoutsOut:
    client = current_client(request)
    attempt = payouts.live_stage(client, participation_id)
    found = None
    if payouts.measured(attempt):
        found = payouts.check(attempt, payouts.read_account(attempt)).to_json()
    return PayoutsOut(
        refused=payouts.refusal(attempt),
        eligibility=None if found is None else EligibilityOut(**found),
        payouts=[_out(p) for p in payouts.for_participation(client, participation_id)],
    )


@payouts_router.post(
    "/{participation_id}/payouts",
    response={201: PayoutOut},
    summary="Ask for a payout of the profit so far (Idempotency-Key honoured)",
    description="Refused with 409 `payout_not_eligible` and the `eligibility` (each condition "
    "with its figure) while a condition of the challenge's payout schedule is not met. The "
    "request is a Prop Trading Payout in *Approvals*.",
)
def request_payout(
    request: HttpRequest,
    participation_id: str,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status:
    client = current_client(request)
    made = payouts.request_payout(client, participation_id, idempotency_key=idempotency_key)
    return Status(201, _out(made))
