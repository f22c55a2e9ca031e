"""Settings > KYC vendor: only staff who manage settings; the keys are sealed, never shown
again, and audited as changed without their value; Test connection asks the fake; the portal
offers SumSub only when it is enabled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client as HttpClient

from propdesk.core.models import AuditRecord
from propdesk.onboarding import vendor_kyc
from propdesk.onboarding.models import KycVendorSettings
from propdesk.onboarding.vendors.fakes.sumsub import (
    DEFAULT_APP_TOKEN,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    FakeSumsub,
)
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake() -> Iterator[FakeSumsub]:
    with FakeSumsub() as running:
        yield running


def form(fake: FakeSumsub, **overrides: str) -> dict[str, str]:
    return {
        "enabled": "on",
        "base_url": fake.url,
        "level_name": "basic-kyc-level",
        "app_token": DEFAULT_APP_TOKEN,
        "secret_key": DEFAULT_SECRET_KEY,
        "webhook_secret": DEFAULT_WEBHOOK_SECRET,
        "on_green": "approve",
        **overrides,
    }


def test_keys_are_sealed_never_shown_and_audited_without_their_value(admin, fake):
    http = logged_in(admin)
    response = post_form(http, "/backoffice/settings/kyc/vendor/", form(fake))
    assert response.status_code == 302
    row = KycVendorSettings.objects.get()
    assert row.enabled
    assert row.on_green == "approve"
    assert DEFAULT_SECRET_KEY not in row.sealed_secret_key
    page = http.get("/backoffice/settings/kyc/vendor/").content.decode()
    assert DEFAULT_SECRET_KEY not in page
    assert DEFAULT_APP_TOKEN not in page
    assert "/webhooks/kyc/sumsub/" in page
    record = AuditRecord.objects.filter(object_type="kyc_vendor").latest("id")
    assert record.after["secret_key"] == "changed"
    assert DEFAULT_SECRET_KEY not in str(record.before) + str(record.after)
    # An empty key keeps the one stored.
    post_form(http, "/backoffice/settings/kyc/vendor/", form(fake, secret_key="", app_token=""))
    assert vendor_kyc.adapter().secret_key == DEFAULT_SECRET_KEY


def test_test_connection_says_what_sumsub_answered(admin, fake):
    http = logged_in(admin)
    post_form(http, "/backoffice/settings/kyc/vendor/", form(fake))
    response = post_form(http, "/backoffice/settings/kyc/vendor/", {"action": "test"})
    page = http.get(response["Location"]).content.decode()
    assert "accepted the app token" in page
    post_form(http, "/backoffice/settings/kyc/vendor/", form(fake, secret_key="wrong"))
    response = post_form(http, "/backoffice/settings/kyc/vendor/", {"action": "test"})
    page = http.get(response["Location"]).content.decode()
    assert "Test connection failed" in page
    assert "signature mismatch" in page


def test_bad_settings_are_refused_and_change_nothing(admin, fake):
    http = logged_in(admin)
    response = post_form(
        http, "/backoffice/settings/kyc/vendor/", form(fake, base_url="ftp://x", app_token="")
    )
    assert response.status_code == 422
    assert not KycVendorSettings.objects.filter(enabled=True).exists()
    response = post_form(http, "/backoffice/settings/kyc/vendor/", form(fake, on_green="maybe"))
    assert response.status_code == 422


def test_staff_without_the_settings_permission_cannot_open_the_page(compliance, support, fake):
    for user in (compliance, support):
        assert logged_in(user).get("/backoffice/settings/kyc/vendor/").status_code == 403
    assert HttpClient().get("/backoffice/settings/kyc/vendor/").status_code == 302


def test_the_portal_offers_sumsub_only_when_enabled(admin, active_client, fake):
    http = logged_in(active_client.user)
    assert "verify-with-sumsub" not in http.get("/portal/kyc/").content.decode()
    post_form(logged_in(admin), "/backoffice/settings/kyc/vendor/", form(fake))
    assert "verify-with-sumsub" in http.get("/portal/kyc/").content.decode()
    response = post_form(http, "/portal/kyc/vendor/", {})
    assert response.status_code == 200
    assert f'href="{fake.url}/websdk/p/' in response.content.decode()


def test_the_portal_says_so_when_sumsub_is_down(admin, active_client, fake):
    post_form(logged_in(admin), "/backoffice/settings/kyc/vendor/", form(fake))
    fake.down = True
    http = logged_in(active_client.user)
    response = post_form(http, "/portal/kyc/vendor/", {})
    assert response["Location"] == "/portal/kyc/"
    assert "cannot be reached" in http.get("/portal/kyc/").content.decode()


def test_a_webhook_before_sumsub_is_set_up_is_refused(db):
    response = HttpClient().post(
        "/webhooks/kyc/sumsub/", data=b"{}", content_type="application/json"
    )
    assert response.status_code == 400


def test_the_demo_enables_sumsub_on_its_fake_once(admin, fake):
    from propdesk import demo_sumsub

    demo_sumsub.set_up(fake.url, admin.email)
    demo_sumsub.set_up(fake.url, admin.email)
    row = KycVendorSettings.objects.get()
    assert row.enabled
    assert row.base_url == fake.url
    assert AuditRecord.objects.filter(object_type="kyc_vendor").count() == 1
    assert vendor_kyc.test_connection(actor=admin).startswith("SumSub accepted")
