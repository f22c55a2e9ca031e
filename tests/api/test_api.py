from __future__ import annotations

import pytest

from propdesk.accounts.models import Client, User
from propdesk.approvals.models import ApprovalRequest
from propdesk.onboarding.request_types import TRADER_REGISTRATION
from tests.conftest import PASSWORD, unique_phone

pytestmark = pytest.mark.django_db


def body(**overrides):
    data = {
        "type": "trader",
        "name": "Jane Doe",
        "email": "jane@example.com",
        "password": PASSWORD,
        "nationality": "CZ",
        "phone": unique_phone(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def test_script_registers_waits_and_is_approved_through_the_api(api, compliance, register):
    friend, _ = register(kind="ib")
    Client.objects.filter(pk=friend.pk).update(referral_code="FRIEND1")
    created = api.call("POST", "/auth/register", body(referral_code="FRIEND1"))
    assert created.status_code == 201
    assert created.json()["status"] == "pending_approval"
    client_id = created.json()["id"]

    pending = api.call("POST", "/auth/token", {"email": "jane@example.com", "password": PASSWORD})
    assert pending.status_code == 403
    assert pending.json()["code"] == "registration_pending"

    staff = api.token(compliance.email, PASSWORD)
    counts = api.call("GET", "/approvals/counts", token=staff).json()
    assert counts[TRADER_REGISTRATION] == 1
    listing = api.call("GET", "/approvals?type=trader_registration&status=pending", token=staff)
    [item] = listing.json()["items"]
    assert item["client"]["id"] == client_id

    detail = api.call("GET", f"/approvals/{item['id']}", token=staff).json()
    assert detail["can_decide"] is True
    assert [h["kind"] for h in detail["history"]] == ["submitted"]
    approved = api.call("POST", f"/approvals/{item['id']}/approve", {"comment": "ok"}, token=staff)
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"

    token = api.token("jane@example.com", PASSWORD)
    me = api.call("GET", "/me", token=token).json()
    assert me["email"] == "jane@example.com"
    assert me["client"]["status"] == "active"
    assert me["client"]["referral_code_used"] == "FRIEND1"


def test_rejected_client_gets_the_reason_from_the_token_endpoint(api, compliance):
    api.call("POST", "/auth/register", body())
    staff = api.token(compliance.email, PASSWORD)
    [item] = api.call("GET", "/approvals", token=staff).json()["items"]
    response = api.call(
        "POST", f"/approvals/{item['id']}/reject", {"reason": "Duplicate account"}, token=staff
    )
    assert response.json()["rejection_reason"] == "Duplicate account"
    denied = api.call("POST", "/auth/token", {"email": "jane@example.com", "password": PASSWORD})
    assert denied.status_code == 403
    assert denied.json() == {
        "code": "registration_rejected",
        "message": "Your registration was not approved: Duplicate account",
        "reason": "Duplicate account",
    }


def test_automatic_method_makes_the_registration_active(api, admin):
    staff = api.token(admin.email, PASSWORD)
    put = api.call(
        "PUT",
        "/settings/approval-methods/trader_registration",
        {"method": "automatic"},
        token=staff,
    )
    assert put.status_code == 200
    assert put.json()["method"] == "automatic"
    created = api.call("POST", "/auth/register", body())
    assert created.json()["status"] == "active"
    assert api.token("jane@example.com", PASSWORD)


def test_wrong_password_is_401(api, register):
    client, _ = register()
    response = api.call("POST", "/auth/token", {"email": client.user.email, "password": "nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_login_is_throttled_after_repeated_failures(api, register, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 3
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    client, _ = register()
    for _ in range(3):
        api.call("POST", "/auth/token", {"email": client.user.email, "password": "wrong"})
    blocked = api.call("POST", "/auth/token", {"email": client.user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "too_many_attempts"
    assert blocked["Retry-After"]


def test_support_cannot_approve(api, register, support):
    _, request = register()
    token = api.token(support.email, PASSWORD)
    assert api.call("GET", f"/approvals/{request.pk}", token=token).status_code == 200
    response = api.call("POST", f"/approvals/{request.pk}/approve", {}, token=token)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_support_cannot_change_approval_methods(api, support):
    token = api.token(support.email, PASSWORD)
    response = api.call(
        "PUT",
        "/settings/approval-methods/trader_registration",
        {"method": "automatic"},
        token=token,
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/approvals", None),
        ("GET", "/approvals/counts", None),
        ("GET", "/approvals/1", None),
        ("POST", "/approvals/1/approve", {}),
        ("POST", "/approvals/1/reject", {"reason": "x"}),
        ("GET", "/settings/approval-methods/trader_registration", None),
        ("PUT", "/settings/approval-methods/trader_registration", {"method": "automatic"}),
    ],
)
def test_client_cannot_call_staff_endpoints(api, register, set_method, method, path, payload):
    set_method(TRADER_REGISTRATION, "automatic")
    client, _ = register()
    token = api.token(client.user.email, PASSWORD)
    response = api.call(method, path, payload, token=token)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/me", "/approvals", "/approvals/counts"])
def test_anonymous_calls_get_401(api, path):
    response = api.call("GET", path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_made_up_token_gets_401(api):
    assert api.call("GET", "/me", token="pd_made_up").status_code == 401


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(email="nope"), "email"),
        (body(phone="12345"), "phone"),
        (body(password="short"), "password"),
        (body(type="admin"), "type"),
        (body(nationality="Mars"), "nationality"),
        (body(name=...), "name"),
        (body(email=123), "email"),
        (body(name="x" * 10_000), "name"),
    ],
)
def test_bad_registration_gets_field_errors_and_creates_nothing(api, payload, field):
    response = api.call("POST", "/auth/register", payload)
    assert response.status_code == 422
    data = response.json()
    assert data["code"] == "validation_error"
    assert field in data["fields"]
    assert User.objects.count() == 0
    assert Client.objects.count() == 0


def test_duplicate_registration_is_refused_with_field_errors(api):
    first = body(phone="+420601999000")
    assert api.call("POST", "/auth/register", first).status_code == 201
    again = api.call(
        "POST", "/auth/register", body(email="JANE@example.com", phone="+420 601 999 000")
    )
    assert again.status_code == 422
    assert set(again.json()["fields"]) == {"email", "phone"}
    assert Client.objects.count() == 1


@pytest.mark.parametrize("raw", ["not json", "[]", "null", '{"type": "trader"'])
def test_malformed_json_is_refused_cleanly(api, raw):
    response = api.call("POST", "/auth/register", raw)
    assert response.status_code in (400, 422)
    assert "code" in response.json()
    assert Client.objects.count() == 0


def test_reject_without_reason_is_422_and_changes_nothing(api, register, compliance):
    _, request = register()
    token = api.token(compliance.email, PASSWORD)
    response = api.call("POST", f"/approvals/{request.pk}/reject", {}, token=token)
    assert response.status_code == 422
    assert "reason" in response.json()["fields"]
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_deciding_twice_is_409(api, register, compliance):
    _, request = register()
    token = api.token(compliance.email, PASSWORD)
    api.call("POST", f"/approvals/{request.pk}/approve", {}, token=token)
    again = api.call("POST", f"/approvals/{request.pk}/reject", {"reason": "x"}, token=token)
    assert again.status_code == 409
    assert again.json()["code"] == "already_decided"


def test_unknown_request_is_404(api, compliance):
    token = api.token(compliance.email, PASSWORD)
    response = api.call("GET", "/approvals/999999", token=token)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_bad_list_filters_are_named(api, compliance):
    token = api.token(compliance.email, PASSWORD)
    response = api.call("GET", "/approvals?type=nope&status=weird&limit=0", token=token)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"type", "status", "limit"}


def test_two_level_policy_through_the_api(api, admin, compliance, staff_factory):
    admin_token = api.token(admin.email, PASSWORD)
    put = api.call(
        "PUT",
        "/settings/approval-methods/trader_registration",
        {"method": "manual", "levels": ["Compliance", "Administrator"]},
        token=admin_token,
    )
    assert put.json()["levels"] == ["Compliance", "Administrator"]
    api.call("POST", "/auth/register", body())
    compliance_token = api.token(compliance.email, PASSWORD)
    [item] = api.call("GET", "/approvals", token=compliance_token).json()["items"]
    first = api.call("POST", f"/approvals/{item['id']}/approve", {}, token=compliance_token).json()
    assert first["status"] == "pending"
    assert first["current_level"] == 2
    assert first["awaiting_role"] == "Administrator"
    assert first["can_decide"] is False
    done = api.call("POST", f"/approvals/{item['id']}/approve", {}, token=admin_token).json()
    assert done["status"] == "approved"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"method": "partial", "threshold": "100"}, "method"),
        ({"method": "sometimes"}, "method"),
        ({"method": "manual", "levels": ["Ghost"]}, "levels"),
        ({"method": "manual", "levels": "Compliance"}, "levels"),
        ({}, "method"),
    ],
)
def test_bad_approval_method_settings_are_refused(api, admin, payload, field):
    token = api.token(admin.email, PASSWORD)
    response = api.call(
        "PUT", "/settings/approval-methods/trader_registration", payload, token=token
    )
    assert response.status_code == 422
    assert field in response.json()["fields"]
    current = api.call("GET", "/settings/approval-methods/trader_registration", token=token)
    assert current.json()["method"] == "manual"


