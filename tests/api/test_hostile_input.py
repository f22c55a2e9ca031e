"""Hostile and odd input gets a clear 4xx and changes nothing (never a 500)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client as HttpClient

from propdesk.accounts.models import Client, LoginAttempt
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core import pagination
from propdesk.core.errors import ValidationFailed
from propdesk.onboarding.request_types import TRADER_REGISTRATION
from tests.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db
URLENCODED = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "cursor",
    [
        "9223372036854775808",  # not one of ours
        "WzkyMjMzNzIwMzY4NTQ3NzU4MDhd",  # unsigned base64 JSON, as cursors once were
        "WyJub3QgYSB0aW1lIiwxXQ",  # ["not a time",1], unsigned
        "%2B5",
        "a" * 201,
    ],
)
def test_a_forged_cursor_is_refused_naming_after(api, compliance, cursor):
    token = api.token(compliance.email, PASSWORD)
    response = api.call("GET", f"/approvals?after={cursor}", token=token)
    assert response.status_code == 422
    assert "after" in response.json()["fields"]


def _signed_for(staff, key):
    """A cursor as /approvals signs them for this staff member's unfiltered list."""
    return pagination.encode(key, tag="approvals", scope=f"{staff.pk}:False:::")


@pytest.mark.parametrize(
    "key",
    [
        [2**63, 1],  # a time past year 9999
        [0, 2**63],  # an id past any id
        [-(2**62), 1],  # a time before 1970
    ],
)
def test_a_cursor_signed_by_us_with_a_key_out_of_bounds_is_refused(api, compliance, key):
    token = api.token(compliance.email, PASSWORD)
    # the cursor is signed as the API signs this list's: an in-bounds one is taken
    fine = _signed_for(compliance, [datetime(2026, 1, 1, tzinfo=UTC), 1])
    assert api.call("GET", f"/approvals?after={fine}", token=token).status_code == 200
    response = api.call("GET", f"/approvals?after={_signed_for(compliance, key)}", token=token)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["after"]


@pytest.mark.parametrize("level", ["²", "Compli\x00ance", True, 2**40, "x" * 500, None])
def test_odd_level_roles_are_refused(api, admin, level):
    token = api.token(admin.email, PASSWORD)
    response = api.call(
        "PUT",
        "/settings/approval-methods/trader_registration",
        {"method": "manual", "levels": [level]},
        token=token,
    )
    assert response.status_code == 422
    assert approvals.policy_snapshot(approvals.policy_for(TRADER_REGISTRATION))["levels"] == []


@pytest.mark.parametrize("email", ["x" * 5000, "\u202e@example.com"])
def test_odd_login_emails_are_plain_wrong_credentials(api, email):
    response = api.call("POST", "/auth/token", {"email": email, "password": "whatever"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/backoffice/approvals/all/?q=%00",
        "/backoffice/approvals/queue/trader_registration/?q=%00&status=%00",
        "/backoffice/clients/?q=%00&status=%00&kind=%00",
        "/backoffice/audit/?actor=%00&action=%00",
        "/backoffice/approvals/all/?page=%00",
    ],
)
def test_a_nul_character_in_a_page_address_is_a_clear_400(admin, path):
    response = logged_in(admin).get(path)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_comments_and_reasons_may_span_lines(api, register, compliance):
    _, request = register()
    token = api.token(compliance.email, PASSWORD)
    response = api.call(
        "POST",
        f"/approvals/{request.pk}/reject",
        {"reason": "Blurry ID.\r\nPlease resend\tboth sides."},
        token=token,
    )
    assert response.status_code == 200
    assert response.json()["rejection_reason"] == "Blurry ID.\nPlease resend\tboth sides."


def test_other_control_characters_are_refused_in_reasons(api, register, compliance):
    _, request = register()
    token = api.token(compliance.email, PASSWORD)
    response = api.call(
        "POST", f"/approvals/{request.pk}/reject", {"reason": "a\x00b"}, token=token
    )
    assert response.status_code == 422
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_api_decision_with_a_stale_level_is_409(api, register, set_method, staff_factory):
    set_method(TRADER_REGISTRATION, "manual", ["Compliance", "Compliance"])
    _, request = register()
    first, second = staff_factory("Compliance"), staff_factory("Compliance")
    approvals.approve(request.pk, actor=first)
    token = api.token(second.email, PASSWORD)
    stale = api.call("POST", f"/approvals/{request.pk}/approve", {"level": 1}, token=token)
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_level"
    fresh = api.call("POST", f"/approvals/{request.pk}/approve", {"level": 2}, token=token)
    assert fresh.json()["status"] == "approved"


