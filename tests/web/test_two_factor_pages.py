"""Two-factor login in the pages: the login's second step, the security page, the gate that keeps
a session out of the back office until it has given the second factor, and the admin's reset."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient

from propdesk.accounts import two_factor
from propdesk.accounts.models import Authenticator, Role
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.onboarding import kyc
from tests.accounts.factories import app_code, code_for, enrol, next_code, require_two_factor
from tests.conftest import PASSWORD, logged_in, post_form
from tests.onboarding.factories import answers, documents

pytestmark = pytest.mark.django_db

BACK_OFFICE = ["/backoffice/", "/backoffice/clients/", "/backoffice/staff/", "/backoffice/audit/"]


def password_step(http: HttpClient, user, next_url: str = "") -> object:
    data = {"email": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return post_form(http, "/login/", data)


def log_in_with_code(user) -> HttpClient:
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, user)
    response = post_form(http, "/login/code/", {"code": next_code(user)})
    assert response.status_code == 302, response.content
    return http


# --- logging in ------------------------------------------------------------------------------


def test_the_password_alone_does_not_log_in_an_enrolled_staff_member(compliance):
    enrol(compliance)
    http = HttpClient(enforce_csrf_checks=True)
    response = password_step(http, compliance)
    assert response.status_code == 302
    assert response["Location"] == "/login/code/"
    for path in BACK_OFFICE:
        assert http.get(path)["Location"].startswith("/login/?next=")
    assert http.get("/api/v1/me").status_code == 401


def test_password_then_code_reaches_the_back_office_and_the_page_asked_for(admin):
    enrol(admin)
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, admin, next_url="/backoffice/audit/")
    page = http.get("/login/code/")
    assert page.status_code == 200
    assert b"authenticator app" in page.content
    response = post_form(http, "/login/code/", {"code": next_code(admin)})
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/audit/"
    for path in BACK_OFFICE:
        assert http.get(path).status_code == 200


def test_a_wrong_code_is_refused_and_the_code_can_be_typed_again(compliance, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the retry comes at once; waits are tested apart
    enrol(compliance)
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, compliance)
    wrong = post_form(http, "/login/code/", {"code": "000000"})
    assert wrong.status_code == 401
    assert b"not right" in wrong.content
    assert http.get("/backoffice/").status_code == 302
    right = post_form(http, "/login/code/", {"code": next_code(compliance)})
    assert right["Location"] == "/backoffice/"


def test_wrong_codes_make_the_page_say_how_long_to_wait(compliance):
    enrol(compliance)
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, compliance)
    post_form(http, "/login/code/", {"code": "000000"})
    response = post_form(http, "/login/code/", {"code": next_code(compliance)})
    assert response.status_code == 429
    assert b"Too many wrong codes" in response.content


@pytest.mark.parametrize(
    "code", ["", "letters", "1" * 100, "12\x003456"], ids=["empty", "letters", "long", "nul"]
)
def test_malformed_codes_on_the_login_page_are_refused(compliance, code):
    enrol(compliance)
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, compliance)
    response = post_form(http, "/login/code/", {"code": code})
    assert response.status_code == 422
    assert Authenticator.objects.get(user=compliance).throttling_failure_count == 0
    assert http.get("/backoffice/").status_code == 302


def test_a_recovery_code_logs_in_once_and_says_how_many_are_left(compliance):
    codes = enrol(compliance)
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, compliance)
    response = post_form(http, "/login/code/", {"code": codes[0]})
    assert response["Location"] == "/backoffice/"
    assert b"9 left" in http.get("/backoffice/").content

    again = HttpClient(enforce_csrf_checks=True)
    password_step(again, compliance)
    refused = post_form(again, "/login/code/", {"code": codes[0]})
    assert refused.status_code == 401


def test_the_code_step_expires(compliance, settings):
    enrol(compliance)
    settings.TWO_FACTOR_LOGIN_SECONDS = -1  # already over when the code comes
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, compliance)
    response = post_form(http, "/login/code/", {"code": next_code(compliance)})
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert http.get("/backoffice/").status_code == 302


def test_the_code_step_without_a_password_first_goes_to_login(db):
    http = HttpClient()
    assert http.get("/login/code/")["Location"] == "/login/"


def test_staff_without_two_factor_log_in_with_the_password_alone(compliance):
    http = HttpClient(enforce_csrf_checks=True)
    assert password_step(http, compliance)["Location"] == "/backoffice/"
    assert http.get("/backoffice/").status_code == 200


def test_a_session_from_before_enrolment_is_logged_out(compliance):
    before = HttpClient(enforce_csrf_checks=True)
    password_step(before, compliance)
    assert before.get("/backoffice/").status_code == 200
    enrol(compliance)  # in another browser
    response = before.get("/backoffice/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert before.get("/api/v1/me").status_code == 401


def test_a_kyc_document_is_not_served_to_a_session_without_the_second_factor(
    compliance, admin, active_client, kyc_form
):
    """Documents are served outside the back office's pages: the gate covers them too."""
    submission = kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    path = f"/documents/kyc/{submission.documents.first().token}/"
    before = HttpClient(enforce_csrf_checks=True)
    password_step(before, compliance)
    assert before.get(path).status_code == 200
    enrol(compliance)
    assert before.get(path)["Location"].startswith("/login/")

    two_factor.disable(actor=compliance, code=next_code(compliance))
    require_two_factor("Compliance", admin)
    unenrolled = HttpClient(enforce_csrf_checks=True)
    password_step(unenrolled, compliance)
    assert unenrolled.get(path)["Location"] == "/backoffice/account/security/"


