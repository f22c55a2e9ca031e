"""KYC use cases: the policy, the forms, a client's submission, and who may see a document."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_noop
from django_countries import countries

from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.permissions import SETTINGS_MANAGE, require_permission
from propdesk.core.status import move_status
from propdesk.core.text import tidy
from propdesk.core.validation import FieldErrors, clean_text, parse_id, read_day
from propdesk.onboarding import documents, kept_uploads, kyc_actions
from propdesk.onboarding.kyc_actions import KycRequired
from propdesk.onboarding.models import (
    KycDocument,
    KycDocumentType,
    KycField,
    KycForm,
    KycKeptUpload,
    KycPolicy,
    KycSubmission,
)
from propdesk.onboarding.permissions import KYC_REVIEW

KYC = "kyc"
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 40
RESERVED_KEYS = frozenset({"form", "confirm", "csrfmiddlewaretoken"})


# --- the policy ----------------------------------------------------------------------------


def policy() -> KycPolicy:
    found, _ = KycPolicy.objects.get_or_create(pk=1)
    return found


def set_policy(blocked_actions: Any, *, actor: User) -> KycPolicy:
    require_permission(actor, SETTINGS_MANAGE)
    known = kyc_actions.catalogue()
    chosen = blocked_actions if isinstance(blocked_actions, list) else None
    if chosen is None or any(not isinstance(a, str) or a not in known for a in chosen):
        raise ValidationFailed(
            fields={"blocked_actions": f"Choose among: {', '.join(known)}."},
        )
    with transaction.atomic():
        current = KycPolicy.objects.select_for_update().get_or_create(pk=1)[0]
        before = audit.snapshot(current, ["blocked_actions"])
        current.blocked_actions = sorted(set(chosen))
        current.save()
        if before["blocked_actions"] != current.blocked_actions:
            audit.record(
                actor=actor,
                action=AuditAction.KYC_POLICY_UPDATE,
                object_type="kyc_policy",
                object_id=1,
                summary="Actions blocked until KYC changed",
                before=before,
                after=audit.snapshot(current, ["blocked_actions"]),
            )
    return current


def require_kyc(client: Client, action: str) -> None:
    """Refuse `action` while the firm's policy wants an approved KYC and the client has none."""
    if action not in kyc_actions.catalogue():
        raise ValueError(f"unknown KYC action {action!r}")
    if client.kyc_status == Client.KycStatus.APPROVED:
        return
    if action in policy().blocked_actions:
        sentence = _BEFORE_YOU.get(
            action, gettext_noop("Verify your identity first: your KYC is %(status)s.")
        )
        status = str(client.get_kyc_status_display()).lower()
        raise KycRequired(
            gettext(sentence) % {"status": status},
            extra={"action": action, "kyc_status": client.kyc_status},
        )


# What a client is told when the policy stops an action, whole sentences for the translators.
_BEFORE_YOU = {
    kyc_actions.DEPOSIT: gettext_noop(
        "Verify your identity before you deposit: your KYC is %(status)s."
    ),
    kyc_actions.WITHDRAW: gettext_noop(
        "Verify your identity before you withdraw: your KYC is %(status)s."
    ),
    kyc_actions.JOIN_CHALLENGE: gettext_noop(
        "Verify your identity before you join a challenge: your KYC is %(status)s."
    ),
    kyc_actions.REQUEST_PAYOUT: gettext_noop(
        "Verify your identity before you request a payout: your KYC is %(status)s."
    ),
    kyc_actions.TRADE: gettext_noop(
        "Verify your identity before you trade: your KYC is %(status)s."
    ),
}


def refusal(client: Client, action: str) -> str:
    """Why the policy refuses `action` to the client for now (what `require_kyc` would say), or
    "" when it is allowed: for pages that say so before the client tries."""
    try:
        require_kyc(client, action)
    except KycRequired as refused:
        return refused.message
    return ""


# --- forms -----------------------------------------------------------------------------------


def active_forms() -> QuerySet[KycForm]:
    return KycForm.objects.filter(is_active=True).prefetch_related("fields", "documents")


def snapshot(form: KycForm) -> dict[str, Any]:
    return {
        "name": form.name,
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "kind": f.kind,
                "required": f.required,
                "choices": list(f.choices),
            }
            for f in form.fields.all()
        ],
        "documents": [
            {"key": d.key, "label": d.label, "required": d.required} for d in form.documents.all()
        ],
    }


