"""The wallet's staff permissions: seeing and adjusting wallets, reviewing deposits and
withdrawals."""

from __future__ import annotations

from propdesk.core.permissions import register

WALLET_VIEW = register("wallet.view", "See clients' wallets and ledger entries")
WALLET_ADJUST = register("wallet.adjust", "Credit or debit a client's wallet by hand")
DEPOSITS_REVIEW = register("deposits.review", "Approve or reject deposits")
WITHDRAWALS_REVIEW = register("withdrawals.review", "Approve (pay out) or reject withdrawals")
PAYMENTS_VIEW = register("payments.view", "See online payments, their provider messages")
PAYMENTS_REFUND = register("payments.refund", "Refund an online payment to the payer")
