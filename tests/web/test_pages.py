"""The HTML side through Django's test client: who sees what, CSRF, and forms that refuse."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.models import Client, Role, User
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from tests.conftest import PASSWORD, logged_in, post_form, registration

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "/backoffice/",
    "/backoffice/approvals/",
    "/backoffice/approvals/all/",
    "/backoffice/approvals/queue/trader_registration/",
    "/backoffice/clients/",
    "/backoffice/settings/approval-methods/",
]
ADMIN_PAGES = [
    "/backoffice/settings/approval-methods/trader_registration/",
    "/backoffice/staff/",
    "/backoffice/roles/",
    "/backoffice/roles/new/",
    "/backoffice/audit/",
]


@pytest.mark.parametrize("path", STAFF_PAGES + ADMIN_PAGES)
def test_administrator_sees_every_back_office_page(admin, register, path):
    register()
    assert logged_in(admin).get(path).status_code == 200


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_support_sees_queues_and_clients(support, register, path):
    register()
    assert logged_in(support).get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_support_is_kept_out_of_settings_staff_and_audit(support, path):
    response = logged_in(support).get(path)
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_review_page_shows_the_request_and_why_support_cannot_decide(support, register):
    client, request = register()
    page = logged_in(support).get(f"/backoffice/approvals/{request.pk}/").content.decode()
    assert client.user.email in page
    assert "Your role does not allow deciding" in page
    assert 'name="decision"' not in page


def test_the_history_names_the_client_who_submitted_not_the_system(support, register):
    client, request = register()
    page = logged_in(support).get(f"/backoffice/approvals/{request.pk}/").content.decode()
    assert f"the client, {client.user.email}" in page


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_clients_cannot_open_the_back_office(register, set_method, path):
    set_method("trader_registration", "automatic")
    client, _ = register()
    assert logged_in(client.user).get(path).status_code == 403


def test_anonymous_visitor_is_sent_to_login():
    response = HttpClient().get("/backoffice/approvals/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", ["/backoffice/prop-trading/participants/", "/portal/wallet/"])
def test_a_part_refreshing_itself_after_the_session_ended_sends_the_page_to_login(path):
    response = HttpClient().get(
        path, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{path}?page=2"
    )
    assert response.status_code == 204  # nothing swapped into the part
    assert response["HX-Redirect"] == f"/login/?next={path}%3Fpage%3D2"


def test_staff_cannot_use_the_portal(compliance):
    assert logged_in(compliance).get("/portal/").status_code == 403


def test_approve_form_without_csrf_token_is_refused(compliance, register):
    _, request = register()
    response = logged_in(compliance).post(f"/backoffice/approvals/{request.pk}/approve/", {})
    assert response.status_code == 403
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_reject_form_needs_a_reason(compliance, register):
    _, request = register()
    http = logged_in(compliance)
    response = post_form(http, f"/backoffice/approvals/{request.pk}/reject/", {"reason": " "})
    assert response.status_code == 422
    assert b"This field is required." in response.content
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_approve_form_approves_and_redirects_to_the_review(compliance, register):
    client, request = register()
    http = logged_in(compliance)
    response = post_form(
        http, f"/backoffice/approvals/{request.pk}/approve/", {"comment": "ok", "level": 1}
    )
    assert response.status_code == 302
    assert Client.objects.get(pk=client.pk).status == "active"


def test_login_page_logs_a_staff_member_into_the_back_office(compliance):
    http = HttpClient()
    response = post_form(http, "/login/", {"email": compliance.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/"


def test_login_ignores_a_next_url_off_site(compliance):
    http = HttpClient()
    response = post_form(
        http,
        "/login/",
        {"email": compliance.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/backoffice/"


def test_login_page_is_throttled(register, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 2
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    client, _ = register()
    http = HttpClient()
    for _ in range(2):
        post_form(http, "/login/", {"email": client.user.email, "password": "wrong"})
    response = post_form(http, "/login/", {"email": client.user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content


def test_throttle_by_address_stops_guessing_across_many_emails(register, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP = 3
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    client, _ = register()
    http = HttpClient()
    for n in range(3):
        post_form(http, "/login/", {"email": f"guess{n}@example.com", "password": "x"})
    response = post_form(http, "/login/", {"email": client.user.email, "password": PASSWORD})
    assert response.status_code == 429


def test_a_suspended_client_loses_the_session(register, set_method, compliance):
    from propdesk.accounts.services import set_client_suspended

    set_method("trader_registration", "automatic")
    client, _ = register()
    http = logged_in(client.user)
    assert http.get("/portal/").status_code == 200
    set_client_suspended(client.pk, suspended=True, actor=compliance, reason="Chargeback")
    response = http.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_registration_form_refuses_mismatched_passwords(db):
    http = HttpClient()
    data = registration()
    data["type"] = data.pop("kind")
    data.pop("referral_code")
    data["password_again"] = data["password"] + "x"
    response = post_form(http, "/portal/register/", data)
    assert response.status_code == 422
    assert b"The two passwords are not the same." in response.content
    assert User.objects.count() == 0


def test_staff_and_roles_are_managed_by_an_administrator(admin):
    http = logged_in(admin)
    created = post_form(
        http,
        "/backoffice/roles/new/",
        {"name": "Auditor", "description": "Reads the log", "permissions": ["audit.view"]},
    )
    assert created.status_code == 302
    role = Role.objects.get(name="Auditor")
    assert role.permissions == ["audit.view"]
    response = post_form(
        http,
        "/backoffice/staff/",
        {"email": "auditor@firm.test", "name": "Audi", "role": "Auditor", "password": PASSWORD},
    )
    assert response.status_code == 302
    auditor = User.objects.get(email="auditor@firm.test")
    assert auditor.has_permission("audit.view")
    assert not auditor.has_permission("approvals.view")
    assert AuditRecord.objects.filter(action=AuditAction.ROLE_CREATE).exists()
    assert AuditRecord.objects.filter(action=AuditAction.STAFF_CREATE, actor=admin).exists()


def test_role_form_refuses_unknown_permissions_and_duplicate_names(admin):
    http = logged_in(admin)
    response = post_form(
        http, "/backoffice/roles/new/", {"name": "compliance", "permissions": ["approvals.view"]}
    )
    assert response.status_code == 422
    assert b"already exists" in response.content
    response = post_form(
        http, "/backoffice/roles/new/", {"name": "Hacker", "permissions": ["root.everything"]}
    )
    assert response.status_code == 422
    assert not Role.objects.filter(name="Hacker").exists()


def test_administrator_role_cannot_be_edited(admin):
    role = Role.objects.get(name="Administrator")
    response = post_form(
        logged_in(admin), f"/backoffice/roles/{role.pk}/", {"name": "Nobody", "permissions": []}
    )
    assert response.status_code == 422
    assert Role.objects.get(pk=role.pk).name == "Administrator"


def test_administrator_cannot_lock_themself_out(admin):
    support = Role.objects.get(name="Support")
    response = post_form(
        logged_in(admin), f"/backoffice/staff/{admin.pk}/", {"role": support.pk, "is_active": ""}
    )
    assert response.status_code == 422
    admin.refresh_from_db()
    assert admin.role.name == "Administrator"
    assert admin.is_active


def test_portal_shows_the_clients_own_notifications_only(register, set_method, compliance):
    set_method("trader_registration", "automatic")
    mine, my_request = register()
    _, other_request = register(email="other@example.com")
    page = logged_in(mine.user).get("/portal/notifications/").content.decode()
    assert "your registration (reference" in page
    assert f"reference {my_request.reference}" in page
    assert other_request.reference not in page


def test_compliance_suspends_and_reactivates_a_client_with_audit(register, set_method, compliance):
    set_method("trader_registration", "automatic")
    client, _ = register()
    http = logged_in(compliance)
    refused = post_form(http, f"/backoffice/clients/{client.pk}/suspend/", {"reason": ""})
    assert refused.status_code == 302
    assert Client.objects.get(pk=client.pk).status == "active"
    post_form(http, f"/backoffice/clients/{client.pk}/suspend/", {"reason": "Chargeback"})
    assert Client.objects.get(pk=client.pk).status == "suspended"
    post_form(http, f"/backoffice/clients/{client.pk}/reactivate/", {})
    assert Client.objects.get(pk=client.pk).status == "active"
    actions = list(
        AuditRecord.objects.filter(object_type="client").values_list("action", flat=True)
    )
    assert sorted(actions) == [AuditAction.CLIENT_REACTIVATE, AuditAction.CLIENT_SUSPEND]


def test_support_cannot_suspend_clients(register, set_method, support):
    set_method("trader_registration", "automatic")
    client, _ = register()
    response = post_form(
        logged_in(support), f"/backoffice/clients/{client.pk}/suspend/", {"reason": "x"}
    )
    assert response.status_code == 403
    assert Client.objects.get(pk=client.pk).status == "active"


def test_a_pending_client_cannot_be_suspended(register, compliance):
    client, _ = register()
    post_form(logged_in(compliance), f"/backoffice/clients/{client.pk}/suspend/", {"reason": "x"})
    assert Client.objects.get(pk=client.pk).status == "pending_approval"
