"""Onboarding's API: registration (/auth/register) and the client's KYC (/kyc)."""
