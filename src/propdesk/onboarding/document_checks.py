"""Is an identity document what its first bytes say, and inert? The parsing half of the check.

A reviewer opens these files in the firm's browser or PDF reader, so a PDF may not run, open or
send anything, and an image may not be a decompression bomb. The file is parsed (pypdf, Pillow)
rather than searched for words: `/J#61vaScript` is the name `/JavaScript`, and objects packed
into compressed object streams are read like any other.

Parsing hostile bytes is run in a child process (`python -m propdesk.onboarding.document_checks`)
that limits its own memory and CPU time before reading anything, so that no upload can hold a
web worker or exhaust its memory, whatever the parsers' own limits miss. This module imports no
Django: the child starts in a tenth of a second.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import warnings
from collections.abc import Iterator
from io import BytesIO
from itertools import chain
from typing import Any

# Images: a 50-megapixel phone photo of a passport is more than enough; a bigger one is refused
# rather than decoded (a 20000 x 20000 PNG is 1.6 GB of pixels from a few hundred kilobytes).
MAX_PIXELS = 50_000_000
MAX_SIDE = 20_000
# PDFs: an identity document or a bank statement, not a book.
MAX_PAGES = 200
MAX_OBJECTS = 20_000
# Bytes a single object stream or cross-reference stream may inflate to (a zip bomb stops here).
MAX_INFLATED_STREAM = 32 * 1024 * 1024
MAX_NESTING = 200

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def gettext_noop(text: str) -> str:
    """Marks a text for the translation catalogue (`make messages` finds it by this name)
    without importing Django: the parent process translates the reason (`documents.reason`)."""
    return text


# What a client whose PDF is refused can do (pictures' reasons carry their own advice).
INSTEAD = gettext_noop("please upload a plain scan or photo of the document instead")
TOO_COMPLEX = gettext_noop("this file is too large or too complex to check")
# The numbers of a reason written with thousands' separators in the reader's language.
GROUPED = frozenset({"side", "objects"})
DAMAGED_PDF = gettext_noop("this PDF cannot be read; it is damaged or not really a PDF")

# Why each name is refused. Keys of a dictionary that are never inert:
ACTIVE_KEYS = {
    "/JS": gettext_noop("this PDF contains JavaScript"),
    "/JavaScript": gettext_noop("this PDF contains JavaScript"),
    "/AA": gettext_noop("this PDF runs actions when it is opened, viewed or clicked"),
    "/EmbeddedFiles": gettext_noop("this PDF has files embedded in it"),
    "/EF": gettext_noop("this PDF has files embedded in it"),
    "/XFA": gettext_noop("this PDF contains an XFA form, which can run scripts"),
    "/RichMediaContent": gettext_noop("this PDF contains multimedia content"),
    "/3DD": gettext_noop("this PDF contains 3D content, which can run scripts"),
}
# Names used as values (an action's /S, an annotation's /Subtype, a stream's /Type): actions that
# run code, submit or import data, reach outside the document (a web address, another file, a
# program) or change what the reader sees, and the annotations that carry media or files.
# Left out on purpose: /GoTo and /Thread (move within the document) and /Named (a page-turning
# menu command); they go nowhere and run nothing.
ACTIVE_VALUES = {
    "/JavaScript": gettext_noop("this PDF contains JavaScript"),
    "/Launch": gettext_noop("this PDF can start a program or open a file"),
    "/SubmitForm": gettext_noop("this PDF can send form data over the internet"),
    "/ImportData": gettext_noop("this PDF can import data from another file"),
    "/ResetForm": gettext_noop("this PDF contains form actions"),
    "/URI": gettext_noop("this PDF contains links to web addresses"),
    "/GoToR": gettext_noop("this PDF links to other files"),
    "/GoToE": gettext_noop("this PDF links to embedded files"),
    "/GoTo3DView": gettext_noop("this PDF contains 3D content, which can run scripts"),
    "/Hide": gettext_noop("this PDF can hide or show parts of itself"),
    "/SetOCGState": gettext_noop("this PDF can hide or show parts of itself"),
    "/Sound": gettext_noop("this PDF contains multimedia content"),
    "/Movie": gettext_noop("this PDF contains multimedia content"),
    "/Rendition": gettext_noop("this PDF contains multimedia content"),
    "/Screen": gettext_noop("this PDF contains multimedia content"),
    "/RichMedia": gettext_noop("this PDF contains multimedia content"),
    "/RichMediaExecute": gettext_noop("this PDF contains multimedia content"),
    "/3D": gettext_noop("this PDF contains 3D content, which can run scripts"),
    "/EmbeddedFile": gettext_noop("this PDF has files embedded in it"),
    "/FileAttachment": gettext_noop("this PDF has files attached to it"),
}


class Refused(Exception):
    """The document is refused; the message says why, in the client's words: `reason` is the
    catalogue's English text with `%(name)s` placeholders, `params` their values."""

    def __init__(self, reason: str, **params: int | str) -> None:
        self.reason = reason
        self.params = params
        super().__init__(reason % params if params else reason)


