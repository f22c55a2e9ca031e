"""The portal's KYC form reports every error at once, and a document that passed in a failed
submit is kept for the same client's next submit (never another's), then swept if left."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from propdesk.onboarding import kept_uploads
from propdesk.onboarding.models import KycDocument, KycKeptUpload
from tests.conftest import logged_in, post_form
from tests.onboarding.factories import (
    PDF,
    answers,
    kyc_storage,
    png_bytes,
    stored_names,
    upload,
)

pytestmark = pytest.mark.django_db


def url(form):
    return f"/portal/kyc/{form.pk}/"


def kept_token(page: str, key: str) -> str:
    found = re.search(rf'name="kept_{key}" value="([0-9a-f-]+)"', page)
    assert found, f"no kept {key} on the page"
    return found.group(1)


def test_a_submit_with_several_errors_shows_them_all_and_keeps_the_answers(active_client, kyc_form):
    http = logged_in(active_client.user)
    data = {
        **answers(date_of_birth="17.5.1990", residence=""),
        "identity_document": upload("id.png", b"hello, I am text"),
    }  # no proof of address, not confirmed
    response = post_form(http, url(kyc_form), data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Date of birth: enter a date as YYYY-MM-DD." in page
    assert "Country of residence" in page
    assert "residence-errors" in page
    assert "upload a PDF, JPEG or PNG" in page
    assert "Proof of address: please upload it." in page
    assert "Please confirm that these details are true" in page
    assert 'value="17.5.1990"' in page
    active_client.refresh_from_db()
    assert active_client.kyc_status == "not_submitted"
    assert not KycKeptUpload.objects.exists()  # the refused file is not kept


def test_a_kept_file_survives_a_failed_submit_and_is_used_without_a_new_upload(
    active_client, kyc_form
):
    http = logged_in(active_client.user)
    first = post_form(
        http,
        url(kyc_form),
        {
            **answers(date_of_birth="nonsense"),
            "confirm": "on",
            "proof_of_address": upload("bill.pdf", PDF),
        },
    )
    assert first.status_code == 422
    page = first.content.decode()
    assert "bill.pdf (kept)" in page
    token = kept_token(page, "proof_of_address")
    again = post_form(
        http, url(kyc_form), {**answers(), "confirm": "on", "kept_proof_of_address": token}
    )
    assert again.status_code == 422  # the identity document is still missing
    page = again.content.decode()
    assert "Identity document: please upload it." in page
    assert "bill.pdf (kept)" in page
    token = kept_token(page, "proof_of_address")
    done = post_form(
        http,
        url(kyc_form),
        {
            **answers(),
            "confirm": "on",
            "kept_proof_of_address": token,
            "identity_document": upload("passport.png", png_bytes()),
        },
    )
    assert done.status_code == 302
    active_client.refresh_from_db()
    assert active_client.kyc_status == "pending"
    proof = KycDocument.objects.get(document_key="proof_of_address")
    assert proof.original_name == "bill.pdf"
    assert proof.stored_name in stored_names()
    assert not KycKeptUpload.objects.exists()


def test_another_client_cannot_use_a_kept_file(active_client, kyc_form, register, set_method):
    mine = logged_in(active_client.user)
    page = post_form(
        mine, url(kyc_form), {**answers(), "proof_of_address": upload("bill.pdf", PDF)}
    ).content.decode()
    token = kept_token(page, "proof_of_address")
    set_method("trader_registration", "automatic")
    other, _ = register()
    theirs = logged_in(other.user)
    response = post_form(
        theirs,
        url(kyc_form),
        {
            **answers(),
            "confirm": "on",
            "kept_proof_of_address": token,
            "identity_document": upload("passport.png", png_bytes()),
        },
    )
    assert response.status_code == 422
    assert "Proof of address: please upload it." in response.content.decode()
    assert "bill.pdf" not in response.content.decode()
    other.refresh_from_db()
    assert other.kyc_status == "not_submitted"
    assert KycKeptUpload.objects.get(token=token).client == active_client  # still theirs


def test_a_kept_file_changed_in_the_storage_is_refused_and_an_old_one_is_swept(
    active_client, kyc_form
):
    http = logged_in(active_client.user)
    page = post_form(
        http, url(kyc_form), {**answers(), "proof_of_address": upload("bill.pdf", PDF)}
    ).content.decode()
    kept = KycKeptUpload.objects.get()
    kyc_storage().delete(kept.stored_name)
    kyc_storage().save(kept.stored_name, upload("x.pdf", b"%PDF-1.4 not what was kept"))
    response = post_form(
        http,
        url(kyc_form),
        {
            **answers(),
            "confirm": "on",
            "kept_proof_of_address": kept_token(page, "proof_of_address"),
            "identity_document": upload("passport.png", png_bytes()),
        },
    )
    assert "the kept file has changed; upload it again" in response.content.decode()
    assert kept_uploads.sweep() == 0  # not old yet
    KycKeptUpload.objects.update(created_at=timezone.now() - kept_uploads.KEPT_FOR - timedelta(1))
    assert kept_uploads.sweep() == 2  # the bill, and the passport kept from the second submit
    assert not KycKeptUpload.objects.exists()
    assert kept.stored_name not in stored_names()
