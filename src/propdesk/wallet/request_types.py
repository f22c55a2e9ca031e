"""The wallet's request types in the approval engine."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from propdesk.approvals import registry
from propdesk.approvals.registry import Amend, Method, RequestType
from propdesk.core import references
from propdesk.wallet import deposits, disputes, withdrawals
from propdesk.wallet.permissions import DEPOSITS_REVIEW, PAYMENTS_REFUND, WITHDRAWALS_REVIEW

registry.register(
    RequestType(
        key=deposits.DEPOSIT,
        label=gettext_noop("Deposit"),
        review_permission=DEPOSITS_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.AUTOMATIC, Method.MANUAL, Method.PARTIAL),
        amend=Amend.ANY,
        amend_label="Amount to credit",
        amend_help="Change it if what arrived differs from what was requested.",
        on_approve=deposits.credit,
        on_reject=deposits.refuse,
        details=deposits.details,
        event="deposit",
        event_data=deposits.event_data,
        decision_fields=deposits.decision_fields,
        take_inputs=deposits.take_bank_reference,
        decision_initial=deposits.decision_initial,
        order=40,
        reference_kind=references.DEPOSIT,
        reference_id="payload.deposit_id",
        description="A client's deposit into the wallet; offline ones are always checked by hand.",
    )
)

registry.register(
    RequestType(
        key=withdrawals.WITHDRAWAL,
        label=gettext_noop("Withdrawal"),
        review_permission=WITHDRAWALS_REVIEW,
        default_method=Method.MANUAL,
        allowed_methods=(Method.MANUAL,),
        amend=Amend.DOWN,
        amend_label="Amount to pay out",
        amend_help="Pay out less than was asked and the rest goes back to the client's wallet; "
        "never more.",
        amend_ceiling=withdrawals.held,
        on_approve=withdrawals.pay_out,
        on_reject=withdrawals.release,
        details=withdrawals.details,
        # Where to pay (a bank account and its holder, a wallet address) is personal data:
        # only those who may pay withdrawals out see it.
        details_are_private=True,
        event="withdrawal",
        event_data=withdrawals.event_data,
        order=50,
        reference_kind=references.WITHDRAWAL,
        reference_id="payload.withdrawal_id",
        description="A client's withdrawal; always approved by a person.",
    )
)

registry.register(
    RequestType(
        key=disputes.PAYMENT_DISPUTE,
        label=gettext_noop("Payment dispute"),
        review_permission=PAYMENTS_REFUND,
        default_method=Method.MANUAL,
        allowed_methods=(Method.MANUAL,),
        details=disputes.details,
        details_are_private=True,
        order=55,
        description="A chargeback the payer opened at their bank: what could be frozen is "
        "held until the provider decides; staff answer it at the provider.",
    )
)