# --- images --------------------------------------------------------------------------------


def image_size(data: bytes, content_type: str) -> tuple[int, int]:
    """The image's width and height from its header alone, or `Refused`: a picture that is not
    what its first bytes say, or too large to decode. Cheap: no pixel is decoded."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    expected = IMAGE_FORMATS.get(content_type)
    if expected is None:
        raise Refused(gettext_noop("upload a PDF, JPEG or PNG"))
    try:
        with Image.open(BytesIO(data), formats=[expected]) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except MemoryError:
        raise
    except Exception:
        raise Refused(
            gettext_noop("this %(format)s picture cannot be read; it is damaged"), format=expected
        ) from None
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise Refused(
            gettext_noop(
                "the picture is %(width)s by %(height)s pixels; pictures may have at most "
                "%(megapixels)s megapixels and %(side)s pixels a side; please upload a smaller "
                "photo or scan"
            ),
            width=width,
            height=height,
            megapixels=MAX_PIXELS // 1_000_000,
            side=MAX_SIDE,
        )
    return width, height


def check_image(data: bytes, content_type: str) -> None:
    """The header check, then every pixel decoded (at an eighth of the size for a JPEG): a
    picture cut short or damaged is refused, not shown half grey to the reviewer."""
    from PIL import Image

    width, height = image_size(data, content_type)
    try:
        with Image.open(BytesIO(data), formats=[IMAGE_FORMATS[content_type]]) as image:
            if image.format == "PNG" and getattr(image, "is_animated", False):
                raise Refused(
                    gettext_noop("animated pictures are not accepted; please upload a still one")
                )
            if image.format == "JPEG":
                image.draft("RGB", ((width + 7) // 8, (height + 7) // 8))
            image.load()
    except (Refused, MemoryError):
        raise
    except Exception:
        raise Refused(
            gettext_noop("this picture is damaged or cut short; please upload it again")
        ) from None


def _too_many_pixels() -> Refused:
    reason = gettext_noop(
        "pictures may have at most %(megapixels)s megapixels and %(side)s pixels a side; "
        "please upload a smaller photo or scan"
    )
    return Refused(reason, megapixels=MAX_PIXELS // 1_000_000, side=MAX_SIDE)


# --- PDFs ----------------------------------------------------------------------------------


def check_pdf(data: bytes) -> None:
    """Refuse a PDF that cannot be read, is encrypted, is too big, or holds anything active."""
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError

    limits: dict[str, Any] = {
        "zlib_maximum_output_length": MAX_INFLATED_STREAM,
        "lzw_maximum_output_length": MAX_INFLATED_STREAM,
        "run_length_maximum_output_length": MAX_INFLATED_STREAM,
        "brotli_maximum_output_length": MAX_INFLATED_STREAM,
        "array_based_stream_maximum_output_length": MAX_INFLATED_STREAM,
        "stream_decoding_work_maximum_length": 4 * MAX_INFLATED_STREAM,
        "page_tree_maximum_entries": MAX_PAGES * 4,
        "page_tree_maximum_depth": 32,
        "jbig2dec_binary": None,  # never run an outside program on the upload
    }
    with apply_configuration(**limits):
        try:
            reader = PdfReader(BytesIO(data), strict=False, xref_stream_maximum_entries=10**6)
            if reader.is_encrypted:
                raise Refused(gettext_noop("this PDF is encrypted or protected by a password"))
            pages = len(reader.pages)
            if pages > MAX_PAGES:
                raise Refused(
                    gettext_noop("this PDF has %(pages)s pages; at most %(most)s are accepted"),
                    pages=pages,
                    most=MAX_PAGES,
                )
            if pages == 0:
                raise Refused(gettext_noop("this PDF has no pages"))
            _check_objects(reader, data)
        except Refused:
            raise
        except (LimitReachedError, MemoryError, RecursionError):
            raise Refused(gettext_noop("this PDF is too large or too complex to check")) from None
        except Exception:
            raise Refused(DAMAGED_PDF) from None


def _check_objects(reader: Any, data: bytes) -> None:
    """Every object of the file, decoded: the ones its cross-reference tables list, any object
    the tables leave out but a reader repairing the file might still use (found by scanning
    the bytes), and every object packed inside each of their compressed object streams."""
    from pypdf.generic import IndirectObject, StreamObject

    def listed() -> Iterator[Any]:
        for generation, table in reader.xref.items():
            for number in table:
                if not reader.xref_free_entry.get(generation, {}).get(number):
                    yield reader.get_object(IndirectObject(number, generation, reader))

    seen = 0
    for found in chain(listed(), _objects_by_scanning(reader, data)):
        seen = _count(seen)
        _check_value(reader, found)
        if isinstance(found, StreamObject):
            for packed in _packed_objects(reader, found):
                seen = _count(seen)
                _check_value(reader, packed)
        reader.resolved_objects.clear()  # checked; memory stays flat
    # The streams the cross-reference streams say hold packed objects, each unpacked once
    # whatever it calls itself (resolving the packed objects one by one would inflate the
    # whole stream again for each).
    for number in sorted({holder for holder, _ in getattr(reader, "xref_objStm", {}).values()}):
        holder = reader.get_object(IndirectObject(number, 0, reader))
        if isinstance(holder, StreamObject):
            for packed in _unpack_object_stream(reader, holder):
                seen = _count(seen)
                _check_value(reader, packed)
        reader.resolved_objects.clear()


def _packed_objects(reader: Any, stream: Any) -> Iterator[Any]:
    """The objects packed in `stream` if it is an object stream. A reader takes a stream as one
    by its use, not its name: one without `/Type /ObjStm` (or naming its type through a
    reference) is still unpacked when it has the `/N` and `/First` an object stream needs."""
    from pypdf.generic import NumberObject

    kind = stream.get("/Type")
    kind = kind.get_object() if kind is not None else None
    if kind == "/ObjStm":
        yield from _unpack_object_stream(reader, stream)
        return
    if isinstance(stream.get("/N"), NumberObject) and isinstance(
        stream.get("/First"), NumberObject
    ):
        try:
            packed = list(_unpack_object_stream(reader, stream))
        except Refused:
            return  # an image or a profile that merely has /N and /First: nothing packed
        yield from packed


def _count(seen: int) -> int:
    if seen >= MAX_OBJECTS:
        raise Refused(
            gettext_noop("this PDF has more than %(objects)s objects; it is too complex"),
            objects=MAX_OBJECTS,
        )
    return seen + 1


# "12 0 obj" where an object starts (PDF white space includes NUL), matched backwards from
# each "obj": a regular expression run over ten megabytes would take most of a second.
OBJECT_START = re.compile(
    rb"(?<![0-9])([0-9]{1,10})[\x00\t\n\f\r ]+([0-9]{1,5})[\x00\t\n\f\r ]+obj\Z"
)


def _object_starts(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(number, generation, where it starts, where its value starts) of each "N G obj"."""
    at = data.find(b"obj")
    while at != -1:
        match = OBJECT_START.search(data, max(0, at - 40), at + 3)
        if match is not None:
            yield int(match[1]), int(match[2]), match.start(), match.end()
        at = data.find(b"obj", at + 3)