def test_unknown_request_type_setting_is_404(api, admin):
    token = api.token(admin.email, PASSWORD)
    response = api.call("PUT", "/settings/approval-methods/nope", {"method": "manual"}, token=token)
    assert response.status_code == 404


def test_session_calls_need_csrf(register, compliance):
    from django.test import Client as HttpClient

    _, request = register()
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(compliance, backend="propdesk.accounts.backends.EmailBackend")
    assert browser.get("/api/v1/approvals").status_code == 200
    response = browser.post(
        f"/api/v1/approvals/{request.pk}/approve", "{}", content_type="application/json"
    )
    assert response.status_code == 403
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_openapi_schema_is_served(api):
    response = api.call("GET", "/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/auth/register" in paths
    assert "/api/v1/approvals/{request_id}/approve" in paths


def test_a_revoked_token_stops_working(api, compliance):
    token = api.token(compliance.email, PASSWORD)
    assert api.call("GET", "/me", token=token).status_code == 200
    assert api.call("DELETE", "/auth/token", token=token).status_code == 204
    assert api.call("GET", "/me", token=token).status_code == 401


def test_a_suspended_clients_tokens_stop_working(api, register, set_method, compliance):
    from propdesk.accounts.services import set_client_suspended

    set_method(TRADER_REGISTRATION, "automatic")
    client, _ = register()
    token = api.token(client.user.email, PASSWORD)
    set_client_suspended(client.pk, suspended=True, actor=compliance, reason="Chargeback")
    assert api.call("GET", "/me", token=token).status_code == 401
    denied = api.call("POST", "/auth/token", {"email": client.user.email, "password": PASSWORD})
    assert denied.status_code == 403
    assert denied.json()["code"] == "account_suspended"


def test_api_docs_page_uses_local_files_not_a_cdn(api):
    response = api.call("GET", "/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle" in page
    assert "cdn" not in page.lower()


def test_approve_needs_no_body_at_all(api, register, compliance):
    _, request = register()
    token = api.token(compliance.email, PASSWORD)
    response = api.http.generic(
        "POST", f"/api/v1/approvals/{request.pk}/approve", b"", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_register_with_an_empty_body_names_the_missing_fields(api):
    response = api.http.post("/api/v1/auth/register", content_type="application/json")
    assert response.status_code == 422
    assert {"type", "name", "email", "password", "nationality", "phone"} <= set(
        response.json()["fields"]
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/approvals/abc"),
        ("POST", "/api/v1/nothing/here"),
        ("DELETE", "/api/v1/x"),
        ("OPTIONS", "/api/v1/nothing/here"),
        ("PUT", "/api/v1/approvals/abc"),
    ],
)
def test_a_path_naming_no_operation_answers_the_json_404(client, method, path):
    response = client.generic(method, path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_a_head_on_a_path_naming_no_operation_is_a_json_404(client):
    response = client.head("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/me", "GET, PATCH"),
        ("OPTIONS", "/api/v1/me", "GET, PATCH"),
        ("DELETE", "/api/v1/kyc/forms", "GET"),
        ("GET", "/api/v1/auth/token", "DELETE, POST"),
    ],
)
def test_a_method_the_path_does_not_take_is_a_json_405_naming_the_allowed(
    client, method, path, allowed
):
    response = client.generic(method, path)
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == allowed


def test_a_head_on_a_path_that_does_not_take_it_is_a_json_405(client):
    response = client.head("/api/v1/me")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
