"""Identity documents: judged by their content, kept under random names in a private storage.

The storage is Django's `STORAGES["kyc_documents"]` (the private folder by default, or any
storage a firm configures, such as an S3 bucket); nothing here touches a path of its own.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils.formats import number_format
from django.utils.translation import gettext

import propdesk
from propdesk.core.errors import ValidationFailed
from propdesk.onboarding import document_checks

STORAGE = "kyc_documents"
# What a file *is*, by its first bytes; its name and the browser's word count for nothing.
SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
]
CHUNK = 64 * 1024
PACKAGE_ROOT = Path(propdesk.__file__).resolve().parent.parent


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    content_type: str
    size: int
    sha256: str


def storage() -> Storage:
    return storages[STORAGE]


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, suffix in SIGNATURES:
        if head.startswith(magic):
            return content_type, suffix
    return None


def larger_than_allowed(label: str) -> str:
    """The refusal of a document over the size limit, in the reader's language."""
    return gettext("%(label)s: the file is larger than %(limit)d MB.") % {
        "label": label,
        "limit": settings.KYC_MAX_DOCUMENT_BYTES // (1024 * 1024),
    }


def check(field: str, label: str, upload: IO[bytes], size: int | None) -> tuple[str, str]:
    """The file's content type and suffix, or a clear error naming the document.

    The first bytes say what the file claims to be; the parsers then say whether it is that,
    within the limits, and inert (see `document_checks`)."""
    limit = settings.KYC_MAX_DOCUMENT_BYTES
    too_large = larger_than_allowed(label)
    if size is not None and size > limit:
        raise ValidationFailed(fields={field: too_large})
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if len(data) > limit:
        raise ValidationFailed(fields={field: too_large})
    if not data:
        raise ValidationFailed(
            fields={field: gettext("%(label)s: the file is empty.") % {"label": label}}
        )
    kind = sniff(data[:16])
    if kind is None:
        raise ValidationFailed(
            fields={
                field: gettext("%(label)s: upload a PDF, JPEG or PNG (this file is none of them).")
                % {"label": label}
            }
        )
    reason = inspect(data, kind[0])
    if reason is not None and kind[0] == "application/pdf":
        reason = f"{reason}; {gettext(document_checks.INSTEAD)}"
    if reason is not None:
        raise ValidationFailed(fields={field: f"{label}: {reason}."})
    return kind


# Raise it whenever what the checks refuse changes: every stored file is checked again, once,
# the next time it is handed out.
CHECKS_VERSION = "2026-12-1"


def inspect(data: bytes, content_type: str) -> str | None:
    """Why the file is refused, or None: the parsers run in a child process held to
    `KYC_DOCUMENT_CHECK_MEMORY_MB` and `KYC_DOCUMENT_CHECK_CPU_SECONDS`."""
    cpu = settings.KYC_DOCUMENT_CHECK_CPU_SECONDS
    command = [
        sys.executable,
        "-s",  # no user site
        "-P",  # no current folder on the path
        "-m",
        document_checks.__name__,
        str(settings.KYC_DOCUMENT_CHECK_MEMORY_MB * 1024 * 1024),
        str(cpu),
        content_type,
    ]
    # Nothing of our environment (the secret key, the database's password) goes to the process
    # that reads hostile bytes: only where to find this package.
    environment = {"PYTHONPATH": str(PACKAGE_ROOT)}
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            command,
            input=data,
            capture_output=True,
            timeout=3 * cpu + 5,
            check=False,
            env=environment,
        )
    except subprocess.TimeoutExpired:
        return gettext(document_checks.TOO_COMPLEX)
    if done.returncode < 0:  # killed by a signal: over its CPU time, or out of memory
        return gettext(document_checks.TOO_COMPLEX)
    try:
        verdict = json.loads(done.stdout)
    except ValueError:
        verdict = None
    if done.returncode != 0 or not isinstance(verdict, dict):
        # Not the file's fault but the installation's: say so loudly rather than refuse it.
        raise RuntimeError(f"the document check failed: {done.stderr.decode()[-2000:]}")
    refused, params = verdict.get("refused"), verdict.get("params")
    if not isinstance(refused, str):
        return None
    return translated_reason(refused, params if isinstance(params, dict) else {})


def translated_reason(refused: str, params: dict[str, Any]) -> str:
    """A content check's reason (`document_checks.Refused`) in the active language, its
    numbers written as the language writes them."""
    values = {
        name: number_format(value, force_grouping=name in document_checks.GROUPED)
        if isinstance(value, int)
        else value
        for name, value in params.items()
    }
    text = gettext(refused)
    try:
        return text % values if values else text
    except (KeyError, TypeError, ValueError):
        return refused % params if params else refused  # a stale catalogue: the English


def picture_reason(data: bytes, content_type: str) -> str | None:
    """Why a stored picture may not be shown, from its header alone (cheap enough to run on
    every view): not what it claims to be, or too many pixels."""
    try:
        document_checks.image_size(data, content_type)
    except document_checks.Refused as refused:
        return translated_reason(refused.reason, refused.params)
    return None


def store(upload: IO[bytes], suffix: str, content_type: str) -> StoredFile:
    name = secrets.token_hex(20) + suffix
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    while chunk := upload.read(CHUNK):
        size += len(chunk)
        if size > settings.KYC_MAX_DOCUMENT_BYTES:
            raise ValidationFailed("The file is too large.")
        digest.update(chunk)
    upload.seek(0)
    saved = storage().save(name, File(upload, name=name))
    return StoredFile(saved, content_type, size, digest.hexdigest())


def read(stored_name: str) -> bytes:
    """The stored file's bytes (at most one more than any upload may have, so that a file
    swapped in the storage cannot be huge). `FileNotFoundError` when it is not there, whatever
    the storage (they differ in what opening a missing file raises)."""
    if not storage().exists(stored_name):
        raise FileNotFoundError(stored_name)
    with storage().open(stored_name, "rb") as stored:
        return stored.read(settings.KYC_MAX_DOCUMENT_BYTES + 1)


def discard(names: list[str]) -> None:
    for name in names:
        storage().delete(name)
