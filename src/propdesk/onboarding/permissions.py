"""The staff permissions of onboarding: reviewing registrations and identity (KYC)."""

from __future__ import annotations

from propdesk.core.permissions import register

KYC_REVIEW = register("kyc.review", "Review identity (KYC) submissions and their documents")
REGISTRATIONS_REVIEW = register(
    "registrations.review", "Approve or reject trader and IB registrations"
)
