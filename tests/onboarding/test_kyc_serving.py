"""How KYC documents go out (attachments; pictures previewed) and where they are kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict
from propdesk.core.models import AuditRecord
from propdesk.onboarding import kyc
from propdesk.onboarding.models import KycDocument
from propdesk.settings import kyc_storage_setting
from tests.conftest import logged_in
from tests.onboarding.factories import (
    PDF,
    answers,
    build_pdf,
    documents,
    kyc_storage,
    png_bomb,
    png_bytes,
    replace_stored_file,
    stored_names,
)

pytestmark = pytest.mark.django_db

IN_MEMORY = {"BACKEND": "django.core.files.storage.InMemoryStorage"}


def submitted(client, form):
    return kyc.submit(client, form_id=form.pk, values=answers(), files=documents())


def document(client, form, key: str) -> KycDocument:
    return submitted(client, form).documents.get(document_key=key)


def fetch(user, document: KycDocument, query: str = ""):
    return logged_in(user).get(f"/documents/kyc/{document.token}/{query}")


def test_a_document_goes_out_as_an_attachment_with_a_locked_down_policy(
    active_client, kyc_form, compliance
):
    response = fetch(compliance, document(active_client, kyc_form, "proof_of_address"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="proof-of-address.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Frame-Options"] == "DENY"
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy.split("; ")
    assert b"".join(response.streaming_content) == PDF


def test_a_checked_picture_is_shown_inline_only_when_a_preview_is_asked_for(
    active_client, kyc_form, compliance
):
    picture = document(active_client, kyc_form, "identity_document")
    preview = fetch(compliance, picture, "?preview=1")
    assert preview["Content-Disposition"] == 'inline; filename="identity-document.png"'
    assert preview["Content-Type"] == "image/png"
    assert b"".join(preview.streaming_content) == png_bytes()
    assert fetch(compliance, picture)["Content-Disposition"].startswith("attachment;")


def test_a_pdf_is_never_shown_inline(active_client, kyc_form, compliance):
    pdf = document(active_client, kyc_form, "proof_of_address")
    assert fetch(compliance, pdf, "?preview=1")["Content-Disposition"].startswith("attachment;")


def test_a_pdf_kept_from_before_the_checks_is_checked_again_and_withheld(
    active_client, kyc_form, compliance
):
    pdf = document(active_client, kyc_form, "proof_of_address")
    replace_stored_file(pdf, build_pdf(catalog=b"/OpenAction<</S/JavaScript/JS(app.alert(1))>>"))
    response = fetch(compliance, pdf)
    assert response.status_code == 409
    assert "Proof of address" in response.content.decode()
    assert "JavaScript" in response.content.decode()
    assert not AuditRecord.objects.filter(action=AuditAction.KYC_DOCUMENT_VIEW).exists()
    with pytest.raises(Conflict):
        kyc.hand_out(active_client.user, pdf.token)


def test_a_pdf_is_checked_once_per_version_of_the_checks(active_client, kyc_form, compliance):
    """Every hand-out checked a PDF again in a process of its own (a second of CPU a download):
    a file that passed today's checks is not checked again until they change."""
    from propdesk.onboarding import documents

    pdf = document(active_client, kyc_form, "proof_of_address")
    assert pdf.checked_with == documents.CHECKS_VERSION  # checked as it was uploaded
    replace_stored_file(pdf, build_pdf())  # an inert file kept from before the checks
    pdf.refresh_from_db()
    assert pdf.checked_with == ""
    assert fetch(compliance, pdf).status_code == 200
    pdf.refresh_from_db()
    assert pdf.checked_with == documents.CHECKS_VERSION
    KycDocument.objects.filter(pk=pdf.pk).update(checked_with="an-older-version")
    replace_stored_file(pdf, build_pdf(catalog=b"/OpenAction<</S/JavaScript/JS(x)>>"))
    assert fetch(compliance, pdf).status_code == 409  # checked again under today's checks


def test_a_picture_bomb_kept_from_before_the_checks_is_not_shown(
    active_client, kyc_form, compliance
):
    picture = document(active_client, kyc_form, "identity_document")
    replace_stored_file(picture, png_bomb(20_000))
    response = fetch(compliance, picture, "?preview=1")
    assert response.status_code == 409
    assert "megapixels" in response.content.decode()


