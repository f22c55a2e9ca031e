from __future__ import annotations

import pytest

from propdesk.accounts.models import Client
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.onboarding import documents as stored_files
from propdesk.onboarding import kyc
from propdesk.onboarding.kyc_actions import KycRequired
from propdesk.onboarding.models import KycDocument, KycSubmission
from tests.onboarding.factories import JPEG, PDF, answers, documents, stored_names, upload

pytestmark = pytest.mark.django_db


def submit(client, form, **overrides):
    files = overrides.pop("files", None)
    return kyc.submit(
        client,
        form_id=form.pk,
        values=answers(**overrides),
        files=documents() if files is None else files,
    )


def kyc_request(client) -> ApprovalRequest:
    return ApprovalRequest.objects.filter(client=client, type_key="kyc").latest("id")


def test_submission_stores_answers_and_documents_and_waits_for_review(active_client, kyc_form):
    submission = submit(active_client, kyc_form, middle_name="Maria")
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.PENDING
    assert submission.values["residence"] == "CZ"
    assert submission.values["middle_name"] == "Maria"
    stored = {d.document_key: d for d in submission.documents.all()}
    assert stored["identity_document"].content_type == "image/png"
    assert stored["proof_of_address"].content_type == "application/pdf"
    assert stored_files.read(stored["proof_of_address"].stored_name) == PDF
    assert kyc_request(active_client).status == "pending"


def test_a_jpeg_is_accepted_whatever_its_name(active_client, kyc_form):
    submission = submit(
        active_client, kyc_form, files=documents(identity_document=upload("scan", JPEG))
    )
    assert submission.documents.get(document_key="identity_document").content_type == "image/jpeg"


def refused_documents(client, form, **files) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        submit(client, form, files=documents(**files))
    assert not KycSubmission.objects.exists()
    assert not KycDocument.objects.exists()
    assert stored_names() == []
    client.refresh_from_db()
    assert client.kyc_status == Client.KycStatus.NOT_SUBMITTED
    return caught.value.fields


def test_text_file_renamed_png_is_refused(active_client, kyc_form):
    fields = refused_documents(
        active_client, kyc_form, identity_document=upload("id.png", b"just some text, honest")
    )
    assert "PDF, JPEG or PNG" in fields["identity_document"]


def test_empty_file_is_refused(active_client, kyc_form):
    fields = refused_documents(active_client, kyc_form, proof_of_address=upload("bill.pdf", b""))
    assert "empty" in fields["proof_of_address"]


def test_file_over_ten_megabytes_is_refused(active_client, kyc_form):
    big = PDF + b"0" * (11 * 1024 * 1024)
    fields = refused_documents(active_client, kyc_form, proof_of_address=upload("big.pdf", big))
    assert "larger than 10 MB" in fields["proof_of_address"]


def test_missing_required_document_is_named(active_client, kyc_form):
    fields = refused_documents(active_client, kyc_form, proof_of_address=None)
    assert "proof_of_address" in fields


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "17/05/1990"),
        ("date_of_birth", "1800-01-01"),
        ("date_of_birth", ""),
        ("residence", "Atlantis"),
        ("id_type", "Library card"),
        ("middle_name", "x" * 201),
    ],
)
def test_bad_answers_are_refused_and_named(active_client, kyc_form, field, value):
    with pytest.raises(ValidationFailed) as caught:
        submit(active_client, kyc_form, **{field: value})
    assert field in caught.value.fields
    assert not KycSubmission.objects.exists()


def test_unknown_or_inactive_form_is_refused(active_client, kyc_form, admin):
    with pytest.raises(ValidationFailed):
        kyc.submit(active_client, form_id="999", values=answers(), files=documents())
    kyc.save_form(
        kyc_form.pk,
        name="Individual",
        is_active=False,
        fields=[],
        documents=[],
        actor=admin,
    )
    with pytest.raises(ValidationFailed):
        submit(active_client, kyc_form)


def test_approval_verifies_the_client(active_client, kyc_form, compliance):
    submit(active_client, kyc_form)
    approvals.approve(kyc_request(active_client).pk, actor=compliance)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.APPROVED
    assert KycSubmission.objects.get().status == "approved"


def test_rejection_lets_the_client_correct_and_resubmit_keeping_history(
    active_client, kyc_form, compliance
):
    submit(active_client, kyc_form)
    approvals.reject(kyc_request(active_client).pk, actor=compliance, reason="Photo is blurred")
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.REJECTED
    submit(active_client, kyc_form)
    history = list(kyc.history(active_client))
    assert [s.status for s in history] == ["pending", "rejected"]
    assert history[1].rejection_reason == "Photo is blurred"


def test_no_second_submission_while_one_is_pending_or_approved(active_client, kyc_form, compliance):
    submit(active_client, kyc_form)
    with pytest.raises(Conflict):
        submit(active_client, kyc_form)
    approvals.approve(kyc_request(active_client).pk, actor=compliance)
    active_client.refresh_from_db()
    with pytest.raises(Conflict):
        submit(active_client, kyc_form)


def test_automatic_method_approves_at_once(active_client, kyc_form, set_method):
    set_method("kyc", "automatic")
    submit(active_client, kyc_form)
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.APPROVED


