"""Prop trading's request types in the approval engine."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from propdesk.approvals import registry
from propdesk.approvals.registry import Method, RequestType
from propdesk.challenges.participation import evidence, lifecycle
from propdesk.challenges.participation import services as participation
from propdesk.challenges.permissions import PARTICIPATIONS_REVIEW
from propdesk.core import references

registry.register(
    RequestType(
        key=participation.PARTICIPATION,
        label=gettext_noop("Prop Trading Participation"),
        review_permission=PARTICIPATIONS_REVIEW,
        default_method=Method.AUTOMATIC,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
        on_approve=participation.approve,
        on_reject=participation.reject,
        details=participation.details,
        # Its approval tells the client nothing yet: `participation.approved` is raised when
        # the first stage's account is open (its credentials ready); a rejection is told.
        event="participation",
        event_on_approval=False,
        event_data=participation.event_data,
        review_template="challenges/_review_fee.html",
        review_context=evidence.fee_context,
        order=60,
        reference_kind=references.PARTICIPATION,
        reference_id="payload.participation_id",
        description="A client starts a challenge; approval opens the first stage's account, "
        "rejection refunds the fee.",
    )
)

registry.register(
    RequestType(
        key=lifecycle.STAGE_PROGRESSION,
        event_data=lifecycle.requested_stage_data,
        submitted_by_client=False,  # the monitor asks, when the stage is passed
        label=gettext_noop("Prop Trading Next Stage"),
        review_permission=PARTICIPATIONS_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
        on_approve=lifecycle.open_requested_stage,
        on_reject=lifecycle.refuse_requested_stage,
        details=lifecycle.requested_stage_details,
        review_template="challenges/_review_stage.html",
        review_context=evidence.stage_request_context,
        order=61,
        reference_kind=references.STAGE_REQUEST,
        description="A stage passed under approved progression: approval opens the next one.",
    )
)

registry.register(
    RequestType(
        key=lifecycle.LIVE_STEP,
        event="live_step",
        event_data=lifecycle.requested_stage_data,
        submitted_by_client=False,  # the monitor asks, when the stage is passed
        label=gettext_noop("Prop Trading Live Step"),
        review_permission=PARTICIPATIONS_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.MANUAL,),
        on_approve=lifecycle.open_requested_stage,
        on_reject=lifecycle.refuse_requested_stage,
        details=lifecycle.requested_stage_details,
        review_template="challenges/_review_stage.html",
        review_context=evidence.stage_request_context,
        order=62,
        reference_kind=references.LIVE_STEP,
        description="A trader reached a live stage: approval issues live credentials, "
        "rejection fails the challenge.",
    )
)
