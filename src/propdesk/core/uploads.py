"""Uploads are cut off while they stream in, not after gigabytes have been spooled to disk."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


def too_large(request: Any) -> set[str]:
    """Names of the file fields whose upload was dropped for being over the limit."""
    found: set[str] = getattr(request, "_too_large_uploads", set())
    return found


class SizeLimitUploadHandler(FileUploadHandler):
    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            request = self.request
            dropped = too_large(request)
            dropped.add(self.field_name)
            request._too_large_uploads = dropped  # type: ignore[union-attr]
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