# --- the role requires it --------------------------------------------------------------------


def test_a_role_requirement_sends_staff_to_enrolment_and_nowhere_else(compliance, admin):
    require_two_factor("Compliance", admin)
    http = HttpClient(enforce_csrf_checks=True)
    assert password_step(http, compliance)["Location"] == "/backoffice/"
    for path in [*BACK_OFFICE, "/backoffice/settings/approval-methods/"]:
        response = http.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/backoffice/account/security/"
    part = http.get("/backoffice/", headers={"HX-Request": "true"})
    assert part["HX-Redirect"] == "/backoffice/account/security/"
    api = http.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json()["code"] == "two_factor_setup_required"
    page = http.get("/backoffice/account/security/")
    assert page.status_code == 200
    assert b"Your role requires two-factor login" in page.content
    assert post_form(http, "/logout/", {})["Location"] == "/login/"


def test_after_enrolling_the_required_factor_the_back_office_opens(compliance, admin):
    require_two_factor("Compliance", admin)
    http = HttpClient(enforce_csrf_checks=True)
    password_step(http, compliance)
    post_form(http, "/backoffice/account/security/begin/", {})
    device = two_factor.pending_enrolment(compliance)
    confirmed = post_form(
        http, "/backoffice/account/security/confirm/", {"confirm-code": code_for(device)}
    )
    assert confirmed.status_code == 200
    for path in BACK_OFFICE[:2]:
        assert http.get(path).status_code == 200
    assert http.get("/api/v1/me").status_code == 200


def test_a_requirement_set_while_logged_in_takes_effect_at_once(compliance, admin):
    http = logged_in(compliance)
    assert http.get("/backoffice/").status_code == 200
    require_two_factor("Compliance", admin)
    assert http.get("/backoffice/")["Location"] == "/backoffice/account/security/"


def test_the_role_page_sets_the_requirement_even_for_administrators(admin):
    role = Role.objects.get(name="Administrator")
    http = logged_in(admin)
    page = http.get(f"/backoffice/roles/{role.pk}/")
    assert b"Staff with this role must use two-factor login" in page.content
    response = post_form(
        http,
        f"/backoffice/roles/{role.pk}/",
        {
            "name": "Administrator",
            "description": role.description,
            "permissions": role.permission_codes(),
            "requires_two_factor": "on",
        },
    )
    assert response.status_code == 302
    assert Role.objects.get(pk=role.pk).requires_two_factor
    # The administrator who saved it is now asked to set it up, like everyone with the role.
    assert http.get("/backoffice/roles/")["Location"] == "/backoffice/account/security/"


# --- the security page -----------------------------------------------------------------------


def test_the_security_page_enrols_with_a_qr_code_and_the_key_as_text(compliance):
    http = logged_in(compliance)
    page = http.get("/backoffice/account/security/")
    assert b"Set up two-factor login" in page.content
    assert post_form(http, "/backoffice/account/security/begin/", {}).status_code == 302
    page = http.get("/backoffice/account/security/")
    assert page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html
    key = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1)
    device = two_factor.pending_enrolment(compliance)
    assert key.replace(" ", "") == __import__("base64").b32encode(device.bin_key).decode()

    wrong = post_form(http, "/backoffice/account/security/confirm/", {"confirm-code": "12345"})
    assert wrong.status_code == 422
    assert not two_factor.is_enrolled(compliance)

    done = post_form(
        http, "/backoffice/account/security/confirm/", {"confirm-code": code_for(device)}
    )
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert two_factor.is_enrolled(compliance)
    # The session that enrolled gave its code: it stays in; the codes are not shown again.
    again = http.get("/backoffice/account/security/")
    assert again.status_code == 200
    assert codes[0].encode() not in again.content
    assert b"10 unused recovery codes" in again.content


def test_the_pages_load_nothing_from_elsewhere_and_run_no_inline_code(compliance):
    http = logged_in(compliance)
    post_form(http, "/backoffice/account/security/begin/", {})
    html = http.get("/backoffice/account/security/").content.decode()
    password_step(code_step := HttpClient(enforce_csrf_checks=True), compliance)
    for page in (html, code_step.get("/login/").content.decode()):
        assert "style=" not in page
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)
        assert not re.search(r'(src|href)="https?://', page)