PDF_WHITESPACE = frozenset({b"\x00", b"\t", b"\n", b"\f", b"\r", b" "})


def _objects_by_scanning(reader: Any, data: bytes) -> Iterator[Any]:
    from pypdf.generic import read_object

    stream = BytesIO(data)
    packed = getattr(reader, "xref_objStm", {})
    for number, generation, start, value in _object_starts(data):
        if reader.xref.get(generation, {}).get(number) == start and number not in packed:
            continue  # the very object the tables list, already checked (unless a later
            # update packed another object under its number: pypdf read that one)
        stream.seek(value)
        while stream.read(1) in PDF_WHITESPACE:  # "obj" is followed by white space
            pass
        stream.seek(-1, 1)
        try:
            found = read_object(stream, reader)
        except (MemoryError, RecursionError):
            raise
        except Exception:  # noqa: S112 - "obj" inside binary data is no object
            continue
        yield found


def _unpack_object_stream(reader: Any, packed: Any) -> Iterator[Any]:
    """The objects inside an object stream, read straight from it (the stream may be one the
    cross-reference tables do not list)."""
    from pypdf.generic import NumberObject, read_object

    body = BytesIO(packed.get_data())
    count, first = packed.get("/N"), packed.get("/First")
    if not isinstance(count, NumberObject) or not isinstance(first, NumberObject):
        raise Refused(DAMAGED_PDF)
    header = body.read(int(first)).split()
    if int(count) > MAX_OBJECTS or len(header) < 2 * int(count):
        raise Refused(DAMAGED_PDF)
    for offset in header[1 : 2 * int(count) : 2]:
        body.seek(int(first) + int(offset))
        yield read_object(body, reader)


