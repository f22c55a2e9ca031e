from __future__ import annotations

import json
import re

import pytest
from django.test import Client as HttpClient

from propdesk.approvals.models import ApprovalRequest
from propdesk.onboarding import kyc
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form
from tests.onboarding.factories import PDF, answers, documents, png_bytes, upload

pytestmark = pytest.mark.django_db


def submitted(client, form):
    return kyc.submit(client, form_id=form.pk, values=answers(), files=documents())


def test_document_url_serves_the_owner_and_reviewers_only(
    active_client, kyc_form, register, compliance, support
):
    document = submitted(active_client, kyc_form).documents.get(document_key="identity_document")
    url = f"/documents/kyc/{document.token}/"
    mine = logged_in(active_client.user).get(url)
    assert mine.status_code == 200
    assert mine["Content-Type"] == "image/png"
    assert mine["X-Content-Type-Options"] == "nosniff"
    assert b"".join(mine.streaming_content) == png_bytes()
    assert logged_in(compliance).get(url).status_code == 200
    other, _ = register()
    assert logged_in(other.user).get(url).status_code == 404
    assert logged_in(support).get(url).status_code == 404
    anonymous = HttpClient().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")


def test_review_page_shows_fields_and_documents_side_by_side(active_client, kyc_form, compliance):
    submission = submitted(active_client, kyc_form)
    request = ApprovalRequest.objects.get(type_key="kyc")
    page = logged_in(compliance).get(f"/backoffice/approvals/{request.pk}/").content.decode()
    assert "Czechia (CZ)" in page
    assert "1990-05-17" in page
    for document in submission.documents.all():
        assert f"/documents/kyc/{document.token}/" in page
    assert "<img" in page
    assert "Download" in page


def test_portal_submission_with_files(active_client, kyc_form):
    http = logged_in(active_client.user)
    http.get("/portal/kyc/")
    data = {
        **answers(),
        "confirm": "on",
        "identity_document": upload("passport.png", png_bytes()),
        "proof_of_address": upload("bill.pdf", PDF),
    }
    response = post_form(http, f"/portal/kyc/{kyc_form.pk}/", data)
    assert response.status_code == 302
    active_client.refresh_from_db()
    assert active_client.kyc_status == "pending"
    assert "Pending review" in http.get("/portal/kyc/").content.decode()


def test_portal_shows_a_clear_message_for_a_renamed_text_file(active_client, kyc_form):
    http = logged_in(active_client.user)
    data = {
        **answers(),
        "confirm": "on",
        "identity_document": upload("id.png", b"hello, I am text"),
        "proof_of_address": upload("bill.pdf", PDF),
    }
    response = post_form(http, f"/portal/kyc/{kyc_form.pk}/", data)
    assert response.status_code == 422
    assert b"upload a PDF, JPEG or PNG" in response.content


def test_blocked_action_page_links_to_kyc(active_client, admin):
    from propdesk.core.web import DomainErrorMiddleware
    from propdesk.onboarding.kyc_actions import KycRequired

    kyc.set_policy(["deposit"], actor=admin)
    http = logged_in(active_client.user)
    request = http.get("/portal/").wsgi_request
    try:
        kyc.require_kyc(active_client, "deposit")
    except KycRequired as exc:
        response = DomainErrorMiddleware(lambda r: None).process_exception(request, exc)
    assert response is not None
    assert response.status_code == 403
    assert b"Verify my identity" in response.content
    assert b"/portal/kyc/" in response.content


def test_kyc_api_lists_forms_accepts_multipart_and_reports_status(active_client, kyc_form):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    forms = api.http.get("/api/v1/kyc/forms", **auth).json()
    assert forms[0]["name"] == "Individual"
    assert [d["key"] for d in forms[0]["documents"]] == ["identity_document", "proof_of_address"]
    data = {"form": str(kyc_form.pk), **answers(), **documents()}
    created = api.http.post("/api/v1/kyc", data, **auth)
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    state = api.http.get("/api/v1/kyc", **auth).json()
    assert state["status"] == "pending"
    [submission] = state["submissions"]
    assert {d["content_type"] for d in submission["documents"]} == {"image/png", "application/pdf"}


def test_kyc_api_takes_the_answers_as_one_json_part(active_client, kyc_form):
    """The body the OpenAPI documents: `form`, `answers` as a JSON object, the files."""
    api = Api()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api.token(active_client.user.email, PASSWORD)}"}
    data = {"form": str(kyc_form.pk), "answers": json.dumps(answers()), **documents()}
    created = api.http.post("/api/v1/kyc", data, **auth)
    assert created.status_code == 201
    [submission] = api.http.get("/api/v1/kyc", **auth).json()["submissions"]
    assert submission["values"]["residence"] == "CZ"
    assert submission["values"]["date_of_birth"] == "1990-05-17"


@pytest.mark.parametrize(
    "given",
    [
        "{not json",
        "[]",
        '{"residence": 1}',
        '"CZ"',
        '{"a": ' + "[" * 20_000 + "]" * 20_000 + "}",  # nested deeper than a parser recurses
        '{"note": "' + "x" * 70_000 + '"}',  # longer than any form's answers
    ],
    ids=["not-json", "array", "number", "string", "deeply-nested", "too-long"],
)
def test_kyc_api_refuses_answers_that_are_not_an_object_of_texts(active_client, kyc_form, given):
    api = Api()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api.token(active_client.user.email, PASSWORD)}"}
    data = {"form": str(kyc_form.pk), "answers": given, **documents()}
    response = api.http.post("/api/v1/kyc", data, **auth)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["answers"]
    assert kyc.history(active_client).count() == 0


