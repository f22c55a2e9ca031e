"""Email verification at registration: the link sets the time once, a tampered or expired one
is refused, and a firm that requires it keeps unverified clients out (portal and API) with a
way to get the link again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.accounts import recovery
from propdesk.accounts import services as accounts
from propdesk.accounts.models import User
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from tests.accounts.factories import emails_to, link_in_email
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db(transaction=True)  # the worker sends committed jobs


@pytest.fixture
def newcomer(register, set_method, run_jobs) -> User:
    """A client just registered (approved automatically), whose verification email went out."""
    set_method("trader_registration", "automatic")
    client, _ = register()
    run_jobs()
    return client.user


def verified_at(user: User):
    return User.objects.get(pk=user.pk).email_verified_at


def test_registration_emails_a_link_that_verifies_once(newcomer):
    assert verified_at(newcomer) is None
    link = link_in_email(newcomer.email, "/login/verify/")
    first = HttpClient().get(link)
    assert first.status_code == 200
    assert b"is verified" in first.content
    when = verified_at(newcomer)
    assert when is not None
    again = HttpClient().get(link)
    assert again.status_code == 200
    assert b"verified already" in again.content
    assert verified_at(newcomer) == when
    assert AuditRecord.objects.filter(action=AuditAction.EMAIL_VERIFY).count() == 1


def test_a_tampered_link_is_refused(newcomer):
    link = link_in_email(newcomer.email, "/login/verify/")
    token = link.removeprefix("/login/verify/").rstrip("/")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert HttpClient().get(f"/login/verify/{tampered}/").status_code == 400
    assert verified_at(newcomer) is None


def test_a_link_for_a_changed_email_is_refused(newcomer):
    link = link_in_email(newcomer.email, "/login/verify/")
    User.objects.filter(pk=newcomer.pk).update(email="moved@example.com")
    assert HttpClient().get(link).status_code == 400


def test_an_expired_link_is_refused(newcomer, settings, monkeypatch):
    link = link_in_email(newcomer.email, "/login/verify/")
    later = timezone.now() + timedelta(days=settings.EMAIL_VERIFICATION_DAYS, seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = HttpClient().get(link)
    assert response.status_code == 400
    assert b"expired" in response.content
    monkeypatch.undo()
    assert verified_at(newcomer) is None


def test_unverified_clients_see_a_banner_when_it_is_not_required(newcomer):
    http = logged_in(newcomer)
    assert b"verify-email-banner" in http.get("/portal/").content
    User.objects.filter(pk=newcomer.pk).update(email_verified_at=timezone.now())
    assert b"verify-email-banner" not in http.get("/portal/").content


def test_required_verification_blocks_login_and_the_link_can_be_sent_again(
    newcomer, settings, run_jobs
):
    settings.PROPDESK_REQUIRE_EMAIL_VERIFICATION = True
    http = HttpClient()
    refused = http.post("/login/", {"email": newcomer.email, "password": PASSWORD})
    assert refused.status_code == 403
    assert b"verify your email" in refused.content
    assert b'id="verification-again"' in refused.content
    token = Api().call("POST", "/auth/token", {"email": newcomer.email, "password": PASSWORD})
    assert token.status_code == 403
    assert token.json()["code"] == "email_not_verified"

    before = len(emails_to(newcomer.email))
    sent = http.post("/login/verify/again/", {"email": newcomer.email})
    assert sent.status_code == 302
    assert sent["Location"] == "/login/verify/sent/"
    run_jobs()
    assert len(emails_to(newcomer.email)) == before + 1
    HttpClient().get(link_in_email(newcomer.email, "/login/verify/"))
    assert http.post("/login/", {"email": newcomer.email, "password": PASSWORD}).status_code == 302


def test_an_api_token_stops_working_once_verification_is_required(newcomer, settings):
    api = Api()
    token = api.token(newcomer.email, PASSWORD)
    settings.PROPDESK_REQUIRE_EMAIL_VERIFICATION = True
    assert api.call("GET", "/me", token=token).status_code == 401


def test_sending_the_link_again_is_throttled_and_tells_nothing(newcomer, settings, run_jobs):
    settings.RECOVERY_MAX_PER_EMAIL = 2
    http = HttpClient()
    before = len(emails_to(newcomer.email))
    for _ in range(2):
        assert http.post("/login/verify/again/", {"email": newcomer.email}).status_code == 302
    assert http.post("/login/verify/again/", {"email": newcomer.email}).status_code == 429
    unknown = http.post("/login/verify/again/", {"email": "ghost@example.com"})
    assert unknown.status_code == 302
    assert unknown["Location"] == "/login/verify/sent/"
    run_jobs()
    assert len(emails_to(newcomer.email)) == before + 2
    assert emails_to("ghost@example.com") == []
    # Logging in is untouched by the asks.
    assert accounts.authenticate(email=newcomer.email, password=PASSWORD, ip=None)


def test_verified_clients_and_staff_get_no_new_link(compliance, run_jobs):
    recovery.resend_verification(email=compliance.email, ip=None)
    run_jobs()
    assert emails_to(compliance.email) == []


def test_a_password_reset_link_proves_the_email_too(newcomer, run_jobs):
    recovery.request_password_reset(email=newcomer.email, ip=None)
    run_jobs()
    http = HttpClient()
    opened = http.get(link_in_email(newcomer.email, "/login/reset/"))
    new = "another-long-passphrase-3"
    http.post(opened["Location"], {"new_password": new, "new_password2": new})
    assert verified_at(newcomer) is not None