def _check_value(reader: Any, value: Any) -> None:
    """Walk a decoded object (without following references: each object is checked on its own)
    and refuse it at the first active key or name."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise Refused(gettext_noop("this PDF is too large or too complex to check"))
        if isinstance(item, NameObject):
            if str(item) in ACTIVE_VALUES:
                raise Refused(ACTIVE_VALUES[str(item)])
        elif isinstance(item, DictionaryObject):
            for key, inner in item.items():
                if key in ACTIVE_KEYS:
                    raise Refused(ACTIVE_KEYS[key])
                if key == "/OpenAction":
                    _check_open_action(reader, inner)
                stack.append((inner, depth + 1))
        elif isinstance(item, ArrayObject):
            stack.extend((inner, depth + 1) for inner in item)


def _check_open_action(reader: Any, value: Any) -> None:
    """Opening at a page is harmless, written as a destination (an array) or as a /GoTo action
    (what many PDF writers do); any other action on opening is refused."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    if isinstance(value, IndirectObject):
        value = reader.get_object(value)
    if isinstance(value, ArrayObject):
        return
    if isinstance(value, DictionaryObject):
        _check_value(reader, value)  # a script in it is named as such
        if value.get("/S") == "/GoTo":
            return
    raise Refused(gettext_noop("this PDF runs an action when it is opened"))


# --- the child process ----------------------------------------------------------------------


def check(data: bytes, content_type: str) -> Refused | None:
    """Why the document is refused, or None when it is fine."""
    try:
        if content_type == "application/pdf":
            check_pdf(data)
        else:
            check_image(data, content_type)
    except Refused as refused:
        return refused
    except (MemoryError, RecursionError):
        return Refused(TOO_COMPLEX)
    return None


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    """From here on the process may grow by `memory_bytes` and use `cpu_seconds` of CPU time
    (then the kernel stops it). Linux counts the address space; other systems may not."""
    import resource

    try:
        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        in_use = 0
    limit = in_use + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def main(argv: list[str]) -> int:
    """`python -m propdesk.onboarding.document_checks MEMORY_BYTES CPU_SECONDS CONTENT_TYPE`,
    the file on standard input: writes `{"refused": reason or null, "params": {...}}` to
    standard output (the reason in the catalogue's English, its placeholders' values apart)."""
    memory_bytes, cpu_seconds, content_type = argv
    # The parser is loaded before the limits are set: they are for the file alone.
    if content_type == "application/pdf":
        import pypdf  # noqa: F401
    else:
        from PIL import Image, JpegImagePlugin, PngImagePlugin  # noqa: F401

    logging.disable(logging.CRITICAL)  # pypdf's warnings about odd files are no verdict
    warnings.simplefilter("ignore")
    data = sys.stdin.buffer.read()
    _limit_resources(int(memory_bytes), int(cpu_seconds))
    try:
        verdict = check(data, content_type)
    except MemoryError:
        verdict = Refused(TOO_COMPLEX)
    refused, params = (None, {}) if verdict is None else (verdict.reason, verdict.params)
    sys.stdout.write(json.dumps({"refused": refused, "params": params}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
