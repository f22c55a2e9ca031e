"""Onboarding for the tests: KYC answers and documents, and real PNG, PDF and JPEG bytes
(documents are judged by their content)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from io import BytesIO
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from propdesk.demo_documents import sample_pdf, sample_png


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    return sample_png(width, height)


def jpeg_bytes(width: int = 40, height: int = 30) -> bytes:
    out = BytesIO()
    # Noise, so that the picture's data is most of the file and cutting it short shows.
    Image.effect_noise((width, height), 60).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


PDF = sample_pdf("Proof of address")
JPEG = jpeg_bytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(width: int = 20_000, height: int | None = None) -> bytes:
    """A grey PNG of zero rows: a few hundred kilobytes for 20000 x 20000 (400 megapixels).

    Built without holding the pixels: a block of zero rows is deflated once, cut off with a
    full flush (so that it refers to nothing before it) and repeated; the checksum of n zero
    bytes is known without reading them (Adler-32: a stays 1, b is n)."""
    height = width if height is None else height
    row = width + 1  # the filter byte, then one byte a pixel
    rows_per_block = 1000 if height % 1000 == 0 else 1
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(bytes(row * rows_per_block)) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    adler = (((row * height) % 65521) << 16) | 1
    idat = b"\x78\xda" + block * (height // rows_per_block) + end + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def build_pdf(
    *,
    catalog: bytes = b"",
    page: bytes = b"",
    extra: tuple[bytes, ...] = (),
    packed: tuple[bytes, ...] = (),
    trailer: bytes = b"",
) -> bytes:
    """A one-page PDF with `catalog` and `page` added to those dictionaries, `extra` objects
    numbered from 6 on, and `packed` objects after them inside a compressed object stream
    (listed by a cross-reference stream, as PDF 1.5 writers do)."""
    text = b"BT /F1 18 Tf 72 720 Td (Proof of address) Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R" + catalog + b">>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>" + page + b">>",
        b"<</Length " + str(len(text)).encode() + b">>stream\n" + text + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
        *extra,
    ]
    first_packed = len(objects) + 1
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    if not packed:
        xref = len(out)
        out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
        out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
        out += f"trailer<</Size {len(objects) + 1}/Root 1 0 R".encode() + trailer + b">>\n"
        return bytes(out + f"startxref\n{xref}\n%%EOF\n".encode())
    # The object stream: "number offset ..." pairs, then the objects themselves.
    bodies, index, position = b"", [], 0
    for n, body in enumerate(packed):
        index.append(f"{first_packed + n} {position}")
        bodies += body + b"\n"
        position = len(bodies)
    head = (" ".join(index) + "\n").encode()
    squeezed = zlib.compress(head + bodies)
    stream_number = first_packed + len(packed)
    offsets.append(len(out))
    out += (
        f"{stream_number} 0 obj\n<</Type/ObjStm/N {len(packed)}/First {len(head)}"
        f"/Filter/FlateDecode/Length {len(squeezed)}>>stream\n"
    ).encode()
    out += squeezed + b"\nendstream\nendobj\n"
    # The cross-reference stream: type 1 rows point into the file, type 2 into the object stream.
    xref_number = stream_number + 1
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows += [struct.pack(">BIH", 1, o, 0) for o in offsets[: len(objects)]]
    rows += [struct.pack(">BIH", 2, stream_number, n) for n in range(len(packed))]
    rows += [struct.pack(">BIH", 1, offsets[-1], 0), struct.pack(">BIH", 1, len(out), 0)]
    table = zlib.compress(b"".join(rows))
    xref = len(out)
    out += (
        f"{xref_number} 0 obj\n<</Type/XRef/Size {xref_number + 1}/W[1 4 2]/Root 1 0 R"
        f"/Filter/FlateDecode/Length {len(table)}"
    ).encode()
    out += trailer + b">>stream\n" + table + b"\nendstream\nendobj\n"
    return bytes(out + f"startxref\n{xref}\n%%EOF\n".encode())


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


def kyc_storage() -> Any:
    from django.core.files.storage import storages

    return storages["kyc_documents"]


def stored_names() -> list[str]:
    """The files in the KYC documents storage (none when its folder was never made)."""
    try:
        return kyc_storage().listdir("")[1]
    except FileNotFoundError:
        return []


def replace_stored_file(document: Any, content: bytes, *, record: bool = True) -> None:
    """Put other bytes under the document's name, as a file kept before the checks existed
    (`record`: the row describes them) or one changed behind the application's back."""
    from django.core.files.base import ContentFile

    storage = kyc_storage()
    storage.delete(document.stored_name)
    storage.save(document.stored_name, ContentFile(content))
    if record:
        document.sha256 = hashlib.sha256(content).hexdigest()
        document.size = len(content)
        document.checked_with = ""  # kept from before the checks: never checked
        document.save()


# --- the SumSub fake, and the firm's settings pointing at it -------------------------------------


def enable_sumsub(admin: Any, fake: Any, *, on_green: str = "review") -> Any:
    """Settings > KYC vendor filled in for the fake (its default keys)."""
    from propdesk.onboarding import vendor_kyc
    from propdesk.onboarding.vendors.fakes.sumsub import (
        DEFAULT_APP_TOKEN,
        DEFAULT_LEVEL,
        DEFAULT_SECRET_KEY,
        DEFAULT_WEBHOOK_SECRET,
    )

    return vendor_kyc.save_settings(
        actor=admin,
        enabled=True,
        base_url=fake.url,
        level_name=DEFAULT_LEVEL,
        on_green=on_green,
        secrets={
            "app_token": DEFAULT_APP_TOKEN,
            "secret_key": DEFAULT_SECRET_KEY,
            "webhook_secret": DEFAULT_WEBHOOK_SECRET,
        },
    )


def deliver_with(http: Any) -> Any:
    """A deliverer for `FakeSumsub.flush`: the fake's webhook posted to our endpoint through
    Django's test client (in the test's thread and transaction)."""

    def deliver(url: str, body: bytes, headers: dict[str, str]) -> int:
        extra = {
            f"HTTP_{k.upper().replace('-', '_')}": v
            for k, v in headers.items()
            if k.lower() != "content-type"
        }
        response = http.post(
            "/webhooks/kyc/sumsub/", data=body, content_type="application/json", **extra
        )
        return int(response.status_code)

    return deliver
