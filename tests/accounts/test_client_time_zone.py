"""A client's own time zone: an IANA name (or none: the firm's), chosen at registration and on
the portal's Profile page or PATCH /me; anything else is refused with a clear error and nothing
changes. Staff read their pages in the firm's zone and see the client's on the client page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.accounts import services, zones
from propdesk.accounts.models import Client
from propdesk.core.errors import ValidationFailed
from propdesk.onboarding.services import register_client
from tests.conftest import logged_in, post_form, registration

pytestmark = pytest.mark.django_db

HOSTILE = [
    "Mars/Olympus_Mons",
    "../../etc/passwd",
    "Europe/Prague\x00",
    "Asia/" + "T" * 5000,
    "<script>alert(1)</script>",
    "europe/prague ; DROP TABLE",
    "localtime",  # the host's own zone, whatever it is set to
    "Factory",
    "EST5EDT",
]


def test_a_client_reads_the_firms_zone_until_they_choose_one(active_client, settings):
    assert active_client.time_zone == ""
    assert zones.zone_of(active_client).key == settings.TIME_ZONE


def test_a_known_zone_is_kept_and_read(active_client):
    services.set_time_zone(active_client, "Asia/Tokyo")
    active_client.refresh_from_db()
    assert active_client.time_zone == "Asia/Tokyo"
    assert zones.zone_of(active_client).key == "Asia/Tokyo"
    services.set_time_zone(active_client, "")  # back to the firm's
    active_client.refresh_from_db()
    assert active_client.time_zone == ""


@pytest.mark.parametrize("bad", [*HOSTILE, 42, ["Asia/Tokyo"]])
def test_a_bad_zone_is_refused_and_nothing_changes(active_client, bad):
    services.set_time_zone(active_client, "Asia/Tokyo")
    with pytest.raises(ValidationFailed) as refused:
        services.set_time_zone(active_client, bad)
    assert set(refused.value.fields) == {"time_zone"}
    assert Client.objects.get(pk=active_client.pk).time_zone == "Asia/Tokyo"


def test_the_model_field_refuses_an_unknown_zone(active_client):
    active_client.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as refused:
        active_client.full_clean()
    assert "time_zone" in refused.value.message_dict


def test_a_zone_is_chosen_at_registration():
    client, _ = register_client(**registration(time_zone="America/New_York"))
    assert client.time_zone == "America/New_York"
    default, _ = register_client(**registration())
    assert default.time_zone == ""


def test_registration_with_an_unknown_zone_is_refused_and_creates_nobody():
    data = registration(time_zone="Mars/Olympus_Mons")
    with pytest.raises(ValidationFailed) as refused:
        register_client(**data)
    assert "Unknown time zone" in refused.value.fields["time_zone"]
    assert not Client.objects.filter(user__email=data["email"]).exists()


def _register_page(http: HttpClient, **overrides: Any) -> Any:
    data = registration(**overrides)
    form = {
        "type": data["kind"],
        "name": data["name"],
        "email": data["email"],
        "phone": data["phone"],
        "nationality": data["nationality"],
        "password": data["password"],
        "password_again": data["password"],
        "referral_code": "",
        "time_zone": data.get("time_zone", ""),
    }
    return data, post_form(http, "/portal/register/", form)


def test_the_registration_page_offers_the_zones_and_keeps_the_one_sent():
    http = HttpClient(enforce_csrf_checks=True)
    page = http.get("/portal/register/").content.decode()
    select = re.search(r'<select name="time_zone"[^>]*>', page)
    assert select
    assert "data-browser-zone" in select.group(0), "the script prefills it"
    assert '<option value="Asia/Tokyo">Asia/Tokyo (UTC+09:00)</option>' in page
    assert "accounts/time_zone.js" in page
    data, response = _register_page(http, time_zone="Asia/Kathmandu")  # not among the common
    assert response.status_code == 302
    assert Client.objects.get(user__email=data["email"]).time_zone == "Asia/Kathmandu"


def test_the_registration_page_names_a_bad_zone_and_registers_nobody():
    http = HttpClient(enforce_csrf_checks=True)
    data, response = _register_page(http, time_zone="Asia/" + "T" * 5000)
    assert response.status_code == 422
    page = response.content.decode()
    assert '<ul class="errorlist" id="time_zone-errors">' in page
    assert "A time zone name has at most 64 characters." in page
    assert not Client.objects.filter(user__email=data["email"]).exists()


def test_the_profile_page_changes_the_zone(active_client):
    me = logged_in(active_client.user)
    page = me.get("/portal/profile/").content.decode()
    assert '<a href="/portal/profile/"' in page, "the portal's bar links it"
    assert "<dd data-time-zone>UTC (the firm's)</dd>" in page
    response = me.post(
        "/portal/profile/",
        {"time_zone": "Asia/Tokyo", "csrfmiddlewaretoken": me.cookies["csrftoken"].value},
    )
    assert response.status_code == 302
    page = me.get("/portal/profile/").content.decode()
    assert "Saved: the portal shows times in Asia/Tokyo." in page
    assert "<dd data-time-zone>Asia/Tokyo</dd>" in page
    assert '<option value="Asia/Tokyo" selected>' in page
    assert "Times are shown in Asia/Tokyo" in me.get("/portal/wallet/").content.decode()


@pytest.mark.parametrize("bad", HOSTILE)
def test_the_profile_page_refuses_a_bad_zone_and_changes_nothing(active_client, bad):
    services.set_time_zone(active_client, "Europe/Prague")
    me = logged_in(active_client.user)
    me.get("/portal/profile/")
    response = me.post(
        "/portal/profile/",
        {"time_zone": bad, "csrfmiddlewaretoken": me.cookies["csrftoken"].value},
    )
    assert response.status_code in (400, 422)
    if response.status_code == 422:  # a NUL never reaches the page (the input guard refuses it)
        assert 'id="time_zone-errors"' in response.content.decode()
    assert Client.objects.get(pk=active_client.pk).time_zone == "Europe/Prague"


def test_staff_have_no_portal_profile(admin):
    assert logged_in(admin).get("/portal/profile/").status_code == 403


def test_the_clients_zone_is_put_back_after_their_request(active_client, settings):
    """The zone is activated for a client's request only: the thread serves others next."""
    services.set_time_zone(active_client, "Asia/Tokyo")
    assert logged_in(active_client.user).get("/portal/").status_code == 200
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


