"""The wallet's request types in the approval engine."""

from __future__ import annotations

from propdesk.accounts import permissions
from propdesk.approvals import registry
from propdesk.approvals.registry import Method, RequestType
from propdesk.wallet import deposits

DEPOSITS_REVIEW = permissions.register("deposits.review", "Approve or reject deposits")

registry.register(
    RequestType(
        key=deposits.DEPOSIT,
        label="Deposit",
        review_permission=DEPOSITS_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL, Method.PARTIAL),
        on_approve=deposits.credit,
        on_reject=deposits.refuse,
        details=deposits.details,
        order=40,
        description="A client's deposit into the wallet; offline ones are always checked by hand.",
    )
)