def test_blocked_action_waits_for_approved_kyc(active_client, kyc_form, admin, compliance):
    kyc.set_policy(["deposit", "join_challenge"], actor=admin)
    with pytest.raises(KycRequired) as caught:
        kyc.require_kyc(active_client, "deposit")
    assert caught.value.status == 403
    assert caught.value.as_json()["code"] == "kyc_required"
    kyc.require_kyc(active_client, "withdraw")  # not blocked by this firm
    submit(active_client, kyc_form)
    approvals.approve(kyc_request(active_client).pk, actor=compliance)
    active_client.refresh_from_db()
    kyc.require_kyc(active_client, "deposit")


def test_policy_refuses_unknown_actions_and_is_audited(admin):
    with pytest.raises(ValidationFailed):
        kyc.set_policy(["fly"], actor=admin)
    kyc.set_policy(["withdraw"], actor=admin)
    record = AuditRecord.objects.get(action=AuditAction.KYC_POLICY_UPDATE)
    assert record.after == {"blocked_actions": ["withdraw"]}


def test_form_definitions_are_checked(admin):
    cases = [
        [{"key": "a", "label": "A", "kind": "text"}, {"key": "a", "label": "B", "kind": "text"}],
        [{"key": "pick", "label": "Pick", "kind": "choice", "choices": []}],
        [{"key": "Bad Key", "label": "X", "kind": "text"}],
        [{"key": "x", "label": "X", "kind": "colour"}],
        [{"key": "confirm", "label": "X", "kind": "text"}],
        "not a list",
    ]
    for fields in cases:
        with pytest.raises(ValidationFailed):
            kyc.save_form(None, name="Broken", fields=fields, documents=[], actor=admin)


def test_editing_a_form_leaves_past_submissions_as_asked(active_client, kyc_form, admin):
    submission = submit(active_client, kyc_form)
    kyc.save_form(
        kyc_form.pk,
        name="Individual",
        fields=[{"key": "tax_id", "label": "Tax ID", "kind": "text"}],
        documents=[],
        actor=admin,
    )
    submission.refresh_from_db()
    assert submission.form_snapshot["fields"][0]["key"] == "date_of_birth"
    assert (
        AuditRecord.objects.filter(
            action__in=[AuditAction.KYC_FORM_CREATE, AuditAction.KYC_FORM_UPDATE]
        ).count()
        == 2
    )


def test_only_the_owner_and_kyc_reviewers_get_a_document(
    active_client, kyc_form, register, set_method, compliance, support
):
    document = submit(active_client, kyc_form).documents.first()
    assert kyc.document_for(active_client.user, document.token) == document
    assert kyc.document_for(compliance, str(document.token)) == document
    other, _ = register()
    for outsider in (other.user, support):
        with pytest.raises(NotFound):
            kyc.document_for(outsider, document.token)
    for guess in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            kyc.document_for(compliance, guess)


def test_the_file_on_disk_has_an_unguessable_name(active_client, kyc_form):
    document = submit(active_client, kyc_form).documents.first()
    assert "passport" not in document.stored_name
    assert len(document.stored_name) >= 40


def test_pdf_with_scripts_is_refused(active_client, kyc_form):
    scripted = PDF.replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(x)>>")
    fields = refused_documents(
        active_client, kyc_form, proof_of_address=upload("bill.pdf", scripted)
    )
    assert "JavaScript" in fields["proof_of_address"]


@pytest.mark.parametrize("form_id", ["\u00b2", "1e3", "-1", "", None, "9" * 40])
def test_odd_form_ids_are_refused_cleanly(active_client, kyc_form, form_id):
    with pytest.raises(ValidationFailed) as caught:
        kyc.submit(active_client, form_id=form_id, values=answers(), files=documents())
    assert "form" in caught.value.fields


def test_storing_an_oversized_stream_leaves_no_file(settings):
    settings.KYC_MAX_DOCUMENT_BYTES = 1000
    with pytest.raises(ValidationFailed):
        stored_files.store(upload("big.pdf", PDF + b"0" * 5000), ".pdf", "application/pdf")
    assert stored_names() == []


def test_kyc_decisions_are_told_to_the_client_in_plain_words(active_client, kyc_form, compliance):
    from propdesk.notifications.models import Notification

    submit(active_client, kyc_form)
    approvals.approve(kyc_request(active_client).pk, actor=compliance)
    note = Notification.objects.filter(user=active_client.user).latest("id")
    assert (note.event, note.title) == ("kyc.approved", "Your identity is verified")


def test_a_choice_saved_before_choices_were_cleaned_can_still_be_chosen(active_client, kyc_form):
    """Forms saved before text was cleaned keep their choices as typed (a no-break space here);
    the client's answer, cleaned, still matches, and is stored as the form spells it."""
    from propdesk.onboarding.models import KycField

    KycField.objects.filter(form=kyc_form, key="id_type").update(
        choices=["Passport", "ID\u00a0card"]
    )
    submission = kyc.submit(
        active_client,
        form_id=kyc_form.pk,
        values=answers(id_type="ID\u00a0card"),
        files=documents(),
    )
    assert submission.values["id_type"] == "ID\u00a0card"