def _clean_items(
    errors: FieldErrors, name: str, items: Any, *, with_kind: bool
) -> list[dict[str, Any]]:
    if not isinstance(items, list) or len(items) > MAX_FIELDS:
        errors.add(name, f"Give a list of at most {MAX_FIELDS}.")
        return []
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.add(name, f"Item {n} is not an object.")
            continue
        key = item.get("key")
        if not isinstance(key, str) or not KEY.fullmatch(key) or key in seen:
            errors.add(name, f"Item {n}: key must be unique, lowercase letters, digits and _.")
            continue
        seen.add(key)
        label = clean_text(errors, name, item.get("label"), label=f"Item {n} label", max_length=100)
        entry: dict[str, Any] = {
            "key": key,
            "label": label,
            "required": bool(item.get("required", True)),
        }
        if with_kind:
            kind = item.get("kind")
            if kind not in KycField.Kind.values:
                errors.add(name, f"Item {n}: kind is one of {', '.join(KycField.Kind.values)}.")
            choices = item.get("choices") or []
            kept: list[str] = []
            if kind == KycField.Kind.CHOICE:
                if not isinstance(choices, list) or not choices:
                    errors.add(name, f"Item {n}: a choice field needs a list of choices.")
                else:
                    kept = [
                        clean_text(errors, name, c, label=f"Item {n} choice", max_length=100)
                        for c in choices
                    ]
            entry.update(kind=kind, choices=kept)
        cleaned.append(entry)
    return cleaned


def save_form(
    form_id: int | None,
    *,
    name: Any,
    description: Any = "",
    is_default: bool = False,
    is_active: bool = True,
    fields: Any,
    documents: Any,
    actor: User,
) -> KycForm:
    """Create or replace a KYC form. Past submissions keep the questions they answered."""
    require_permission(actor, SETTINGS_MANAGE)
    errors = FieldErrors()
    clean_name = clean_text(errors, "name", name, label="Name", max_length=100)
    clean_description = clean_text(
        errors, "description", description, label="Description", max_length=300, required=False
    )
    field_items = _clean_items(errors, "fields", fields, with_kind=True)
    document_items = _clean_items(errors, "documents", documents, with_kind=False)
    keys = [item["key"] for item in field_items + document_items]
    if len(set(keys)) != len(keys) or RESERVED_KEYS & set(keys):
        errors.add(
            "fields", gettext("Every field and document needs its own key (not form or confirm).")
        )
    clash = KycForm.objects.filter(name__iexact=clean_name)
    if form_id is not None:
        clash = clash.exclude(pk=form_id)
    if clean_name and clash.exists():
        errors.add("name", gettext("A KYC form with this name already exists."))
    errors.raise_if_any()
    with transaction.atomic():
        form = (
            KycForm()
            if form_id is None
            else KycForm.objects.select_for_update().filter(pk=form_id).first()
        )
        if form is None:
            raise NotFound(gettext("No such KYC form."))
        before = snapshot(form) if form.pk else None
        form.name, form.description = clean_name, clean_description
        form.is_default, form.is_active = bool(is_default), bool(is_active)
        form.save()
        if form.is_default:
            KycForm.objects.exclude(pk=form.pk).update(is_default=False)
        form.fields.all().delete()
        form.documents.all().delete()
        KycField.objects.bulk_create(
            KycField(form=form, position=i, **item) for i, item in enumerate(field_items)
        )
        KycDocumentType.objects.bulk_create(
            KycDocumentType(form=form, position=i, **item) for i, item in enumerate(document_items)
        )
        audit.record(
            actor=actor,
            action=(AuditAction.KYC_FORM_CREATE if before is None else AuditAction.KYC_FORM_UPDATE),
            object_type="kyc_form",
            object_id=form.pk,
            summary=f"KYC form {form.name} {'created' if before is None else 'changed'}",
            before=before,
            after=snapshot(form),
        )
    return form


# --- submitting ------------------------------------------------------------------------------


def submission_block(client: Client) -> str | None:
    if client.status != Client.Status.ACTIVE:
        return gettext("Your account is not active.")
    if client.kyc_status == Client.KycStatus.PENDING:
        return gettext("Your KYC is being reviewed; we will tell you the outcome.")
    if client.kyc_status == Client.KycStatus.APPROVED:
        return gettext("Your identity is already verified.")
    return None


