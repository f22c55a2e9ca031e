"""A fake of SumSub's documented API and webhooks (no Django: it plays the vendor)."""

from propdesk.onboarding.vendors.fakes.sumsub.server import (
    DEFAULT_APP_TOKEN,
    DEFAULT_LEVEL,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    FakeSumsub,
    digest,
    sign_request,
)

__all__ = [
    "DEFAULT_APP_TOKEN",
    "DEFAULT_LEVEL",
    "DEFAULT_SECRET_KEY",
    "DEFAULT_WEBHOOK_SECRET",
    "FakeSumsub",
    "digest",
    "sign_request",
]
