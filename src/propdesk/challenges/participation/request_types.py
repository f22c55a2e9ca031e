"""Prop trading's request types in the approval engine."""

from __future__ import annotations

from propdesk.approvals import registry
from propdesk.approvals.registry import Method, RequestType
from propdesk.challenges.participation import lifecycle
from propdesk.challenges.participation import services as participation
from propdesk.challenges.permissions import PARTICIPATIONS_REVIEW

registry.register(
    RequestType(
        key=participation.PARTICIPATION,
        label="Prop Trading Participation",
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

registry.register(
    RequestType(
        key=lifecycle.STAGE_PROGRESSION,
        label="Prop Trading Next Stage",
        review_permission=PARTICIPATIONS_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
        on_approve=lifecycle.open_requested_stage,
        on_reject=lifecycle.refuse_requested_stage,
        details=lifecycle.requested_stage_details,
        order=61,
        description="A stage passed under approved progression: approval opens the next one.",
    )
)

registry.register(
    RequestType(
        key=lifecycle.LIVE_STEP,
        label="Prop Trading Live Step",
        review_permission=PARTICIPATIONS_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.MANUAL,),
        on_approve=lifecycle.open_requested_stage,
        on_reject=lifecycle.refuse_requested_stage,
        details=lifecycle.requested_stage_details,
        order=62,
        description="A trader reached a live stage: approval issues live credentials, "
        "rejection fails the challenge.",
    )
)
