"""IB commission's request type in the approval engine (a periodic settlement's payment)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from propdesk.approvals import registry
from propdesk.approvals.registry import Method, RequestType
from propdesk.challenges.growth import settlement
from propdesk.challenges.growth.commission import COMMISSION_REVIEW

registry.register(
    RequestType(
        key=settlement.IB_COMMISSION,
        submitted_by_client=False,  # staff (or the CLI) settle a period
        label=gettext_noop("IB Commission"),
        review_permission=COMMISSION_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
        on_approve=settlement.approve,
        on_reject=settlement.reject,
        details=settlement.details,
        event_data=settlement.event_data,
        order=65,
        description="An IB's commission collected over a period: approval pays it into their "
        "wallet, rejection returns it to be settled later.",
    )
)
