"""Two-factor login in the API: tokens ask staff for the code (`otp`), a token got without it
stops working once a second factor is owed, and the session is gated like the pages."""

from __future__ import annotations

import pytest

from propdesk.accounts.models import ApiToken
from tests.accounts.factories import enrol, next_code, require_two_factor
from tests.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db


def token_call(api, user, **extra):
    return api.call("POST", "/auth/token", {"email": user.email, "password": PASSWORD, **extra})


def test_an_enrolled_staff_member_gets_no_token_without_the_code(api, compliance):
    enrol(compliance)
    response = token_call(api, compliance)
    assert response.status_code == 401
    assert response.json()["code"] == "two_factor_required"
    assert token_call(api, compliance, otp="").json()["code"] == "two_factor_required"
    assert not ApiToken.objects.exists()


def test_a_token_with_the_code_works_and_remembers_the_second_factor(api, compliance):
    enrol(compliance)
    response = token_call(api, compliance, otp=next_code(compliance))
    assert response.status_code == 200
    token = response.json()["token"]
    assert ApiToken.objects.get().two_factor is True
    assert api.call("GET", "/me", token=token).json()["email"] == compliance.email


def test_a_wrong_code_gets_no_token(api, compliance):
    enrol(compliance)
    response = token_call(api, compliance, otp="000000")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_two_factor_code"
    assert not ApiToken.objects.exists()
    throttled = token_call(api, compliance, otp=next_code(compliance))
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "otp", ["letters", "1" * 100, "12\x003456", 123456], ids=["letters", "long", "nul", "number"]
)
def test_malformed_codes_are_a_validation_error(api, compliance, otp):
    enrol(compliance)
    response = token_call(api, compliance, otp=otp)
    assert response.status_code == 422
    assert "otp" in response.json()["fields"]
    assert not ApiToken.objects.exists()


def test_a_recovery_code_gets_one_token_only(api, compliance):
    codes = enrol(compliance)
    assert token_call(api, compliance, otp=codes[0]).status_code == 200
    assert token_call(api, compliance, otp=codes[0]).status_code == 401


def test_a_role_that_requires_it_gets_no_token_before_enrolment(api, compliance, admin):
    require_two_factor("Compliance", admin)
    response = token_call(api, compliance)
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_setup_required"


def test_a_token_got_without_the_code_stops_working_once_the_user_enrols(api, compliance):
    token = api.token(compliance.email, PASSWORD)
    assert api.call("GET", "/me", token=token).status_code == 200
    assert ApiToken.objects.get().two_factor is False
    enrol(compliance)
    refused = api.call("GET", "/me", token=token)
    assert refused.status_code == 401
    assert refused.json()["code"] == "two_factor_required"
    assert api.call("GET", "/approvals", token=token).status_code == 401


def test_a_token_got_without_the_code_stops_working_once_the_role_requires_it(
    api, compliance, admin
):
    token = api.token(compliance.email, PASSWORD)
    require_two_factor("Compliance", admin)
    refused = api.call("GET", "/approvals", token=token)
    assert refused.status_code == 403
    assert refused.json()["code"] == "two_factor_setup_required"


def test_client_tokens_are_not_concerned(api, active_client):
    token = api.token(active_client.user.email, PASSWORD)
    assert api.call("GET", "/me", token=token).status_code == 200


def test_the_session_api_refuses_a_staff_session_without_the_second_factor(compliance, admin):
    session = logged_in(compliance)
    assert session.get("/api/v1/me").status_code == 200
    require_two_factor("Compliance", admin)
    refused = session.get("/api/v1/approvals")
    assert refused.status_code == 403
    assert refused.json()["code"] == "two_factor_setup_required"


def test_a_token_got_with_the_code_keeps_working_when_the_role_then_requires_it(
    api, compliance, admin
):
    enrol(compliance)
    token = token_call(api, compliance, otp=next_code(compliance)).json()["token"]
    require_two_factor("Compliance", admin)
    assert api.call("GET", "/me", token=token).status_code == 200


def test_a_bearer_token_is_judged_on_its_own_beside_a_session_in_enrolment(
    api, compliance, support, admin
):
    """A script's token is not held up by the browser session it happens to run beside."""
    token = token_call(api, compliance).json()["token"]
    require_two_factor("Support", admin)
    session_in_enrolment = logged_in(support)
    assert session_in_enrolment.get("/api/v1/me").status_code == 403
    response = session_in_enrolment.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["email"] == compliance.email


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "x"])
def test_a_session_owing_its_second_factor_gets_nothing_by_adding_a_bogus_token(
    compliance, admin, header
):
    """ninja falls back to the session when a token is no good: that session is gated too."""
    require_two_factor("Compliance", admin)
    session = logged_in(compliance)
    for path in ("/api/v1/approvals", "/api/v1/me"):
        response = session.get(path, headers={"Authorization": header})
        assert response.status_code in (401, 403), path


def test_an_enrolled_staff_session_that_never_gave_its_code_gets_nothing_with_a_bogus_token(
    compliance,
):
    enrol(compliance)
    session = logged_in(compliance)  # a password-only session (the code never given)
    response = session.get("/api/v1/approvals", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code in (401, 403)


def test_the_schema_declares_the_token_errors_and_the_otp_field(api):
    schema = api.call("GET", "/openapi.json").json()
    operation = schema["paths"]["/api/v1/auth/token"]["post"]
    for status in ("401", "403", "422", "429"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }
    assert "two_factor_required" in operation["responses"]["401"]["description"]
    assert "two_factor_setup_required" in operation["responses"]["403"]["description"]
    assert "otp" in schema["components"]["schemas"]["TokenIn"]["properties"]