def test_staff_see_the_clients_zone_on_the_client_page(active_client, admin, settings):
    page = logged_in(admin).get(f"/backoffice/clients/{active_client.pk}/").content.decode()
    assert f"<dd data-client-time-zone>The firm's ({settings.TIME_ZONE})" in page
    services.set_time_zone(active_client, "Asia/Tokyo")
    page = logged_in(admin).get(f"/backoffice/clients/{active_client.pk}/").content.decode()
    assert "<dd data-client-time-zone>Asia/Tokyo " in page


def _api(method: str, path: str, token: str, body: Any = None) -> Any:
    http = HttpClient()
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(http, method)(f"/api/v1{path}", **kwargs)


def test_the_api_reads_and_changes_the_clients_zone(active_client):
    token = services.issue_token(active_client.user, label="test")
    assert _api("get", "/me", token).json()["client"]["time_zone"] == ""
    changed = _api("patch", "/me", token, {"time_zone": "Asia/Tokyo"})
    assert changed.status_code == 200
    assert changed.json()["client"]["time_zone"] == "Asia/Tokyo"
    refused = _api("patch", "/me", token, {"time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_error"
    assert "time_zone" in refused.json()["fields"]
    assert _api("patch", "/me", token, {}).json()["client"]["time_zone"] == "Asia/Tokyo"


def test_staff_have_no_zone_to_change_by_the_api(admin):
    token = services.issue_token(admin, label="test")
    assert _api("patch", "/me", token, {"time_zone": "Asia/Tokyo"}).status_code == 403


def test_a_registration_sent_back_keeps_the_browsers_zone_outside_the_common_list(client):
    response = client.post(
        "/portal/register/",
        {"time_zone": "Asia/Kathmandu", "email": "not an email", "name": "Ram"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert '<option value="Asia/Kathmandu" selected>' in page
