"""The headers every response carries: the Content-Security-Policy and its companions, and
`Cache-Control: private, no-store` on whatever carries credentials or personal data (pages of a
logged-in person, the API, tokens); static files keep their long caching; a response that sets
its own policy or caching keeps it; behind the proxy, HTTPS gets HSTS and HTTP a redirect."""

from __future__ import annotations

import base64

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.models import User
from propdesk.challenges.models import Participation
from propdesk.demo import seed_demo
from propdesk.onboarding import kyc
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in
from tests.onboarding.factories import answers, documents

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@pytest.fixture
def api() -> Api:
    return Api()


def not_stored(response) -> bool:
    given = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= given


def test_every_page_carries_the_policy_and_its_companions():
    response = HttpClient().get("/login/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_the_api_token_response_is_not_stored(api: Api, admin: User):
    response = api.call("POST", "/auth/token", {"email": admin.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"]
    assert not_stored(response)


def test_api_responses_are_not_stored_whoever_asks(api: Api, admin: User):
    token = api.token(admin.email, PASSWORD)
    assert not_stored(api.call("GET", "/me", token=token))
    assert not_stored(api.call("GET", "/approvals?status=pending", token=token))
    assert not_stored(logged_in(admin).get("/api/v1/me"))  # a browser session
    assert not_stored(api.call("GET", "/me"))  # the 401 too


def test_the_trading_api_responses_are_not_stored(api: Api):
    account, password = sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance="1000"
    )
    response = api.call(
        "GET", "/sandbox/account", HTTP_AUTHORIZATION=basic(account.login, password)
    )
    assert response.status_code == 200
    assert not_stored(response)


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


STAFF_PAGES = [
    "/backoffice/",
    "/backoffice/clients/",
    "/backoffice/reports/transactions/",
    "/backoffice/prop-trading/participants/",
    "/backoffice/trading/accounts/",
    "/backoffice/audit/",
]
CLIENT_PAGES = [
    "/portal/",
    "/portal/wallet/",
    "/portal/kyc/",
    "/portal/notifications/",
    "/portal/my-challenges/",
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_back_office_pages_are_not_stored(admin: User, path: str):
    response = logged_in(admin).get(path)
    assert response.status_code == 200
    assert not_stored(response)


@pytest.mark.parametrize("path", CLIENT_PAGES)
def test_portal_pages_are_not_stored(active_client, path: str):
    response = logged_in(active_client.user).get(path)
    assert response.status_code == 200
    assert not_stored(response)


def test_trading_credentials_and_the_terminal_are_not_stored():
    seed_demo()
    ivan = logged_in(User.objects.get(email="ivan@example.com"))
    participation = Participation.objects.get(client__user__email="ivan@example.com")
    page = ivan.get(f"/portal/my-challenges/{participation.pk}/")
    assert b"data-password" in page.content
    assert not_stored(page)
    login, password, _ = seed_demo().trading[0]
    trader = HttpClient()
    trader.get("/terminal/login/")
    trader.post("/terminal/login/", {"login": login, "password": password})
    terminal = trader.get("/terminal/")
    assert terminal.status_code == 200
    assert not_stored(terminal)
    assert not_stored(trader.get("/terminal/state/"))


def test_a_kyc_document_keeps_its_own_stricter_policy(active_client, kyc_form):
    submission = kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    document = submission.documents.get(document_key="identity_document")
    response = logged_in(active_client.user).get(f"/documents/kyc/{document.token}/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert not_stored(response)


def test_static_files_keep_their_long_caching():
    response = HttpClient().get("/static/propdesk.css")
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    assert "no-store" not in response["Cache-Control"]


def test_behind_the_proxy_https_gets_hsts_and_plain_http_a_redirect(settings, admin: User):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    http = HttpClient()
    plain = http.get("/login/?next=/backoffice/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/login/?next=/backoffice/"
    secure = http.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_csrf_failure_page_needs_no_inline_style():
    """Django's own page styles itself inline, which the policy refuses; ours uses the site's
    style sheets and says what to do."""
    response = HttpClient(enforce_csrf_checks=True).post("/login/", {"email": "a@b.example"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "<style" not in page
    assert "style=" not in page
    assert "reload the page" in page
