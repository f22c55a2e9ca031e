"""Documents kept from a KYC submit that failed: a file that passed the checks is not asked for
again because another field was wrong.

A kept file belongs to one client and one form's document; the portal's form names it by its
token, and only that client's submit of that form can use it (another's token is no file at
all). It is checked again, as a new upload is, when it is used. One left unused for `KEPT_FOR`
is swept with its file (the `onboarding.discard_kept_uploads` housekeeping sweep), and a
successful submit discards the client's others.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from io import BytesIO
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from propdesk.accounts.models import Client
from propdesk.core.errors import ValidationFailed
from propdesk.onboarding import documents
from propdesk.onboarding.models import KycForm, KycKeptUpload

KEPT_FOR = timedelta(hours=24)


def current(client: Client, form: KycForm) -> dict[str, KycKeptUpload]:
    """The client's kept documents for `form`, by document key (the newest of each)."""
    fresh = KycKeptUpload.objects.filter(
        client=client, form=form, created_at__gt=timezone.now() - KEPT_FOR
    )
    return {row.document_key: row for row in fresh.order_by("id")}


def keep(
    client: Client,
    form: KycForm,
    key: str,
    upload: IO[bytes],
    *,
    content_type: str,
    suffix: str,
    name: str,
) -> KycKeptUpload:
    """Store a checked upload for the client's next submit; it replaces one kept before."""
    saved = documents.store(upload, suffix, content_type)
    try:
        with transaction.atomic():
            replaced = list(
                KycKeptUpload.objects.select_for_update().filter(
                    client=client, form=form, document_key=key
                )
            )
            KycKeptUpload.objects.filter(pk__in=[r.pk for r in replaced]).delete()
            row = KycKeptUpload.objects.create(
                client=client,
                form=form,
                document_key=key,
                stored_name=saved.stored_name,
                original_name=name,
                content_type=saved.content_type,
                size=saved.size,
                sha256=saved.sha256,
            )
    except BaseException:
        documents.discard([saved.stored_name])
        raise
    documents.discard([r.stored_name for r in replaced])
    return row


def take(client: Client, form: KycForm, doc: dict[str, Any], token: Any) -> KycKeptUpload | None:
    """The kept document `token` names, if it is this client's for this form's document and
    still passes the checks; None when it names nothing of theirs (or has expired). A kept file
    that no longer passes raises the same error a new upload would."""
    try:
        wanted = uuid.UUID(str(token))
    except ValueError:
        return None
    row = KycKeptUpload.objects.filter(
        token=wanted,
        client=client,
        form=form,
        document_key=doc["key"],
        created_at__gt=timezone.now() - KEPT_FOR,
    ).first()
    if row is None:
        return None
    try:
        content = documents.read(row.stored_name)
    except FileNotFoundError:
        return None
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise ValidationFailed(
            fields={doc["key"]: f"{doc['label']}: the kept file has changed; upload it again."}
        )
    documents.check(doc["key"], doc["label"], BytesIO(content), len(content))
    return row


def discard_for(client: Client) -> int:
    """Forget the client's kept documents, files and all."""
    return _discard(KycKeptUpload.objects.filter(client=client))


def sweep() -> int:
    """Forget kept documents left unused for `KEPT_FOR`, files and all."""
    return _discard(KycKeptUpload.objects.filter(created_at__lte=timezone.now() - KEPT_FOR))


def _discard(rows: Any) -> int:
    """Delete the rows and their files. A file goes only with a row this call deleted: a submit
    that used a kept file took its row in the same transaction that gave the file to a
    document, so the file is then the document's and stays."""
    gone = []
    for pk, stored_name in rows.values_list("pk", "stored_name"):
        deleted, _ = KycKeptUpload.objects.filter(pk=pk).delete()
        if deleted:
            gone.append(stored_name)
    documents.discard(gone)
    return len(gone)
