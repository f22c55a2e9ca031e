"""Identity documents on disk: judged by their content, stored under random names, private."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from propdesk.core.errors import ValidationFailed

# What a file *is*, by its first bytes; its name and the browser's word count for nothing.
SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
]
CHUNK = 64 * 1024


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    content_type: str
    size: int
    sha256: str


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, suffix in SIGNATURES:
        if head.startswith(magic):
            return content_type, suffix
    return None


def check(field: str, label: str, upload: IO[bytes], size: int | None) -> tuple[str, str]:
    """The file's content type and suffix, or a clear error naming the document."""
    limit = settings.KYC_MAX_DOCUMENT_BYTES
    if size is not None and size > limit:
        raise ValidationFailed(
            fields={field: f"{label}: the file is larger than {limit // (1024 * 1024)} MB."}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head:
        raise ValidationFailed(fields={field: f"{label}: the file is empty."})
    kind = sniff(head)
    if kind is None:
        raise ValidationFailed(
            fields={field: f"{label}: upload a PDF, JPEG or PNG (this file is none of them)."}
        )
    if kind[0] == "application/pdf" and _has_active_content(upload):
        raise ValidationFailed(
            fields={
                field: f"{label}: this PDF carries scripts or actions; "
                "please upload a plain scan or a printed-to-PDF copy."
            }
        )
    return kind


# A reviewer opens these files in the firm's own browser: no PDF that can run anything.
ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)(?![A-Za-z])")


def _has_active_content(upload: IO[bytes]) -> bool:
    upload.seek(0)
    tail = b""
    found = False
    while chunk := upload.read(CHUNK):
        if ACTIVE_PDF.search(tail + chunk):
            found = True
            break
        tail = chunk[-16:]
    upload.seek(0)
    return found


def root() -> Path:
    path = Path(settings.PRIVATE_ROOT) / "kyc"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def store(upload: IO[bytes], suffix: str, content_type: str) -> StoredFile:
    name = secrets.token_hex(20) + suffix
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    with (root() / name).open("xb") as out:
        while chunk := upload.read(CHUNK):
            size += len(chunk)
            if size > settings.KYC_MAX_DOCUMENT_BYTES:
                out.close()
                (root() / name).unlink(missing_ok=True)
                raise ValidationFailed("The file is too large.")
            digest.update(chunk)
            out.write(chunk)
    return StoredFile(name, content_type, size, digest.hexdigest())


def path_of(stored_name: str) -> Path:
    return root() / Path(stored_name).name


def discard(names: list[str]) -> None:
    for name in names:
        path_of(name).unlink(missing_ok=True)
