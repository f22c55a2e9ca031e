"""Fakes of KYC vendors' documented APIs: small HTTP servers that import no Django."""