def test_a_read_only_role_cannot_become_an_approval_level(admin):
    with pytest.raises(ValidationFailed) as caught:
        approvals.set_policy(
            TRADER_REGISTRATION, method="manual", level_roles=["Support"], actor=admin
        )
    assert "may not review" in caught.value.fields["levels"]


def test_a_level_role_that_loses_the_permission_can_no_longer_decide(
    register, set_method, compliance, admin
):
    from propdesk.accounts.services import save_role

    set_method(TRADER_REGISTRATION, "manual", ["Compliance"])
    _, request = register()
    save_role(
        compliance.role_id,
        name="Compliance",
        description="",
        permission_codes=["approvals.view"],
        actor=admin,
    )
    compliance.refresh_from_db()
    assert approvals.decision_block(compliance, request) is not None
    assert not approvals.todo(compliance).exists()


def test_expired_tokens_stop_working(api, compliance, settings):
    token = api.token(compliance.email, PASSWORD)
    settings.API_TOKEN_DAYS = 0
    assert api.call("GET", "/me", token=token).status_code == 401


def test_client_address_comes_from_the_configured_proxy_header(api, register, settings):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    client, _ = register()
    api.call(
        "POST",
        "/auth/token",
        {"email": client.user.email, "password": "wrong"},
        HTTP_X_REAL_IP="203.0.113.9",
    )
    assert LoginAttempt.objects.get().ip == "203.0.113.9"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel sessions need PostgreSQL")
def test_parallel_password_guesses_cannot_outrun_the_throttle(register, settings):
    from tests.api.conftest import Api

    settings.LOGIN_THROTTLE_MAX_FAILURES = 5
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 1000
    client, _ = register()
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def guess() -> None:
        try:
            barrier.wait()
            response = Api().call(
                "POST", "/auth/token", {"email": client.user.email, "password": "wrong"}
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(statuses) == 20
    assert statuses.count(401) <= 5  # only these got as far as a password check
    assert statuses.count(429) >= 15


def test_one_address_cannot_register_without_limit(api, settings):
    from propdesk.accounts.models import Client
    from tests.conftest import registration

    settings.REGISTRATIONS_PER_IP_PER_HOUR = 2
    statuses = []
    for _ in range(3):
        data = registration()
        data["type"] = data.pop("kind")
        data.pop("referral_code")
        statuses.append(api.call("POST", "/auth/register", data).status_code)
    assert statuses == [201, 201, 429]
    assert Client.objects.count() == 2


# --- NUL and other characters nobody types; typed query parameters ---------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/challenges?status=%00", "status"),
        ("/challenges?tag=a%00b", "tag"),
        ("/participants?status=%00", "status"),
        ("/approvals?type=%00", "type"),
        ("/reports/transactions?client=%00", "client"),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_422_naming_it(api, admin, path, field):
    response = api.call("GET", path, token=api.token(admin.email, PASSWORD))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/challenges?status=weird", "status"),
        ("/challenges?status=draft%01", "status"),
        ("/approvals?limit=1_0", "limit"),
        ("/approvals?after=%2B5", "after"),
        ("/participants?after=12", "after"),
        ("/reports/transactions?after=-1", "after"),
        ("/reports/transactions?limit=%EF%BC%91%EF%BC%90", "limit"),  # full-width "10"
        ("/reports/transactions?date_from=20260101", "date_from"),
        ("/reports/transactions?format=xml", "format"),
        ("/participants?stage=%D9%A1", "stage"),  # Arabic-Indic "1"
    ],
)
def test_a_query_parameter_of_the_wrong_type_is_a_422_naming_it(api, admin, path, field):
    response = api.call("GET", path, token=api.token(admin.email, PASSWORD))
    assert response.status_code == 422
    assert field in response.json()["fields"]


def test_a_staff_challenge_list_filters_by_a_known_status(api, admin):
    from propdesk.challenges.catalogue import services as catalogue
    from tests.challenges.factories import definition

    catalogue.create(definition(), actor=admin)
    token = api.token(admin.email, PASSWORD)
    assert len(api.call("GET", "/challenges?status=draft", token=token).json()) == 1
    assert api.call("GET", "/challenges?status=published", token=token).json() == []
    assert len(api.call("GET", "/challenges?status=", token=token).json()) == 1  # no filter


