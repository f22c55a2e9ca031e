"""A client's language: chosen at registration (the language chooser's by default) and on the
profile page or by the API; the portal reads in it and staff's back office stays in English."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client as HttpClient

from propdesk.accounts import services
from propdesk.accounts.models import Client, User
from propdesk.core.errors import ValidationFailed
from propdesk.onboarding.services import register_client
from tests.conftest import logged_in, post_form, registration

pytestmark = pytest.mark.django_db


def _registration_form(**overrides: Any) -> dict[str, Any]:
    data = registration(**overrides)
    return {
        "type": data["kind"],
        "name": data["name"],
        "email": data["email"],
        "phone": data["phone"],
        "nationality": data["nationality"],
        "password": data["password"],
        "password_again": data["password"],
        "referral_code": "",
        "time_zone": "",
    }


def test_the_chooser_sets_the_language_of_the_pages_before_login():
    http = HttpClient(enforce_csrf_checks=True)
    page = http.get("/login/").content.decode()
    assert '<html lang="en"' in page
    assert 'id="language-chooser"' in page
    token = http.cookies["csrftoken"].value
    chosen = http.post(
        "/i18n/setlang/",
        {"language": "es", "csrfmiddlewaretoken": token},
        headers={"referer": "http://testserver/login/"},
    )
    assert chosen.status_code == 302
    assert chosen["Location"] == "http://testserver/login/"  # back where it was chosen
    page = http.get("/login/").content.decode()
    assert '<html lang="es"' in page
    assert "Iniciar sesión" in page


def test_an_unknown_language_is_ignored():
    http = HttpClient()
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    assert '<html lang="en"' in http.get("/login/").content.decode()


def test_a_registration_takes_the_language_of_the_page_unless_another_is_chosen():
    http = HttpClient(enforce_csrf_checks=True)
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = http.get("/portal/register/").content.decode()
    assert '<option value="es" selected>Español</option>' in page
    form = _registration_form()
    assert post_form(http, "/portal/register/", {**form, "language": "es"}).status_code == 302
    assert User.objects.get(email=form["email"]).language == "es"
    other = _registration_form()
    assert post_form(http, "/portal/register/", {**other, "language": "en"}).status_code == 302
    assert User.objects.get(email=other["email"]).language == "en"


def test_a_registration_with_an_unknown_language_is_refused_and_creates_nobody():
    data = registration(language="klingon")
    with pytest.raises(ValidationFailed) as refused:
        register_client(**data)
    assert "language" in refused.value.fields
    assert not Client.objects.filter(user__email=data["email"]).exists()


def test_the_client_changes_language_on_the_profile_and_reads_the_portal_in_it(active_client):
    http = logged_in(active_client.user)
    page = http.get("/portal/profile/").content.decode()
    assert '<option value="en" selected>English</option>' in page
    saved = post_form(http, "/portal/profile/", {"time_zone": "", "language": "es"})
    assert saved.status_code == 302
    active_client.user.refresh_from_db()
    assert active_client.user.language == "es"
    page = http.get("/portal/profile/")
    assert page["Content-Language"] == "es"
    text = page.content.decode()
    assert "Su perfil" in text
    assert "Guardado: el portal muestra las horas en" in text  # the message, in the new language


@pytest.mark.parametrize("bad", ["xx", "", "ES ", "<script>", "e" * 5000])
def test_a_bad_language_is_refused_and_nothing_changes(active_client, bad):
    with pytest.raises(ValidationFailed):
        services.set_language(active_client, bad)
    active_client.user.refresh_from_db()
    assert active_client.user.language == "en"


def test_a_bad_language_on_the_profile_page_changes_nothing(active_client):
    http = logged_in(active_client.user)
    sent = post_form(http, "/portal/profile/", {"time_zone": "Asia/Tokyo", "language": "xx"})
    assert sent.status_code == 422
    active_client.refresh_from_db()
    active_client.user.refresh_from_db()
    assert (active_client.user.language, active_client.time_zone) == ("en", "")


def test_staff_read_the_back_office_in_english_whatever_their_language(admin):
    User.objects.filter(pk=admin.pk).update(language="es")
    admin.refresh_from_db()
    page = logged_in(admin).get("/backoffice/")
    assert page["Content-Language"] == "en"


def _api(method: str, token: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(HttpClient(), method)("/api/v1/me", **kwargs)


def test_the_api_reads_and_changes_the_language_both_or_neither_with_the_zone(active_client):
    token = services.issue_token(active_client.user, label="test")
    assert _api("get", token).json()["language"] == "en"
    changed = _api("patch", token, {"language": "es"})
    assert changed.status_code == 200
    assert changed.json()["language"] == "es"
    refused = _api("patch", token, {"language": "en", "time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 422
    active_client.user.refresh_from_db()
    assert active_client.user.language == "es"
    assert _api("patch", token, {"language": 12}).status_code == 422
