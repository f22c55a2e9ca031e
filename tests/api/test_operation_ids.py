"""The OpenAPI operation ids that clients generate code from: readable, unique, and stable (a
change here breaks every firm's generated client, so it is a deliberate edit of this list)."""

import re

from propdesk.api import api

PUBLISHED = {
    ("post", "/api/v1/auth/register"): "registerClient",
    ("post", "/api/v1/auth/token"): "createToken",
    ("delete", "/api/v1/auth/token"): "revokeToken",
    ("get", "/api/v1/me"): "getMe",
    ("patch", "/api/v1/me"): "updateMe",
    ("get", "/api/v1/me/referrals"): "listMyReferrals",
    ("get", "/api/v1/approvals"): "listApprovalRequests",
    ("get", "/api/v1/approvals/counts"): "countApprovalRequests",
    ("get", "/api/v1/approvals/{request_id}"): "getApprovalRequest",
    ("post", "/api/v1/approvals/{request_id}/approve"): "approveRequest",
    ("post", "/api/v1/approvals/{request_id}/reject"): "rejectRequest",
    ("post", "/api/v1/approvals/{request_id}/notes"): "addApprovalNote",
    ("get", "/api/v1/settings/approval-methods"): "listApprovalMethods",
    ("get", "/api/v1/settings/approval-methods/{type_key}"): "getApprovalMethod",
    ("put", "/api/v1/settings/approval-methods/{type_key}"): "setApprovalMethod",
    ("get", "/api/v1/kyc/forms"): "listKycForms",
    ("post", "/api/v1/kyc"): "submitKyc",
    ("get", "/api/v1/kyc"): "getKycStatus",
    ("get", "/api/v1/wallet"): "getWallet",
    ("get", "/api/v1/wallet/transactions"): "listWalletTransactions",
    ("post", "/api/v1/wallet/deposits"): "requestDeposit",
    ("post", "/api/v1/wallet/withdrawals"): "requestWithdrawal",
    ("get", "/api/v1/wallet/withdrawals"): "listWithdrawals",
    ("get", "/api/v1/wallet/withdrawals/{withdrawal_id}"): "getWithdrawal",
    ("post", "/api/v1/wallets/{client_id}/adjustments"): "adjustWallet",
    ("get", "/api/v1/payment-methods"): "listPaymentMethods",
    ("get", "/api/v1/reports/transactions"): "reportTransactions",
    ("get", "/api/v1/reports/prop-dashboard"): "reportPropDashboard",
    ("post", "/api/v1/sandbox/token"): "sandboxCreateToken",
    ("delete", "/api/v1/sandbox/token"): "sandboxRevokeToken",
    ("get", "/api/v1/sandbox/account"): "sandboxGetAccount",
    ("get", "/api/v1/sandbox/quotes"): "sandboxListQuotes",
    ("post", "/api/v1/sandbox/orders"): "sandboxPlaceOrder",
    ("get", "/api/v1/sandbox/positions"): "sandboxListPositions",
    ("post", "/api/v1/sandbox/positions/{position_id}/close"): "sandboxClosePosition",
    ("get", "/api/v1/sandbox/deals"): "sandboxListDeals",
    ("get", "/api/v1/sandbox/events"): "sandboxListEvents",
    ("post", "/api/v1/challenges"): "createChallenge",
    ("get", "/api/v1/challenges"): "listChallenges",
    ("put", "/api/v1/challenges/{challenge_id}/draft"): "saveChallengeDraft",
    ("post", "/api/v1/challenges/{challenge_id}/publish"): "publishChallenge",
    ("post", "/api/v1/challenges/{challenge_id}/end"): "endChallenge",
    ("post", "/api/v1/challenges/{challenge_id}/duplicate"): "duplicateChallenge",
    ("get", "/api/v1/challenges/{challenge_id}"): "getChallenge",
    ("post", "/api/v1/challenges/{challenge_id}/participations"): "joinChallenge",
    ("get", "/api/v1/challenges/{challenge_id}/quote"): "quoteChallenge",
    ("get", "/api/v1/participations"): "listParticipations",
    ("get", "/api/v1/participations/{participation_id}"): "getParticipation",
    ("post", "/api/v1/participations/{participation_id}/retry"): "retryParticipation",
    ("post", "/api/v1/participations/{participation_id}/reset"): "resetParticipation",
    ("get", "/api/v1/participations/{participation_id}/payouts"): "listPayouts",
    ("post", "/api/v1/participations/{participation_id}/payouts"): "requestPayout",
    ("get", "/api/v1/participants"): "listParticipants",
}


def _operations() -> dict[tuple[str, str], str]:
    paths = api.get_openapi_schema()["paths"]
    return {(m, p): op["operationId"] for p, ops in paths.items() for m, op in ops.items()}


def test_every_operation_keeps_its_published_readable_id():
    assert _operations() == PUBLISHED


def test_operation_ids_are_unique_camel_case_words():
    ids = list(_operations().values())
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
