"""Prop trading's request types in the approval engine."""

from __future__ import annotations

from propdesk.accounts import permissions
from propdesk.approvals import registry
from propdesk.approvals.registry import Method, RequestType
from propdesk.challenges import participation

PARTICIPATIONS_REVIEW = permissions.register(
    "participations.review", "Approve or reject challenge participations"
)

registry.register(
    RequestType(
        key=participation.PARTICIPATION,
        label="Challenge participation",
        review_permission=PARTICIPATIONS_REVIEW,
        default_method=Method.AUTOMATIC,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
        on_approve=participation.approve,
        on_reject=participation.reject,
        details=participation.details,
        order=60,
        description="A client starts a challenge; approval opens the first stage's account, "
        "rejection refunds the fee.",
    )
)
