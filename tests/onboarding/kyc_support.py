"""KYC test files: real PNG, PDF and JPEG bytes (documents are judged by their content)."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from propdesk.demo import sample_pdf, sample_png


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    return sample_png(width, height)


PDF = sample_pdf("Proof of address")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def answers(**overrides: Any) -> dict[str, Any]:
    data = {"date_of_birth": "1990-05-17", "residence": "CZ", "id_type": "Passport"}
    data.update(overrides)
    return data


def documents(**overrides: Any) -> dict[str, Any]:
    files: dict[str, Any] = {
        "identity_document": upload("passport.png", png_bytes()),
        "proof_of_address": upload("bill.pdf", PDF),
    }
    files.update(overrides)
    return {k: v for k, v in files.items() if v is not None}