def _clean_value(errors: FieldErrors, spec: dict[str, Any], raw: Any) -> str:
    key, label = spec["key"], spec["label"]
    text = clean_text(errors, key, raw, label=label, max_length=200, required=spec["required"])
    if key in errors or not text:
        return text
    if spec["kind"] == KycField.Kind.DATE:
        value = read_day(text)
        if value is None:
            errors.add(key, gettext("%(label)s: enter a date as YYYY-MM-DD.") % {"label": label})
            return text
        if not date(1900, 1, 1) <= value <= date(2100, 12, 31):
            errors.add(key, gettext("%(label)s: this date is out of range.") % {"label": label})
    elif spec["kind"] == KycField.Kind.CHOICE:
        # A form saved before choices were cleaned keeps them as typed: compare them cleaned,
        # and store the choice as the form spells it.
        spelt = {tidy(choice): choice for choice in spec["choices"]}
        if text not in spelt:
            errors.add(
                key,
                gettext("%(label)s: choose one of %(choices)s.")
                % {"label": label, "choices": ", ".join(spec["choices"])},
            )
        else:
            text = spelt[text]
    elif spec["kind"] == KycField.Kind.COUNTRY:
        text = text.upper()
        if text not in countries:
            errors.add(
                key,
                gettext("%(label)s: choose a country (ISO code such as CZ).") % {"label": label},
            )
    return text


def submit(
    client: Client,
    *,
    form_id: Any,
    values: dict[str, Any],
    files: dict[str, Any],
    too_large: Collection[str] = (),
    kept: dict[str, Any] | None = None,
    confirmed: bool = True,
    keep: bool = False,
) -> KycSubmission:
    """Check the answers and documents, store them, and open a `kyc` request.

    Everything wrong raises one `ValidationFailed` naming each field and document; nothing is
    submitted. With `keep`, the documents that passed are kept for the client's next submit
    (see `kept_uploads`), which names them in `kept` (document key -> token) instead of an
    upload. `confirmed` is the client's word that the details are true (the portal asks).
    """
    block = submission_block(client)
    if block is not None:
        raise Conflict(block, code="kyc_not_open")
    wanted = parse_id(form_id)
    form = active_forms().filter(pk=wanted).first() if wanted is not None else None
    if form is None:
        raise ValidationFailed(fields={"form": gettext("Choose one of the KYC forms.")})
    spec = snapshot(form)
    errors = FieldErrors()
    answers = {f["key"]: _clean_value(errors, f, values.get(f["key"])) for f in spec["fields"]}
    checked: list[tuple[dict[str, Any], IO[bytes], str, str, str]] = []
    reused: list[tuple[dict[str, Any], KycKeptUpload]] = []
    for doc in spec["documents"]:
        upload = files.get(doc["key"])
        if doc["key"] in too_large:
            errors.add(doc["key"], documents.larger_than_allowed(doc["label"]))
            continue
        if upload is None:
            try:
                row = kept_uploads.take(client, form, doc, (kept or {}).get(doc["key"]) or "")
            except ValidationFailed as exc:
                for field, message in exc.fields.items():
                    errors.add(field, message)
                continue
            if row is not None:
                reused.append((doc, row))
            elif doc["required"]:
                errors.add(
                    doc["key"], gettext("%(label)s: please upload it.") % {"label": doc["label"]}
                )
            continue
        try:
            content_type, suffix = documents.check(
                doc["key"], doc["label"], upload, getattr(upload, "size", None)
            )
        except ValidationFailed as exc:
            for field, message in exc.fields.items():
                errors.add(field, message)
            continue
        name = str(getattr(upload, "name", "") or "document")[-255:]
        checked.append((doc, upload, content_type, suffix, name))
    if not confirmed:
        errors.add(
            "confirm",
            gettext("Please confirm that these details are true and the documents yours."),
        )
    if errors.errors and keep:
        for doc, upload, content_type, suffix, name in checked:
            kept_uploads.keep(
                client,
                form,
                doc["key"],
                upload,
                content_type=content_type,
                suffix=suffix,
                name=name,
            )
    errors.raise_if_any(gettext("Please correct the marked fields and documents."))

    stored: list[str] = []
    try:
        # Copy the files first, outside the transaction: no row lock is held while megabytes
        # move, and if anything after this fails, the copies are removed below.
        saved_files = []
        for doc, upload, content_type, suffix, name in checked:
            saved = documents.store(upload, suffix, content_type)
            stored.append(saved.stored_name)
            saved_files.append((doc, name, saved))
        with transaction.atomic():
            locked = Client.objects.select_for_update().get(pk=client.pk)
            block = submission_block(locked)
            if block is not None:
                raise Conflict(block, code="kyc_not_open")
            submission = KycSubmission.objects.create(
                client=locked, form=form, form_snapshot=spec, values=answers
            )
            for doc, name, saved in saved_files:
                KycDocument.objects.create(
                    submission=submission,
                    document_key=doc["key"],
                    label=doc["label"],
                    stored_name=saved.stored_name,
                    original_name=name,
                    content_type=saved.content_type,
                    size=saved.size,
                    sha256=saved.sha256,
                    checked_with=documents.CHECKS_VERSION,
                )
            for doc, row in reused:  # its file moves from the kept row to the document
                KycDocument.objects.create(
                    submission=submission,
                    document_key=doc["key"],
                    label=doc["label"],
                    stored_name=row.stored_name,
                    original_name=row.original_name,
                    content_type=row.content_type,
                    size=row.size,
                    sha256=row.sha256,
                    checked_with=documents.CHECKS_VERSION,
                )
            taking = [row.pk for _, row in reused]
            still = set(KycKeptUpload.objects.filter(pk__in=taking).values_list("pk", flat=True))
            taken, _ = KycKeptUpload.objects.filter(pk__in=taking).delete()
            if taken != len(reused):  # swept meanwhile: its file is gone or going
                raise ValidationFailed(
                    gettext("A kept document has expired."),
                    fields={
                        doc["key"]: f"{doc['label']}: the kept file has expired; upload it again."
                        for doc, row in reused
                        if row.pk not in still or len(still) == len(reused)
                    },
                )
            move_status(
                locked,
                Client.KycStatus.PENDING,
                Client.KYC_TRANSITIONS,
                field="kyc_status",
                what="KYC",
            )
            locked.save(update_fields=["kyc_status"])
            approvals.submit(KYC, client=locked, payload={"submission_id": submission.pk})
    except BaseException:
        documents.discard(stored)  # the rows rolled back; the files must go too
        raise
    kept_uploads.discard_for(client)  # what was kept and not used: no longer wanted
    submission.refresh_from_db()
    return submission