def test_new_recovery_codes_from_the_page(compliance):
    old = enrol(compliance)
    http = log_in_with_code(compliance)
    response = post_form(
        http, "/backoffice/account/security/recovery-codes/", {"regenerate-code": old[0]}
    )
    assert response.status_code == 200
    new = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", response.content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)


def test_turning_off_from_the_page_needs_a_code(compliance):
    enrol(compliance)
    http = log_in_with_code(compliance)
    refused = post_form(http, "/backoffice/account/security/disable/", {"disable-code": ""})
    assert refused.status_code == 422
    assert two_factor.is_enrolled(compliance)
    response = post_form(
        http, "/backoffice/account/security/disable/", {"disable-code": next_code(compliance)}
    )
    assert response.status_code == 302
    assert not two_factor.is_enrolled(compliance)
    assert http.get("/backoffice/").status_code == 200


def test_turning_off_is_not_offered_nor_done_when_the_role_requires_it(compliance, admin):
    enrol(compliance)
    require_two_factor("Compliance", admin)
    http = log_in_with_code(compliance)
    page = http.get("/backoffice/account/security/")
    assert b"Turn two-factor login off" not in page.content
    response = post_form(
        http, "/backoffice/account/security/disable/", {"disable-code": next_code(compliance)}
    )
    assert response.status_code == 403
    assert two_factor.is_enrolled(compliance)


def test_moving_to_a_new_phone_keeps_this_session_and_ends_the_others(compliance):
    enrol(compliance)
    here = log_in_with_code(compliance)
    elsewhere = log_in_with_code(compliance)
    post_form(here, "/backoffice/account/security/begin/", {"replace-code": next_code(compliance)})
    new = two_factor.pending_enrolment(compliance)
    post_form(here, "/backoffice/account/security/confirm/", {"confirm-code": code_for(new)})
    assert here.get("/backoffice/").status_code == 200
    assert elsewhere.get("/backoffice/")["Location"].startswith("/login/")


def test_an_old_key_is_not_a_new_app(compliance):
    """The old app's code does not confirm the new key."""
    enrol(compliance)
    old = Authenticator.objects.get(user=compliance, confirmed=True)
    http = log_in_with_code(compliance)
    post_form(http, "/backoffice/account/security/begin/", {"replace-code": next_code(compliance)})
    old_code = app_code(old.bin_key, last_t=-1)
    response = post_form(http, "/backoffice/account/security/confirm/", {"confirm-code": old_code})
    assert response.status_code == 401


# --- the administrator's reset ---------------------------------------------------------------


def test_an_administrator_resets_a_colleagues_two_factor_from_the_staff_page(admin, compliance):
    enrol(compliance)
    http = logged_in(admin)
    page = http.get(f"/backoffice/staff/{compliance.pk}/")
    assert b"Reset two-factor login" in page.content
    no_reason = post_form(http, f"/backoffice/staff/{compliance.pk}/reset-two-factor/", {})
    assert no_reason.status_code == 302
    assert two_factor.is_enrolled(compliance)
    response = post_form(
        http,
        f"/backoffice/staff/{compliance.pk}/reset-two-factor/",
        {"reason": "Phone stolen, called from the office line"},
    )
    assert response["Location"] == f"/backoffice/staff/{compliance.pk}/"
    assert not two_factor.is_enrolled(compliance)
    assert AuditRecord.objects.filter(
        action=AuditAction.STAFF_RESET_TWO_FACTOR, actor=admin
    ).exists()
    fresh = HttpClient(enforce_csrf_checks=True)
    assert password_step(fresh, compliance)["Location"] == "/backoffice/"


def test_the_staff_page_offers_no_reset_of_ones_own(admin):
    enrol(admin)
    http = log_in_with_code(admin)
    assert b"Reset two-factor login" not in http.get(f"/backoffice/staff/{admin.pk}/").content
    post_form(http, f"/backoffice/staff/{admin.pk}/reset-two-factor/", {"reason": "lost"})
    assert two_factor.is_enrolled(admin)


def test_support_cannot_reset_anyones_two_factor(support, compliance):
    enrol(compliance)
    response = post_form(
        logged_in(support),
        f"/backoffice/staff/{compliance.pk}/reset-two-factor/",
        {"reason": "lost"},
    )
    assert response.status_code == 403
    assert two_factor.is_enrolled(compliance)


def test_the_staff_list_shows_who_has_two_factor(admin, compliance, support):
    enrol(compliance)
    html = logged_in(admin).get("/backoffice/staff/").content.decode()
    row = re.search(rf"<tr><td>{re.escape(compliance.email)}</td>.*?</tr>", html).group(0)
    assert "<td>on</td>" in row
    row = re.search(rf"<tr><td>{re.escape(support.email)}</td>.*?</tr>", html).group(0)
    assert "<td>off</td>" in row