def test_kyc_api_refuses_a_field_given_both_as_a_part_and_in_the_answers(active_client, kyc_form):
    api = Api()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api.token(active_client.user.email, PASSWORD)}"}
    given = answers()
    data = {
        "form": str(kyc_form.pk),
        "answers": json.dumps(given),
        "residence": given["residence"],
        **documents(),
    }
    response = api.http.post("/api/v1/kyc", data, **auth)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["residence"]
    assert kyc.history(active_client).count() == 0


def test_kyc_api_names_bad_files(active_client, kyc_form):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    data = {
        "form": str(kyc_form.pk),
        **answers(),
        **documents(proof_of_address=upload("bill.pdf", b"")),
    }
    response = api.http.post("/api/v1/kyc", data, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422
    assert "proof_of_address" in response.json()["fields"]


def test_staff_have_no_kyc_of_their_own(compliance):
    api = Api()
    token = api.token(compliance.email, PASSWORD)
    assert api.http.get("/api/v1/kyc", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403


def test_settings_page_edits_the_policy_and_forms(admin, kyc_form):
    http = logged_in(admin)
    assert http.get("/backoffice/settings/kyc/").status_code == 200
    assert http.get(f"/backoffice/settings/kyc/forms/{kyc_form.pk}/").status_code == 200
    response = post_form(
        http, "/backoffice/settings/kyc/", {"blocked_actions": ["deposit", "withdraw"]}
    )
    assert response.status_code == 302
    assert kyc.policy().blocked_actions == ["deposit", "withdraw"]


def test_support_cannot_change_the_kyc_policy(support):
    http = logged_in(support)
    response = post_form(http, "/backoffice/settings/kyc/", {"blocked_actions": ["deposit"]})
    assert response.status_code == 403
    assert kyc.policy().blocked_actions == []


def test_staff_who_may_not_change_the_policy_see_it_read_only(compliance, admin):
    kyc.set_policy(["deposit"], actor=admin)
    http = logged_in(compliance)
    page = http.get("/backoffice/settings/kyc/").content.decode()
    assert 'id="read-only"' in page
    assert "Save policy" not in page
    boxes = re.findall(r'<input type="checkbox" name="blocked_actions"[^>]*>', page)
    assert boxes, "the policy's actions are listed"
    assert all("disabled" in box for box in boxes)
    assert any('value="deposit"' in box and "checked" in box for box in boxes)
    response = post_form(http, "/backoffice/settings/kyc/", {"blocked_actions": ["withdraw"]})
    assert response.status_code == 403
    assert kyc.policy().blocked_actions == ["deposit"]


def test_support_sees_no_kyc_answers_or_documents(active_client, kyc_form, support):
    submitted(active_client, kyc_form)
    request = ApprovalRequest.objects.get(type_key="kyc")
    page = logged_in(support).get(f"/backoffice/approvals/{request.pk}/").content.decode()
    assert "1990-05-17" not in page
    assert "/documents/kyc/" not in page
    assert "personal data" in page
    api = Api()
    token = api.token(support.email, PASSWORD)
    detail = api.http.get(f"/api/v1/approvals/{request.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert detail.json()["details"] == []


def test_documents_are_served_with_a_locked_down_policy_and_a_safe_name(
    active_client, kyc_form, compliance
):
    from propdesk.core.audit import AuditAction
    from propdesk.core.models import AuditRecord

    document = submitted(active_client, kyc_form).documents.get(document_key="proof_of_address")
    response = logged_in(compliance).get(f"/documents/kyc/{document.token}/")
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Content-Disposition"] == 'attachment; filename="proof-of-address.pdf"'
    viewed = AuditRecord.objects.get(action=AuditAction.KYC_DOCUMENT_VIEW)
    assert viewed.actor == compliance
    assert viewed.object_id == str(document.pk)


def test_an_upload_over_ten_megabytes_is_dropped_while_streaming(active_client, kyc_form):
    http = logged_in(active_client.user)
    data = {
        **answers(),
        "confirm": "on",
        "identity_document": upload("passport.png", png_bytes()),
        "proof_of_address": upload("huge.pdf", PDF + b"0" * (11 * 1024 * 1024)),
    }
    response = post_form(http, f"/portal/kyc/{kyc_form.pk}/", data)
    assert response.status_code == 422
    assert b"larger than 10 MB" in response.content


def test_too_many_fields_get_a_json_400(active_client):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    data = {f"f{n}": "x" for n in range(1200)}
    response = api.http.post("/api/v1/kyc", data, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_form_editor_reports_a_bad_row(admin, kyc_form):
    http = logged_in(admin)
    data = {
        "name": "Individual",
        "is_active": "on",
        "fields-TOTAL_FORMS": "1",
        "fields-INITIAL_FORMS": "0",
        "fields-0-key": "k" * 41,
        "fields-0-label": "Too long a key",
        "fields-0-kind": "text",
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
    }
    response = post_form(http, f"/backoffice/settings/kyc/forms/{kyc_form.pk}/", data)
    assert response.status_code == 422
    assert b"Field 1, key" in response.content


def test_an_empty_post_to_the_form_editor_is_refused_and_changes_nothing(admin, kyc_form):
    http = logged_in(admin)
    before = kyc.snapshot(kyc_form)
    response = post_form(http, f"/backoffice/settings/kyc/forms/{kyc_form.pk}/", {})
    assert response.status_code == 422
    kyc_form.refresh_from_db()
    assert kyc.snapshot(kyc_form) == before
