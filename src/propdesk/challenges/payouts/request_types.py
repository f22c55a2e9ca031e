"""The payout's request type in the approval engine."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from propdesk.approvals import registry
from propdesk.approvals.registry import Method, RequestType
from propdesk.challenges.payouts import review
from propdesk.challenges.payouts import services as payouts
from propdesk.challenges.permissions import PAYOUTS_REVIEW
from propdesk.core import references

registry.register(
    RequestType(
        key=payouts.PAYOUT,
        label=gettext_noop("Prop Trading Payout"),
        review_permission=PAYOUTS_REVIEW,
        default_method=Method.MANUAL,
        # Partial: automatic below a threshold of the trader's share.
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL, Method.PARTIAL),
        on_approve=payouts.approve,
        on_reject=payouts.reject,
        details=review.details,
        event="payout",
        event_data=payouts.event_data,
        review_template="challenges/_review_payout.html",
        review_context=review.context,
        order=63,
        reference_kind=references.PAYOUT,
        reference_id="payload.payout_id",
        description="A funded trader asks for their share of the profit: approval takes the "
        "profit off the trading account and credits the share to the wallet as Profit Share.",
    )
)
