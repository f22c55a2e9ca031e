"""Password reset by email: the link works once and expires, asking reveals nothing about
whether an account exists, asks are throttled without touching logins, and a reset ends every
session and API token but never the second factor."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.accounts import recovery
from propdesk.accounts import services as accounts
from propdesk.accounts.models import ApiToken, User
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from tests.accounts.factories import emails_to, enrol, link_in_email, next_code
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db(transaction=True)  # the worker sends committed jobs

NEW = "a-brand-new-passphrase-7"
HOME = "198.51.100.20"


def without_csrf_token(page: bytes) -> bytes:
    """A page as any visitor gets it: every browser has its own CSRF token."""
    return re.sub(rb'"X-CSRFToken": "[^"]+"', b"", page)


def ask(http: HttpClient, email: str, ip: str = HOME):
    return http.post("/login/forgot/", {"email": email}, REMOTE_ADDR=ip)


def reset_through_link(http: HttpClient, link: str, password: str = NEW):
    opened = http.get(link)
    assert opened.status_code == 302, opened.content
    return http.post(opened["Location"], {"new_password": password, "new_password2": password})


@pytest.fixture
def client_user(active_client) -> User:
    return active_client.user


def test_the_link_sets_a_new_password_once(client_user, run_jobs):
    http = HttpClient()
    assert ask(http, client_user.email)["Location"] == "/login/forgot/sent/"
    run_jobs()
    link = link_in_email(client_user.email, "/login/reset/")
    done = reset_through_link(http, link)
    assert done.status_code == 302
    assert done["Location"] == "/login/"
    assert accounts.authenticate(email=client_user.email, password=NEW, ip=HOME) == client_user
    assert AuditRecord.objects.filter(action=AuditAction.PASSWORD_RESET, actor=client_user).exists()
    # The same link again: the password hash it was made from is gone.
    again = HttpClient().get(link)
    assert again.status_code == 400
    assert b"not valid" in again.content
    run_jobs()
    assert any("password was changed" in m.subject for m in emails_to(client_user.email))


def test_the_link_expires(client_user, run_jobs, settings, monkeypatch):
    ask(HttpClient(), client_user.email)
    run_jobs()
    link = link_in_email(client_user.email, "/login/reset/")
    real_now = timezone.now
    later = real_now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = HttpClient().get(link)
    assert response.status_code == 400
    assert b"expired" in response.content


def test_an_unknown_email_gets_the_same_answer_and_no_email(client_user, run_jobs):
    known, unknown = HttpClient(), HttpClient()
    a = ask(known, client_user.email)
    b = ask(unknown, "nobody-here@example.com")
    assert (a.status_code, a.content, a["Location"]) == (b.status_code, b.content, b["Location"])
    page_a, page_b = known.get(a["Location"]), unknown.get(b["Location"])
    assert page_a.status_code == page_b.status_code == 200
    assert without_csrf_token(page_a.content) == without_csrf_token(page_b.content)
    run_jobs()
    assert [m.to for m in mail.outbox if "/login/reset/" in m.body] == [[client_user.email]]
    assert emails_to("nobody-here@example.com") == []


@pytest.mark.parametrize("how", ["inactive", "suspended"])
def test_inactive_or_suspended_accounts_get_no_usable_link(how, active_client, admin, run_jobs):
    user = active_client.user
    ask(HttpClient(), user.email)  # asked while they still could
    run_jobs()
    link = link_in_email(user.email, "/login/reset/")
    if how == "inactive":
        User.objects.filter(pk=user.pk).update(is_active=False)
    else:
        accounts.set_client_suspended(active_client.pk, suspended=True, actor=admin, reason="x")
    mail.outbox.clear()
    assert ask(HttpClient(), user.email).status_code == 302
    run_jobs()
    assert not any("/login/reset/" in m.body for m in mail.outbox)  # no new link
    assert HttpClient().get(link).status_code == 400  # and the old one is dead


def test_asks_are_throttled_per_email_but_logins_go_on(client_user, settings, run_jobs):
    settings.RECOVERY_MAX_PER_EMAIL = 3
    http = HttpClient()
    for n in range(3):
        assert ask(http, client_user.email, ip=f"203.0.113.{n}").status_code == 302
    refused = ask(http, client_user.email, ip="203.0.113.99")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # An unknown address is refused alike after as many asks.
    for n in range(3):
        ask(http, "ghost@example.com", ip=f"203.0.113.{n}")
    assert ask(http, "ghost@example.com", ip="203.0.113.99").status_code == 429
    # Logging in is untouched.
    login = HttpClient().post(
        "/login/", {"email": client_user.email, "password": PASSWORD}, REMOTE_ADDR=HOME
    )
    assert login.status_code == 302
    run_jobs()
    assert len([m for m in emails_to(client_user.email) if "/login/reset/" in m.body]) == 3


def test_asks_are_throttled_per_address(client_user, settings):
    settings.RECOVERY_MAX_PER_IP = 2
    http = HttpClient()
    assert ask(http, "a@example.com").status_code == 302
    assert ask(http, "b@example.com").status_code == 302
    assert ask(http, client_user.email).status_code == 429


def test_a_reset_logs_out_every_session_and_revokes_api_tokens(client_user, run_jobs):
    api = Api()
    token = api.token(client_user.email, PASSWORD)
    elsewhere = logged_in(client_user)
    assert elsewhere.get("/portal/").status_code == 200
    ask(HttpClient(), client_user.email)
    run_jobs()
    reset_through_link(HttpClient(), link_in_email(client_user.email, "/login/reset/"))
    assert elsewhere.get("/portal/").status_code == 302  # to the login page
    assert api.call("GET", "/me", token=token).status_code == 401
    assert not ApiToken.objects.filter(user=client_user, revoked_at__isnull=True).exists()


def test_a_reset_does_not_bypass_two_factor_login(compliance, run_jobs):
    enrol(compliance)
    ask(HttpClient(), compliance.email)
    run_jobs()
    reset_through_link(HttpClient(), link_in_email(compliance.email, "/login/reset/"))
    http = HttpClient()
    response = http.post("/login/", {"email": compliance.email, "password": NEW})
    assert response["Location"] == "/login/code/"
    assert http.get("/backoffice/").status_code == 302  # not logged in before the code
    done = http.post("/login/code/", {"code": next_code(compliance)})
    assert done.status_code == 302
    assert done["Location"] == "/backoffice/"


def test_the_new_password_must_pass_the_validators(client_user, run_jobs):
    ask(HttpClient(), client_user.email)
    run_jobs()
    http = HttpClient()
    opened = http.get(link_in_email(client_user.email, "/login/reset/"))
    for bad in ["short", "1234567890123", client_user.email, "x" * 200]:
        response = http.post(opened["Location"], {"new_password": bad, "new_password2": bad})
        assert response.status_code == 422, bad
    mismatch = http.post(opened["Location"], {"new_password": NEW, "new_password2": NEW + "x"})
    assert mismatch.status_code == 422
    assert accounts.authenticate(email=client_user.email, password=PASSWORD, ip=HOME)


@pytest.mark.parametrize(
    "path",
    [
        "/login/reset/xx/yy/",
        "/login/reset/MQ/set-password/",
        "/login/reset/" + "A" * 5000 + "/tok/",
        "/login/reset/OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5/abc-def/",
        "/login/reset/LTE/abc-def/",
        "/login/reset/%F0%9F%92%A5/%00/",
        "/login/verify/garbage/",
        "/login/verify/" + "x" * 5000 + "/",
    ],
)
def test_hostile_links_get_the_invalid_link_page_never_a_500(path, client_user):
    response = HttpClient().get(path)
    assert response.status_code in {400, 404}


def test_a_huge_or_malformed_email_is_a_form_error(db):
    http = HttpClient()
    assert ask(http, "x" * 10_000 + "@example.com").status_code == 422
    assert ask(http, "not an email").status_code == 422
    assert http.post("/login/forgot/", {}).status_code == 422


def test_the_link_is_written_in_the_users_language(client_user, run_jobs):
    User.objects.filter(pk=client_user.pk).update(language="xx")  # unknown: the default
    recovery.request_password_reset(email=client_user.email, ip=None)
    run_jobs()
    assert emails_to(client_user.email)[-1].subject == "Reset your password"


def test_strangers_cannot_use_up_the_owners_asks_from_a_browser_that_logged_in_before(
    client_user, settings, run_jobs
):
    settings.RECOVERY_MAX_PER_EMAIL = 3
    owner = HttpClient()
    login = owner.post(
        "/login/", {"email": client_user.email, "password": PASSWORD}, REMOTE_ADDR=HOME
    )
    assert login.status_code == 302  # this browser is now a known device of the account
    owner.post("/logout/")
    for n in range(3):  # someone asks for the owner's links from elsewhere, to the limit
        ask(HttpClient(), client_user.email, ip=f"203.0.113.{n}")
    assert ask(HttpClient(), client_user.email, ip="203.0.113.50").status_code == 429
    # The owner's own browser still gets a link, however many strangers asked ...
    assert ask(owner, client_user.email).status_code == 302
    # ... up to its own limit.
    for _ in range(2):
        assert ask(owner, client_user.email).status_code == 302
    assert ask(owner, client_user.email).status_code == 429
    run_jobs()
    assert len([m for m in emails_to(client_user.email) if "/login/reset/" in m.body]) == 6


def test_the_links_point_at_the_site_url_whatever_host_the_ask_came_to(
    client_user, settings, run_jobs
):
    settings.ALLOWED_HOSTS = ["*"]
    settings.PROPDESK_SITE_URL = "https://crm.firm.example"
    asked = HttpClient().post(
        "/login/forgot/", {"email": client_user.email}, HTTP_HOST="evil.example"
    )
    assert asked.status_code == 302
    run_jobs()
    body = emails_to(client_user.email)[-1].body
    assert "https://crm.firm.example/login/reset/" in body
    assert "evil.example" not in body


@pytest.mark.parametrize(
    "email",
    ["' OR 1=1 --@example.com", "ünïcödé@exämple.com", "a@b\x00c.com", "😀@😀.com", " @ "],
)
def test_hostile_emails_are_answered_without_a_500(email, client_user):
    answer = ask(HttpClient(), email)
    assert answer.status_code in {302, 422}


def test_the_set_password_page_has_no_token_in_its_address_and_sends_no_referrer(
    client_user, run_jobs
):
    ask(HttpClient(), client_user.email)
    run_jobs()
    link = link_in_email(client_user.email, "/login/reset/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    http = HttpClient()
    opened = http.get(link)
    assert token not in opened["Location"]
    page = http.get(opened["Location"])
    assert page.status_code == 200
    assert token.encode() not in page.content
    assert page["Referrer-Policy"] in {"same-origin", "no-referrer"}


@pytest.mark.parametrize(
    "path", ["/login/forgot/", "/login/verify/again/", "/login/reset/MQ/set-password/"]
)
def test_every_recovery_form_refuses_a_post_without_the_csrf_token(path, client_user):
    browser = HttpClient(enforce_csrf_checks=True)
    assert browser.post(path, {"email": client_user.email}).status_code == 403