def history(client: Client) -> QuerySet[KycSubmission]:
    return client.kyc_submissions.prefetch_related("documents")


@dataclass(frozen=True)
class Handout:
    """A document's bytes as they go out, and whether they may be shown inline."""

    document: KycDocument
    content: bytes
    inline: bool


def hand_out(user: User, token: Any, *, preview: bool = False) -> Handout:
    """The document's file for `user` (see `document_for`), checked again on the way out.

    A file kept before today's checks existed, or changed in the storage since its upload, is
    withheld. Only a picture that passes is ever shown inline (`preview`); a PDF always goes
    out as a download. A staff member's look at someone's document goes in the audit log."""
    document = document_for(user, token)
    try:
        content = documents.read(document.stored_name)
    except FileNotFoundError:
        raise NotFound(gettext("The file of this document is missing.")) from None
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise Conflict(
            f"{document.label}: the stored file has changed since it was uploaded, "
            "so it is not handed out.",
            code="document_changed",
        )
    if document.is_image:
        reason = documents.picture_reason(content, document.content_type)
    elif document.checked_with == documents.CHECKS_VERSION:
        reason = None  # this very file (its sha256 matched) passed today's checks already
    else:
        reason = documents.inspect(content, document.content_type)
        if reason is None:
            KycDocument.objects.filter(pk=document.pk).update(checked_with=documents.CHECKS_VERSION)
    if reason is not None:
        raise Conflict(
            f"{document.label}: {reason}. This file, stored before the current checks, does "
            "not pass them and is not handed out; ask the client for another copy.",
            code="document_refused",
        )
    if document.submission.client.user_id != user.pk:
        with transaction.atomic():
            audit.record(
                actor=user,
                action=AuditAction.KYC_DOCUMENT_VIEW,
                object_type="kyc_document",
                object_id=document.pk,
                summary=f"Viewed {document.label} of client {document.submission.client_id}",
            )
    return Handout(document, content, inline=preview and document.is_image)


def document_for(user: User, token: Any) -> KycDocument:
    """The document, if `user` owns it or may review KYC; otherwise it does not exist for them."""
    try:
        key = uuid.UUID(str(token))
    except ValueError:
        raise NotFound(gettext("No such document.")) from None
    document = KycDocument.objects.select_related("submission__client").filter(token=key).first()
    if document is None:
        raise NotFound(gettext("No such document."))
    owner = document.submission.client.user_id == user.pk
    if not owner and not user.has_permission(KYC_REVIEW):
        raise NotFound(gettext("No such document."))
    return document