def test_a_file_changed_in_the_storage_since_its_upload_is_withheld(
    active_client, kyc_form, compliance
):
    pdf = document(active_client, kyc_form, "proof_of_address")
    replace_stored_file(pdf, build_pdf(), record=False)
    response = fetch(compliance, pdf)
    assert response.status_code == 409
    assert "changed" in response.content.decode()


def test_a_missing_file_is_a_clear_404(active_client, kyc_form, compliance):
    pdf = document(active_client, kyc_form, "proof_of_address")
    kyc_storage().delete(pdf.stored_name)
    assert fetch(compliance, pdf).status_code == 404


def test_the_review_page_previews_pictures_and_offers_pdfs_for_download(
    active_client, kyc_form, compliance
):
    from propdesk.approvals.models import ApprovalRequest

    submission = submitted(active_client, kyc_form)
    request = ApprovalRequest.objects.get(type_key="kyc")
    page = logged_in(compliance).get(f"/backoffice/approvals/{request.pk}/").content.decode()
    picture = submission.documents.get(document_key="identity_document")
    pdf = submission.documents.get(document_key="proof_of_address")
    assert f'<img src="/documents/kyc/{picture.token}/?preview=1"' in page
    assert "<object" not in page
    # A plain link: the file arrives as a download, and a withheld one shows why, in the tab.
    assert f'<a href="/documents/kyc/{pdf.token}/">Download bill.pdf</a>' in page


# --- where documents are kept --------------------------------------------------------------


def test_documents_are_kept_through_the_configured_storage(
    active_client, kyc_form, compliance, settings
):
    settings.STORAGES = {**settings.STORAGES, "kyc_documents": IN_MEMORY}
    stale = type(active_client).objects.get(pk=active_client.pk)
    submission = submitted(active_client, kyc_form)
    names = sorted(d.stored_name for d in submission.documents.all())
    assert sorted(stored_names()) == names
    assert not (Path(settings.PRIVATE_ROOT) / "kyc").exists()
    pdf = submission.documents.get(document_key="proof_of_address")
    assert b"".join(fetch(compliance, pdf).streaming_content) == PDF
    # A second submission that loses the race removes what it had stored, from that storage.
    with pytest.raises(Conflict):
        kyc.submit(stale, form_id=kyc_form.pk, values=answers(), files=documents())
    assert sorted(stored_names()) == names


def test_by_default_documents_stay_in_the_private_folder_readable_by_the_owner_only(
    active_client, kyc_form, settings
):
    pdf = document(active_client, kyc_form, "proof_of_address")
    folder = Path(settings.PRIVATE_ROOT) / "kyc"
    assert (folder / pdf.stored_name).read_bytes() == PDF
    assert stat.S_IMODE((folder / pdf.stored_name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_the_storage_setting_defaults_to_the_private_folder(tmp_path):
    setting = kyc_storage_setting({}, tmp_path)
    assert setting == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(tmp_path / "kyc"),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }


def test_the_storage_setting_takes_a_backend_and_its_options_from_the_environment(tmp_path):
    environ = {
        "PROPDESK_KYC_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
        "PROPDESK_KYC_STORAGE_OPTIONS": '{"bucket_name": "kyc", "default_acl": "private"}',
    }
    assert kyc_storage_setting(environ, tmp_path) == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "kyc", "default_acl": "private"},
    }
    moved = {"PROPDESK_KYC_STORAGE_OPTIONS": '{"location": "/srv/kyc"}'}
    assert kyc_storage_setting(moved, tmp_path)["OPTIONS"]["location"] == "/srv/kyc"


@pytest.mark.parametrize("options", ["{bucket: kyc}", "[]", '"kyc"'])
def test_storage_options_that_are_not_a_json_object_stop_the_start(tmp_path, options):
    with pytest.raises(ImproperlyConfigured, match="PROPDESK_KYC_STORAGE_OPTIONS"):
        kyc_storage_setting({"PROPDESK_KYC_STORAGE_OPTIONS": options}, tmp_path)


def test_a_private_folder_inside_the_served_static_files_stops_the_start(settings):
    with pytest.raises(ImproperlyConfigured, match="served"):
        kyc_storage_setting({}, Path(settings.STATIC_ROOT) / "private")
