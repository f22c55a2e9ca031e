"""The demo's SumSub: the fake SumSub runs beside the site (port 8030) and Settings > KYC vendor
points at it, enabled, so that a demo client can "Verify with SumSub" (docs/kyc-vendors.md)."""

from __future__ import annotations

from propdesk.accounts.models import User
from propdesk.onboarding import vendor_kyc
from propdesk.onboarding.vendors.fakes.sumsub import (
    DEFAULT_APP_TOKEN,
    DEFAULT_LEVEL,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
)
from propdesk.processes import propdesk_argv

PORT = 8030


def url_for(port: int = PORT, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}"


def set_up(url: str, admin_email: str) -> None:
    """SumSub enabled on the fake (again when the demo starts with the fake elsewhere)."""
    admin = User.objects.filter(email=admin_email).first()
    row = vendor_kyc.settings_row()
    if admin is None or (row.enabled and row.base_url == url):
        return
    vendor_kyc.save_settings(
        actor=admin,
        enabled=True,
        base_url=url,
        level_name=DEFAULT_LEVEL,
        on_green=row.on_green,
        secrets={
            "app_token": DEFAULT_APP_TOKEN,
            "secret_key": DEFAULT_SECRET_KEY,
            "webhook_secret": DEFAULT_WEBHOOK_SECRET,
        },
    )


def process(port: int, site_url: str) -> list[str]:
    return propdesk_argv(
        "fake-vendor",
        "sumsub",
        "--port",
        str(port),
        "--webhook-url",
        f"{site_url}/webhooks/kyc/sumsub/",
    )


def banner(url: str) -> list[str]:
    return [
        f"  fake SumSub at {url} (Settings > KYC > KYC vendor): a client's Identity page offers",
        "    Verify with SumSub; on the fake's page, submit, then its reviewer answers GREEN or",
        f"    RED. Its webhooks: curl {url}/_fake/webhooks   (docs/kyc-vendors.md)",
    ]
