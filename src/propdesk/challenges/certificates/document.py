"""A certificate as a one-page landscape A4 PDF (fpdf2, pure Python, nothing fetched).

Its text is the certificate's `wording`. By default it is set in the PDF's core Helvetica,
which writes Latin-1 only: a name in another script is written as near as Latin-1 comes
("Łukasz Dvořák" as "Lukasz Dvorak") and a character with no such form as "?"; the public page
the PDF points to shows the name as it is. A firm whose traders' names need more names font
files in PROPDESK_CERTIFICATE_FONTS (TrueType, the first for the text and the others for the
characters it lacks, e.g. DejaVu Sans then a CJK font): with them names are written whole, and
a character no font has is written as "?". A font that cannot be read is logged and the core
font used instead: a certificate is always drawn."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from propdesk.challenges.certificates import wording
from propdesk.challenges.models import Certificate

logger = logging.getLogger(__name__)

CORE = "helvetica"
INK = (31, 41, 55)
ACCENT = (30, 64, 120)
MUTED = (100, 110, 125)
PAGE_WIDTH = 297.0
PAGE_HEIGHT = 210.0
MARGIN = 22.0
WIDTH = PAGE_WIDTH - 2 * MARGIN

# Characters that have no Latin-1 decomposition, as people write them in plain Latin letters.
_PLAIN = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "Œ": "OE",
        "œ": "oe",
        "Ŋ": "N",
        "ŋ": "n",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2022": "\u00b7",
        "€": "EUR",
        "\u00a0": " ",
    }
)


def response(certificate: Certificate) -> HttpResponse:
    """The PDF as a download (named by its reference)."""
    made = HttpResponse(render(certificate), content_type="application/pdf")
    made["Content-Disposition"] = f'attachment; filename="{certificate.reference}.pdf"'
    made["X-Robots-Tag"] = "noindex, nofollow"
    return made


def render(certificate: Certificate) -> bytes:
    said = wording.of(certificate)
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_creation_date(certificate.issued_at)
    pdf.set_title(f"{said.reference} {said.title}")
    pdf.set_creator("propdesk")
    family, writable = _fonts(pdf)
    pdf.add_page()

    def line(text: str, size: float, *, y: float, bold: bool = False, color: tuple = INK) -> None:
        shown = writable(text)
        pdf.set_text_color(*color)
        pdf.set_font(family, "B" if bold else "", _fit(pdf, family, shown, size, bold=bold))
        pdf.set_xy(MARGIN, y)
        pdf.multi_cell(WIDTH, size * 0.45, shown, align="C")

    # A double frame.
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, PAGE_WIDTH - 20, PAGE_HEIGHT - 20)
    pdf.set_line_width(0.3)
    pdf.rect(14, 14, PAGE_WIDTH - 28, PAGE_HEIGHT - 28)

    line(said.firm.upper(), 13, y=24, bold=True, color=ACCENT)
    line(said.title, 32, y=38, bold=True)
    line("This certifies that", 13, y=58, color=MUTED)
    line(said.trader, 28, y=67, bold=True, color=ACCENT)
    pdf.set_draw_color(*MUTED)
    pdf.line(PAGE_WIDTH / 2 - 70, 82, PAGE_WIDTH / 2 + 70, 82)
    line(said.achievement, 14, y=87)
    _figures(pdf, family, writable, said.rows, top=106)
    line(f"Issued {said.issued_on} · Reference {said.reference}", 10, y=165, color=MUTED)
    url = wording.verification_url(certificate)
    line(f"Check this certificate at {url}", 9, y=172, color=MUTED)
    line(f"Verification code: {certificate.code}", 9, y=178, color=MUTED)
    return bytes(pdf.output())


def _figures(
    pdf: FPDF,
    family: str,
    writable: Callable[[str], str],
    rows: list[tuple[str, str]],
    *,
    top: float,
) -> None:
    """The figures as two columns: labels right-aligned, values left-aligned, about the page's
    middle."""
    middle = PAGE_WIDTH / 2
    pdf.set_y(top)
    for label, value in rows:
        y = pdf.get_y()
        pdf.set_text_color(*MUTED)
        pdf.set_font(family, "", 11)
        pdf.set_xy(middle - 85, y)
        pdf.cell(80, 7, writable(label), align="R")
        shown = writable(value)
        pdf.set_text_color(*INK)
        pdf.set_font(family, "B", _fit(pdf, family, shown, 11, bold=True, width=95, least=7))
        pdf.set_xy(middle + 3, y)
        pdf.cell(95, 7, shown, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _fit(
    pdf: FPDF,
    family: str,
    text: str,
    size: float,
    *,
    bold: bool = False,
    width: float = WIDTH,
    least: float = 9,
) -> float:
    """The largest size up to `size` (not under `least`) at which `text` fits on one line;
    longer text at the least size wraps."""
    style = "B" if bold else ""
    while size > least:
        pdf.set_font(family, style, size)
        if pdf.get_string_width(text) <= width:
            return size
        size -= 1
    return least


def _fonts(pdf: FPDF) -> tuple[str, Callable[[str], str]]:
    """The font family to write in, and how text is made writable in it."""
    paths = [path for path in settings.PROPDESK_CERTIFICATE_FONTS if path]
    if paths:
        try:
            families = []
            for number, path in enumerate(paths):
                family = f"face{number}"
                pdf.add_font(family, "", path)
                pdf.add_font(family, "B", path)  # one weight: bold is drawn as regular
                families.append(family)
        except Exception as exc:  # an unreadable or unsupported file: draw with the core font
            logger.error("certificate fonts %s not used: %s", paths, exc)
        else:
            covered: set[int] = set()
            for family in families:
                covered.update(getattr(pdf.fonts[family], "cmap", {}))
            pdf.set_fallback_fonts(families[1:])
            return families[0], lambda text: _within(text, covered.__contains__)
    return CORE, lambda text: _within(text, _latin_1)


def _latin_1(code: int) -> bool:
    """Whether the core font writes the character: Latin-1's printable ones."""
    return 32 <= code < 127 or 160 <= code <= 255


def _within(text: str, has: Callable[[int], bool]) -> str:
    """`text` with each character the fonts cannot write replaced: by its plain Latin form
    where it has one, else by "?"."""
    out: list[str] = []
    for char in text:
        if has(ord(char)):
            out.append(char)
            continue
        near = unicodedata.normalize("NFKD", char.translate(_PLAIN))
        kept = "".join(c for c in near if not unicodedata.combining(c) and has(ord(c)))
        out.append(kept or "?")
    return "".join(out)