def test_a_json_string_no_database_can_store_is_a_422(api):
    body = {
        "type": "trader",
        "name": "\ud800",  # a lone surrogate: neither SQLite nor PostgreSQL can store it
        "email": "x@example.com",
        "password": PASSWORD,
        "nationality": "CZ",
        "phone": "+420601234567",
    }
    response = api.call("POST", "/auth/register", body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert not Client.objects.exists()


def test_a_nul_in_a_challenge_definition_is_a_422_naming_the_place(api, admin):
    from tests.challenges.factories import definition

    made = definition(platform="Sand\u0000box")
    made["stages"][0]["group"] = "de\u0000mo"
    response = api.call("POST", "/challenges", made, token=api.token(admin.email, PASSWORD))
    assert response.status_code == 422
    assert set(response.json()["fields"]) & {"platform", "stages.0.group"}


def test_a_session_cookie_with_a_nul_is_refused_not_a_500(api, admin):
    token = api.token(admin.email, PASSWORD)
    api.http.cookies["sessionid"] = "abc\x00def"
    response = api.call("GET", "/me", token=token)
    assert response.status_code == 422
    page = HttpClient()
    page.cookies["sessionid"] = "abc\x00def"
    assert page.get("/login/").status_code == 400


def test_a_form_field_with_a_nul_is_refused_with_a_400(admin):
    http = HttpClient(enforce_csrf_checks=True)
    http.get("/login/")
    form = {"email": "a\x00@example.com", "password": "x"}
    form["csrfmiddlewaretoken"] = http.cookies["csrftoken"].value
    response = http.post("/login/", urlencode(form), content_type=URLENCODED)  # as browsers do
    assert response.status_code == 400
    assert not LoginAttempt.objects.exists()


def test_a_proxy_header_that_is_not_an_address_is_not_stored(api, register, settings):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    client, _ = register()
    response = api.call(
        "POST",
        "/auth/token",
        {"email": client.user.email, "password": "wrong"},
        HTTP_X_REAL_IP="not-an-address",
    )
    assert response.status_code == 401
    assert LoginAttempt.objects.get().ip == "127.0.0.1"  # the peer, for want of a better one


def test_a_trading_login_with_a_nul_is_wrong_credentials():
    from propdesk.core.errors import NotAuthenticated
    from propdesk.platforms.sandbox import auth

    with pytest.raises(NotAuthenticated):
        auth.authenticate("7000\x0001", "password")
    assert not LoginAttempt.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/backoffice/approvals/all/?q=%E2%80%AE&page=-1",
        "/backoffice/approvals/queue/deposit/?status=%EF%BC%91&page=99999999999999999999",
        "/backoffice/clients/?status=x&kind=%01&kyc=%D9%A1&page=abc",
        "/backoffice/audit/?actor=%E2%80%8B&action=%7F&page=1e3",
        "/backoffice/reports/transactions/?date_from=20260101&limit=1_0&after=-1&type=%01",
        "/backoffice/prop-trading/participants/?challenge=%EF%BC%91&stage=1e1&status=%01",
        "/backoffice/prop-trading/dashboard/?date_from=2026-W01-1&challenge=%D9%A1",
        "/backoffice/trading/accounts/?q=%01%02&page=%EF%BC%92",
    ],
)
def test_odd_filter_values_on_pages_are_ignored_or_explained(admin, path):
    assert logged_in(admin).get(path).status_code in (200, 422)  # 422: the page says why


def test_a_json_body_too_deep_to_read_is_a_400(api, admin):
    deep = "[" * 100_000 + "]" * 100_000
    response = api.call("POST", "/challenges", deep, token=api.token(admin.email, PASSWORD))
    assert response.status_code == 400


def test_an_oversized_json_body_is_a_400_in_the_api_shape(api, admin, settings):
    token = api.token(admin.email, PASSWORD)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.call("POST", "/challenges", {"name": "x" * 2000}, token=token)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_a_nul_deep_in_a_large_body_is_found_and_named(api, admin):
    """The guard walks a document at the cost of its size (it spelt out a path for every
    element, gigabytes for a 2.5 MB body) and names only the value it refuses."""
    from propdesk.core.input_guard import _first_bad_string

    deep: object = ["fine", "\x00"]
    for _ in range(900):
        deep = [0, deep]
    assert _first_bad_string(deep) == ".".join(["1"] * 900 + ["1"])
    assert _first_bad_string({"a": [0] * 100_000, "b\x00": 1}) == "b\x00"
    assert _first_bad_string([[0] * 1000] * 1000) is None
    body = json.dumps({"name": [0] * 50_000 + ["x\x00"]})
    response = api.call("POST", "/challenges", body, token=api.token(admin.email, PASSWORD))
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["name.50000"]


@pytest.mark.parametrize(
    "query", ["status=pending&status=approved", "limit=x&limit=1", "limit=1&limit=x"]
)
def test_a_query_parameter_given_twice_is_refused_naming_it(api, admin, query):
    response = api.call("GET", f"/approvals?{query}", token=api.token(admin.email, PASSWORD))
    assert response.status_code == 422
    assert list(response.json()["fields"]) == [query.split("=")[0]]
