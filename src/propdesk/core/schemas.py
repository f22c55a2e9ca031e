"""Schemas the whole API shares."""

from __future__ import annotations

from ninja import Schema


class ErrorOut(Schema):
    """Every error the API answers with: a stable `code`, a `message` for people, and for
    `validation_error` one message per field (extra keys such as `retry_after` may follow)."""

    code: str
    message: str
    fields: dict[str, str] | None = None
